// The scheduler's events (the progress log of jobs, workers and retransmissions; the wire's JobEvent) and a tiny typed emitter: the one channel the job record's changes travel.
import type { FleetError } from "../../../errors";
import type { JobEvent } from "../../../wire";

export type { DiscardReason, RetryReason, TaskTiming } from "../../../wire";

/**
 * Everything the scheduler reports, told apart by `type`: the events of `/events` (wire.ts
 * JobEvent), but for `job-failed.error`, a FleetError here (its `toJSON()` is the wire's body).
 */
export type SchedulerEvent = Exclude<JobEvent, { type: "job-failed" }> | { type: "job-failed"; jobId: string; error: FleetError };

/** An event as sent on `/events`. */
export function toJobEvent(event: SchedulerEvent): JobEvent {
  return event.type === "job-failed" ? { ...event, error: event.error.toJSON() } : event;
}

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
