// The scheduler's events (the progress log of jobs, workers and retransmissions) and a tiny typed emitter.
import type { FleetError } from "../../../errors";

/** Why an attempt was given up and the task sent again. */
export type RetryReason = "timeout" | "disconnect" | "heartbeat" | "error" | "bad-result" | "refused";

/** Why a result or error from a worker was not taken. */
export type DiscardReason = "stale-attempt" | "duplicate" | "job-over" | "not-held";

/**
 * Where the time of one task attempt went (ms, manager clock unless said): `send` from the
 * assign being queued until the kernel took its last byte; `wait` and `process` as the worker
 * reports them (queued behind its credit, running the op); `receive` the rest of the round
 * trip (the result's transfer and the worker's reply path), never below 0.
 */
export interface TaskTiming {
  send: number;
  wait: number;
  process: number;
  receive: number;
}

/** Everything the scheduler reports, told apart by `type`; plain JSON but for `job-failed.error`. */
export type SchedulerEvent =
  | { type: "worker-joined"; workerId: string; remote: string; ops: string[]; credit: number }
  | { type: "worker-rejected"; remote: string; reason: string }
  | { type: "worker-left"; workerId: string; reason: string }
  | { type: "job-started"; jobId: string; op: string; stripes: number }
  | { type: "task-assigned"; jobId: string; taskId: string; stripe: number; attempt: number; workerId: string }
  | { type: "task-done"; jobId: string; taskId: string; stripe: number; attempt: number; workerId: string; ms: number; timing: TaskTiming }
  | { type: "task-retry"; jobId: string; taskId: string; stripe: number; attempt: number; fromWorker: string; reason: RetryReason; detail: string }
  | { type: "task-discarded"; taskId: string; attempt: number; workerId: string; reason: DiscardReason }
  | { type: "job-progress"; jobId: string; progress: number }
  | { type: "job-done"; jobId: string; ms: number }
  | { type: "job-failed"; jobId: string; error: FleetError };

/** Called with each event, synchronously, in order. */
export type EventListener = (event: SchedulerEvent) => void;

/** A list of listeners; a listener that throws is skipped so one bad consumer cannot stall scheduling. */
export function createEmitter(): { on(listener: EventListener): () => void; emit(event: SchedulerEvent): void } {
  const listeners = new Set<EventListener>();
  return {
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event) {
      for (const listener of listeners) {
        try {
          listener(event);
        } catch {
          // deliberately ignored: see the doc comment above
        }
      }
    },
  };
}
