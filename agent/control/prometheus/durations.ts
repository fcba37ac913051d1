// The durations roles observe into Prometheus histograms: one table of names, help texts and buckets, and the per-agent histograms.
import { Histogram, Registry } from "prom-client";

/** Buckets (seconds) for saves, requests and tasks: 1 ms to 10 s, about three per decade. */
const MS_TO_10S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Buckets (seconds) for the time between two frames of a viewer: 5 ms to 5 s. */
const FRAME_GAPS = [0.005, 0.01, 0.02, 0.033, 0.05, 0.1, 0.2, 0.5, 1, 2, 5];

/** One duration a role observes: the histogram's name (in seconds), what it times, its buckets, and labels beyond agent, role, id. */
interface Duration {
  name: string;
  help: string;
  buckets: number[];
  labels?: readonly string[];
}

/** Every duration the roles observe, by the key a role names it with (`RoleContext.observe`). */
export const DURATIONS = {
  receiver_save: { name: "framefleet_receiver_save_latency_seconds", help: "Time from the sender's X-Sent-At to the image saved (seconds; uploads that carry X-Sent-At)", buckets: MS_TO_10S },
  sender_request: { name: "framefleet_sender_request_duration_seconds", help: "Time from sending an upload to its 2xx answer (seconds; acknowledged uploads)", buckets: MS_TO_10S },
  manager_task_phase: {
    name: "framefleet_manager_task_phase_seconds",
    help: "Time a finished task (or the job's decode) spent in each phase: decode, send, wait, process, receive (seconds)",
    buckets: MS_TO_10S,
    labels: ["phase"],
  },
  manager_job: { name: "framefleet_manager_job_duration_seconds", help: "Time from a job accepted to its result ready (seconds; finished jobs)", buckets: MS_TO_10S },
  worker_task: { name: "framefleet_worker_task_duration_seconds", help: "Time a worker ran one task, from its start to its result (seconds)", buckets: MS_TO_10S },
  viewers_frame_gap: { name: "framefleet_viewers_frame_gap_seconds", help: "Time between two whole frames of one viewer in the load window (seconds)", buckets: FRAME_GAPS },
  viewers_first_frame: { name: "framefleet_viewers_first_frame_seconds", help: "Time from a viewer's TCP connection to its first whole frame (seconds)", buckets: MS_TO_10S },
} as const satisfies Record<string, Duration>;

/** The key of a duration in DURATIONS. */
export type DurationName = keyof typeof DURATIONS;

/** Records one duration of a role: `valueMs` in milliseconds (negative counts as 0), `labels` the duration's own labels (a manager's `phase`). */
export type ObserveDuration = (name: DurationName, valueMs: number, labels?: Record<string, string>) => void;

/** The labels of every series: the agent's name and the role's name and id. */
export interface RoleLabels {
  agent: string;
  role: string;
  id: string;
}

/**
 * The histograms of one agent, in a registry of their own (merged into the exposition by
 * createMetricsExporter). Series of a role are removed when the role is forgotten.
 */
export class DurationHistograms {
  readonly registry = new Registry();
  private readonly histograms = new Map<DurationName, Histogram>();
  /** The label sets each role id observed, to remove them with the role. */
  private readonly seen = new Map<string, Map<string, [Histogram, Record<string, string>]>>();

  constructor() {
    for (const [key, duration] of Object.entries(DURATIONS) as [DurationName, Duration][]) {
      const labelNames = ["agent", "role", "id", ...(duration.labels ?? [])];
      this.histograms.set(key, new Histogram({ name: duration.name, help: duration.help, buckets: duration.buckets, labelNames, registers: [this.registry] }));
    }
  }

  /** An ObserveDuration that labels what it records with `labels()` (read at each call: a role learns its id after start). */
  observerFor(labels: () => RoleLabels): ObserveDuration {
    return (name, valueMs, extra) => {
      const histogram = this.histograms.get(name);
      if (!histogram) throw new Error(`unknown duration "${name}"`);
      const all = { ...labels(), ...extra };
      if (!all.id) return;
      histogram.observe(all, Math.max(valueMs, 0) / 1000);
      const key = `${name}\u0000${JSON.stringify(all)}`;
      let ofRole = this.seen.get(all.id);
      if (!ofRole) this.seen.set(all.id, (ofRole = new Map()));
      if (!ofRole.has(key)) ofRole.set(key, [histogram, all]);
    };
  }

  /** Removes every series role `id` observed. */
  forget(id: string): void {
    for (const [histogram, labels] of this.seen.get(id)?.values() ?? []) histogram.remove(labels);
    this.seen.delete(id);
  }
}
