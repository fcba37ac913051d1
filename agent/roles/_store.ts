// The receiver's bounded save queue: atomic, never-overwriting writes into OUT/TOPIC/.
import { mkdir, link, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { FleetError } from "../errors";

/** One accepted image waiting to be written. */
export interface SaveJob {
  id: number;
  topic: string;
  name: string;
  data: Uint8Array;
  sentAt?: number;
}

/** What the store reports after each job: the file written, or the error. */
export type SaveOutcome = { job: SaveJob; path: string; savedAt: number } | { job: SaveJob; error: Error };

/** Limits of the queue: at most `maxJobs` jobs and `maxBytes` bytes waiting (the larger wins for one lone image). */
export interface StoreLimits {
  maxJobs: number;
  maxBytes: number;
  /** Writes in flight at once. */
  writers: number;
}

/** `2026-11-21T23:20:00.123Z` -> `20261121T232000.123Z`, sortable and safe in file names. */
function toStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "");
}

/**
 * A bounded FIFO of images and the writers that drain it. Each file is written to a
 * temp name in its topic folder, then hard-linked to its final name (which fails rather
 * than overwrite an existing file) and the temp name removed: a reader never sees a
 * partial file and no file is ever replaced.
 */
export class ImageStore {
  private readonly queue: SaveJob[] = [];
  private head = 0;
  private queuedBytes = 0;
  private active = 0;
  private readonly madeFolders = new Set<string>();
  private drainWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];

  constructor(
    private readonly outDir: string,
    private readonly limits: StoreLimits,
    private readonly onOutcome: (outcome: SaveOutcome) => void,
  ) {}

  /** Jobs waiting or being written. */
  get depth(): number {
    return this.queue.length - this.head + this.active;
  }

  /** Bytes of the jobs waiting. */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Queues a job unless the queue is full.
   * @returns false when full (the caller answers 503 with Retry-After: backpressure, nothing dropped).
   */
  offer(job: SaveJob): boolean {
    const waiting = this.queue.length - this.head;
    const full = waiting >= this.limits.maxJobs || (waiting > 0 && this.queuedBytes + job.data.length > this.limits.maxBytes);
    if (full) return false;
    this.queue.push(job);
    this.queuedBytes += job.data.length;
    this.pump();
    return true;
  }

  /**
   * Queues a job, holding the caller while the queue is full: up to `waitMs`, and only
   * while fewer than `maxWaiting` callers already wait. Holding the HTTP request is
   * backpressure the sender feels at once; a 503 only comes when holding would not do.
   * @returns false when the job still does not fit (the caller answers 503).
   */
  async offerWithin(job: SaveJob, waitMs: number, maxWaiting: number): Promise<boolean> {
    if (this.offer(job)) return true;
    const deadline = Date.now() + waitMs;
    while (this.spaceWaiters.length < maxWaiting && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(wake, deadline - Date.now());
        const waiters = this.spaceWaiters;
        function wake(): void {
          clearTimeout(timer);
          const index = waiters.indexOf(wake);
          if (index >= 0) waiters.splice(index, 1);
          resolve();
        }
        waiters.push(wake);
      });
      if (this.offer(job)) return true;
    }
    return false;
  }

  /** Resolves once every queued job has been written or has failed. */
  drain(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.limits.writers && this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      this.head += 1;
      this.queuedBytes -= job.data.length;
      this.active += 1;
      this.spaceWaiters[0]?.();
      void this.write(job).then((outcome) => {
        this.active -= 1;
        this.onOutcome(outcome);
        this.compact();
        this.pump();
        if (this.depth === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
      });
    }
  }

  /** Drops the consumed front of the array once it dominates, keeping push/shift O(1) amortized. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private async write(job: SaveJob): Promise<SaveOutcome> {
    const folder = join(this.outDir, job.topic);
    const path = join(folder, `${toStamp(Date.now())}_${job.id}_${job.name}.jpg`);
    const temp = join(folder, `.incoming-${job.id}.tmp`);
    try {
      if (!this.madeFolders.has(folder)) {
        await mkdir(folder, { recursive: true });
        this.madeFolders.add(folder);
      }
      await writeFile(temp, job.data);
      try {
        await link(temp, path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw code === "EEXIST" ? new FleetError("FILE_EXISTS", `${path} exists; not overwritten`, 500, { cause: error }) : error;
      } finally {
        await unlink(temp).catch(() => undefined);
      }
      return { job, path, savedAt: Date.now() };
    } catch (error) {
      return { job, error: error as Error };
    }
  }
}
