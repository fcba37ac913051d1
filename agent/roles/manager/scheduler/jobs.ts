// The one job table: the scheduler's job records by id, at most so many of them and so many output bytes, finished ones evicted oldest first; and the view of a record clients get.
import { describeError, FleetError } from "../../../errors";
import type { JobStateName, JobView } from "../../../wire";
import type { Job } from "../../../protocol";
import { isSettled, planJob, type JobOutput, type JobState, type Task } from "./_tasks";

/** The body of `GET /jobs/:id` (and of `job-state` events): a done classify job also carries its `result`. */
export function toJobView(job: JobState): JobView {
  return {
    id: job.id,
    state: job.state,
    progress: job.progress,
    ...(job.error === undefined ? {} : { error: describeError(job.error) }),
    ...(job.output && "objects" in job.output ? { result: job.output } : {}),
  };
}

/** Bytes an output holds: its raw pixels (an 8K RGB image is 99.5 MB); classify objects count 0. */
function outputBytes(output: JobOutput | undefined): number {
  return output && "data" in output ? output.data.length : 0;
}

/**
 * Job records by id, at most `capacity` of them, their outputs at most `maxOutputBytes` together.
 * Room is made by evicting finished jobs (done or failed), oldest first; for bytes, only
 * those holding pixels. Queued and running jobs are never evicted, nor the job that just
 * finished (one output larger than the budget is kept alone). The scheduler writes the
 * records through the `mark` methods (each change of state calls `onChange`: the scheduler's
 * `job-state` event); everyone else reads them.
 */
export class JobTable {
  private readonly jobs = new Map<string, JobState>();
  private heldBytes = 0;
  /** Ids handed so far to jobs that came without one (`job-N`). */
  private admitted = 0;

  constructor(
    private readonly capacity: number,
    private readonly maxOutputBytes: number,
    private readonly onChange: (job: JobState) => void,
  ) {}

  /** Bytes the outputs of the table's jobs hold. */
  get outputBytes(): number {
    return this.heldBytes;
  }

  /** The job called `id`. @throws FleetError JOB_NOT_FOUND (404). */
  read(id: string): JobState {
    const job = this.jobs.get(id);
    if (!job) throw new FleetError("JOB_NOT_FOUND", `no job ${id} (unknown, or finished and evicted)`, 404);
    return job;
  }

  /** The job called `id` while it is queued or running. */
  findUnsettled(id: string): JobState | undefined {
    const job = this.jobs.get(id);
    return job && !isSettled(job) ? job : undefined;
  }

  /** The task `taskId` (`JOB/sN`) of a job still queued or running, if any. */
  findTask(taskId: string): Task | undefined {
    const cut = taskId.lastIndexOf("/s");
    return this.findUnsettled(taskId.slice(0, cut))?.tasks[Number(taskId.slice(cut + 2))];
  }

  /** The queued and running jobs. */
  unsettled(): JobState[] {
    return [...this.jobs.values()].filter((job) => !isSettled(job));
  }

  /**
   * Adds a queued job, making room for it; a finished job of the same id is replaced.
   * @throws FleetError DUPLICATE_JOB (422) while a job of its id is unsettled; as `makeRoom`.
   */
  add(job: JobState): void {
    const old = this.jobs.get(job.id);
    if (old && !isSettled(old)) throw new FleetError("DUPLICATE_JOB", `job ${job.id} is already running`, 422);
    if (old) this.evict(job.id, old);
    this.makeRoom(1);
    this.jobs.set(job.id, job);
  }

  /**
   * Plans a checked job as `stripes` tasks (`planJob`) under its id (`job-N` when it has none)
   * and adds it queued: how both runners take a job. Answers its state and the promise the
   * runner settles it with, or the error `add` threw (DUPLICATE_JOB, ...).
   */
  admit(job: Job, stripes: number): { state: JobState; settled: Promise<JobOutput> } | { error: unknown } {
    const settled = Promise.withResolvers<JobOutput>();
    const state = planJob(job, job.id ?? `job-${++this.admitted}`, stripes, settled);
    try {
      this.add(state);
    } catch (error) {
      return { error };
    }
    return { state, settled: settled.promise };
  }

  /** Marks a queued job running (its first task went out). */
  markRunning(job: JobState): void {
    if (job.state !== "queued") return;
    job.state = "running";
    this.onChange(job);
  }

  /** Records the share of a job's tasks done. */
  markProgress(job: JobState, progress: number): void {
    if (!isSettled(job)) job.progress = progress;
  }

  /** Records a job's output; older jobs holding pixels are evicted while the outputs pass the byte budget. */
  markDone(job: JobState, output: JobOutput): void {
    Object.assign(job, { state: "done", progress: 1, output });
    this.heldBytes += outputBytes(output);
    for (const [otherId, other] of this.jobs) {
      if (this.heldBytes <= this.maxOutputBytes) break;
      if (otherId !== job.id && outputBytes(other.output) > 0) this.evict(otherId, other);
    }
    this.onChange(job);
  }

  /** Records a job's failure. */
  markFailed(job: JobState, error: FleetError): void {
    Object.assign(job, { state: "failed", error });
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
      if (isSettled(job)) this.evict(id, job);
    }
    if (this.jobs.size + count > this.capacity)
      throw new FleetError("JOBS_FULL", `${this.jobs.size} jobs unfinished; the table holds ${this.capacity}; retry later`, 503);
  }

  private evict(id: string, job: JobState): void {
    this.heldBytes -= outputBytes(job.output);
    this.jobs.delete(id);
  }
}
