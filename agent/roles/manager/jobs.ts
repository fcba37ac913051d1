// The manager's bounded table of jobs: state, progress and output of each, finished ones evicted oldest first.
import { randomUUID } from "node:crypto";
import { describeError, FleetError } from "../../errors";
import type { JobOutput } from "./scheduler";
import type { Detections } from "../../wire";

/** The state of a job as `GET /jobs/:id` tells it. */
export type JobStateName = "queued" | "running" | "done" | "failed";

/** The encodings `GET /jobs/:id/result` answers in. */
export type OutputFormat = "png" | "jpeg" | "webp";

/** One job of the table. */
export interface JobRecord {
  id: string;
  op: string;
  format: OutputFormat;
  state: JobStateName;
  progress: number;
  /** `CODE: message` once failed. */
  error?: string;
  /** The output once done: raw pixels, or the objects found by classify. */
  output?: JobOutput;
}

/** The body of `GET /jobs/:id` (and of `job-state` events): a done classify job also carries its `result`. */
export function toJobView(job: JobRecord): { id: string; state: JobStateName; progress: number; error?: string; result?: Detections } {
  return {
    id: job.id,
    state: job.state,
    progress: job.progress,
    ...(job.error === undefined ? {} : { error: job.error }),
    ...(job.output && "objects" in job.output ? { result: job.output } : {}),
  };
}

/** Bytes an output holds: its raw pixels (an 8K RGB image is 99.5 MB); classify objects count 0. */
function outputBytes(output: JobOutput | undefined): number {
  return output && "data" in output ? output.data.length : 0;
}

/**
 * Jobs by id, at most `capacity` of them, their outputs at most `maxOutputBytes` together.
 * Room is made by evicting finished jobs (done or failed), oldest first; for bytes, only
 * those holding pixels. Queued and running jobs are never evicted, nor the job that just
 * finished (one output larger than the budget is kept alone).
 */
export class JobTable {
  private readonly jobs = new Map<string, JobRecord>();
  private heldBytes = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxOutputBytes: number,
    private readonly onChange: (job: JobRecord) => void,
  ) {}

  /** Bytes the outputs of the table's jobs hold. */
  get outputBytes(): number {
    return this.heldBytes;
  }

  /**
   * Adds `count` queued jobs, all or none.
   * @throws FleetError JOBS_FULL (503) when unfinished jobs leave no room.
   */
  create(count: number, op: string, format: OutputFormat): JobRecord[] {
    this.makeRoom(count);
    return Array.from({ length: count }, () => {
      const job: JobRecord = { id: randomUUID(), op, format, state: "queued", progress: 0 };
      this.jobs.set(job.id, job);
      return job;
    });
  }

  /** The job called `id`. @throws FleetError JOB_NOT_FOUND (404). */
  read(id: string): JobRecord {
    const job = this.jobs.get(id);
    if (!job) throw new FleetError("JOB_NOT_FOUND", `no job ${id} (unknown, or finished and evicted)`, 404);
    return job;
  }

  /** Marks a queued job running (its first task went out). */
  markRunning(id: string): void {
    const job = this.jobs.get(id);
    if (job?.state !== "queued") return;
    job.state = "running";
    this.onChange(job);
  }

  /** Records the share of a job's stripes done. */
  markProgress(id: string, progress: number): void {
    const job = this.jobs.get(id);
    if (!job || job.state === "done" || job.state === "failed") return;
    job.progress = progress;
  }

  /** Records a job's output; older jobs holding pixels are evicted while the outputs pass the byte budget. */
  markDone(id: string, output: JobOutput): void {
    const job = this.jobs.get(id);
    if (!job) return;
    Object.assign(job, { state: "done", progress: 1, output });
    this.heldBytes += outputBytes(output);
    for (const [otherId, other] of this.jobs) {
      if (this.heldBytes <= this.maxOutputBytes) break;
      if (otherId !== id && outputBytes(other.output) > 0) this.evict(otherId, other);
    }
    this.onChange(job);
  }

  markFailed(id: string, error: unknown): void {
    const job = this.jobs.get(id);
    if (!job) return;
    Object.assign(job, { state: "failed", error: describeError(error) });
    this.onChange(job);
  }

  /** Jobs per state. */
  countStates(): Record<JobStateName, number> {
    const counts = { queued: 0, running: 0, done: 0, failed: 0 };
    for (const job of this.jobs.values()) counts[job.state] += 1;
    return counts;
  }

  /**
   * Makes room for `count` more jobs (evicting finished ones), so a request can be refused
   * before its images are decoded. @throws FleetError TOO_MANY_IMAGES (413), JOBS_FULL (503).
   */
  makeRoom(count: number): void {
    if (count > this.capacity) throw new FleetError("TOO_MANY_IMAGES", `${count} images in one request; the job table holds ${this.capacity}`, 413);
    for (const [id, job] of this.jobs) {
      if (this.jobs.size + count <= this.capacity) return;
      if (job.state === "done" || job.state === "failed") this.evict(id, job);
    }
    if (this.jobs.size + count > this.capacity)
      throw new FleetError("JOBS_FULL", `${this.jobs.size} jobs unfinished; the table holds ${this.capacity}; retry later`, 503);
  }

  private evict(id: string, job: JobRecord): void {
    this.heldBytes -= outputBytes(job.output);
    this.jobs.delete(id);
  }
}
