// The manager's scheduling core. Re-exports by name.
export { Scheduler, type SchedulerOptions } from "./scheduler";
export type { DiscardReason, EventListener, RetryReason, SchedulerEvent } from "./_events";
export { chooseSplit, type SplitMode } from "./_delivery";
/** The delivery rules as pure functions, for their table tests (test/manager/delivery-rules.test.ts). */
export { countStripes, hasRunOut, ownBytes, toDiscardReason, type SplitCase } from "./_delivery";
export { checkJobFits, type ClassifyJob, type FileJob, type ImageJob, type Job, type JobOutput, type Task } from "./_tasks";
export type { WorkerSnapshot } from "./_workers";
