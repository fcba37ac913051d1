// The manager's scheduling core. Re-exports by name.
export { Scheduler, type SchedulerOptions } from "./scheduler";
export type { DiscardReason, EventListener, RetryReason, SchedulerEvent } from "./_events";
export { chooseSplit, type SplitMode } from "./_delivery";
export { checkJobFits, type ClassifyJob, type FileJob, type ImageJob, type Job, type JobOutput } from "./_tasks";
export type { WorkerSnapshot } from "./_workers";
