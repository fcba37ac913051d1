// The manager's scheduling core. Re-exports by name.
export { Scheduler, type SchedulerOptions } from "./scheduler";
export { BrokerScheduler, type BrokerSchedulerOptions } from "./broker";
export type { JobRunner, SharedJob } from "./runner";
export { toJobEvent, type DiscardReason, type EventListener, type RetryReason, type SchedulerEvent } from "./_events";
export { JobTable, toJobView } from "./jobs";
export { chooseSplit, type SplitMode } from "./_delivery";
/** The delivery rules as pure functions, for their table tests (test/manager/delivery-rules.test.ts). */
export { countStripes, hasRunOut, ownBytes, toDiscardReason, type SplitCase } from "./_delivery";
export type { JobOutput, JobState, Task } from "./_tasks";
export { REMOTE_PIXELS } from "./_tasks";
export type { WorkerSnapshot } from "./_workers";
