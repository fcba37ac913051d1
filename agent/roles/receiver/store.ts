// The receiver's bounded save queue: atomic, never-overwriting writes into OUT/TOPIC/, synced in groups when asked.
import { link, mkdir, open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { FleetError } from "../../errors";
import type { Upload } from "./_upload";

/** One accepted image waiting to be written: the upload as read, numbered. */
export interface SaveJob extends Upload {
  id: number;
  /** Called with the job's outcome once it is saved (per the store's `sync`) or has failed. */
  acknowledge?: (outcome: SaveOutcome) => void;
}

/** What the store reports after each job: the file written, or the error. */
export type SaveOutcome = { job: SaveJob; path: string; savedAt: number } | { job: SaveJob; error: Error };

/** Limits of the queue: at most `maxJobs` jobs waiting and `maxBytes` bytes held until saved (the larger wins for one lone image). */
export interface StoreLimits {
  maxJobs: number;
  maxBytes: number;
  /** Writes in flight at once. */
  writers: number;
}

/** How the store writes: whether a file is fsynced (with its folder) before it counts as saved, and where temp files go. */
export interface StoreWriting {
  sync: boolean;
  /** A temp path unique to this process for job `id`, on the same file system as OUT. */
  toTempPath: (id: number) => string;
}

/** A file written to its temp name, waiting for the next sync pass. */
interface Unsynced {
  job: SaveJob;
  handle: FileHandle;
  temp: string;
  folder: string;
  path: string;
  error?: Error;
}

/** `2026-11-21T23:20:00.123Z` -> `20261121T232000.123Z`, sortable and safe in file names. */
function toStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, "");
}

/**
 * Gives a temp file its final name; fails rather than replace a file. When the folder is
 * gone (removed while the receiver runs), `makeFolder` makes it again and the link is
 * retried once. The temp name is removed either way.
 */
async function linkFinal(temp: string, path: string, makeFolder: () => Promise<void>): Promise<void> {
  try {
    await link(temp, path).catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== "ENOENT") throw error;
      await makeFolder();
      await link(temp, path);
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw code === "EEXIST" ? new FleetError("FILE_EXISTS", `${path} exists; not overwritten`, 500, { cause: error }) : error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/** fsyncs a folder, so the names linked into it survive power loss. */
async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A bounded FIFO of images and the writers that drain it. Each file is written to a temp
 * name, then hard-linked to its final name (which fails rather than overwrite an existing
 * file) and the temp name removed: a reader never sees a partial file and no file is ever
 * replaced. With `sync`, files are fsynced in groups before the link, and the folders
 * after it (group commit: one pass covers every file that finished writing meanwhile).
 */
export class ImageStore {
  private readonly queue: SaveJob[] = [];
  private head = 0;
  private queuedBytes = 0;
  private active = 0;
  private readonly madeFolders = new Set<string>();
  private drainWaiters: (() => void)[] = [];
  private spaceWaiters: (() => void)[] = [];
  private unsynced: Unsynced[] = [];
  private syncing = 0;
  private passes = 0;

  constructor(
    private readonly outDir: string,
    private readonly limits: StoreLimits,
    private readonly writing: StoreWriting,
    private readonly onOutcome: (outcome: SaveOutcome) => void,
  ) {}

  /** Jobs waiting, being written or waiting for their sync. */
  get depth(): number {
    return this.queue.length - this.head + this.active + this.unsynced.length + this.syncing;
  }

  /** Bytes of the jobs accepted and not yet saved or failed: waiting, being written, or waiting for their sync (the `--queue-bytes` budget). */
  get bytes(): number {
    return this.queuedBytes;
  }

  /** Sync passes run so far (each covers every file written meanwhile). */
  get syncPasses(): number {
    return this.passes;
  }

  /**
   * Queues a job unless the queue is full. Files waiting for a sync count as waiting, so
   * they (and their open files) stay within `maxJobs` too.
   * @returns false when full (the caller answers 503 with Retry-After: backpressure, nothing dropped).
   */
  offer(job: SaveJob): boolean {
    const waiting = this.queue.length - this.head + this.unsynced.length + this.syncing;
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

  /** Resolves once every queued job has been saved or has failed. */
  drain(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.limits.writers && this.head < this.queue.length) {
      const job = this.queue[this.head]!;
      this.head += 1;
      this.active += 1;
      this.spaceWaiters[0]?.();
      void this.write(job).then(() => {
        this.active -= 1;
        this.compact();
        this.pump();
        this.wakeDrained();
      });
    }
  }

  private finish(outcome: SaveOutcome): void {
    this.queuedBytes -= outcome.job.data.length;
    this.onOutcome(outcome);
    outcome.job.acknowledge?.(outcome);
  }

  private wakeDrained(): void {
    if (this.depth === 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** Drops the consumed front of the array once it dominates, keeping push/shift O(1) amortized. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private async write(job: SaveJob): Promise<void> {
    const folder = join(this.outDir, job.topic);
    const path = join(folder, `${toStamp(Date.now())}_${job.id}_${job.name}.jpg`);
    const temp = this.writing.toTempPath(job.id);
    try {
      if (!this.madeFolders.has(folder)) await this.makeFolder(folder);
      if (!this.writing.sync) {
        await Bun.write(temp, job.data);
        await linkFinal(temp, path, () => this.makeFolder(folder));
        return this.finish({ job, path, savedAt: Date.now() });
      }
      const handle = await open(temp, "w");
      try {
        await handle.writeFile(job.data);
      } catch (error) {
        await handle.close();
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      this.unsynced.push({ job, handle, temp, folder, path });
      void this.runSyncPasses();
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      this.finish({ job, error: error as Error });
    }
  }

  /** Makes a topic folder; in sync mode its name in OUT is synced too, so a power loss cannot take the folder and its synced files with it. */
  private async makeFolder(folder: string): Promise<void> {
    const created = await mkdir(folder, { recursive: true });
    if (created !== undefined && this.writing.sync) await syncFolder(this.outDir);
    this.madeFolders.add(folder);
  }

  /** Runs sync passes while files wait for one; a single loop at a time, so files written during a pass join the next. */
  private async runSyncPasses(): Promise<void> {
    if (this.syncing > 0) return;
    while (this.unsynced.length > 0) {
      const batch = this.unsynced.splice(0);
      this.syncing = batch.length;
      await this.syncBatch(batch);
      this.passes += 1;
      this.syncing = 0;
      const savedAt = Date.now();
      for (const entry of batch) this.finish(entry.error ? { job: entry.job, error: entry.error } : { job: entry.job, path: entry.path, savedAt });
    }
    this.wakeDrained();
  }

  /** One group commit: fsync every file, link each to its final name, then fsync each touched folder once. */
  private async syncBatch(batch: Unsynced[]): Promise<void> {
    await Promise.all(
      batch.map(async (entry) => {
        try {
          await entry.handle.sync();
          await entry.handle.close();
          await linkFinal(entry.temp, entry.path, () => this.makeFolder(entry.folder));
        } catch (error) {
          entry.error = error as Error;
          await entry.handle.close().catch(() => undefined);
          await unlink(entry.temp).catch(() => undefined);
        }
      }),
    );
    const folders = [...new Set(batch.filter((entry) => !entry.error).map((entry) => entry.folder))];
    const failures = await Promise.all(folders.map((folder) => syncFolder(folder).then(() => undefined, (error: Error) => error)));
    const failed = new Map(folders.map((folder, index) => [folder, failures[index]]));
    for (const entry of batch) entry.error ??= failed.get(entry.folder);
  }
}
