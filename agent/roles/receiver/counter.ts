// A persistent image counter that never hands out a number twice, even after a crash.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { FleetError } from "../../errors";

/**
 * Numbers reserved on disk ahead of use. A crash skips at most this many numbers and
 * never reuses one; the file is rewritten once per lease, not once per image.
 */
const LEASE = 1000;

/** Syncs a folder, so a rename, link or new entry inside it survives power loss (POSIX: a name is durable once its directory is synced). */
export function syncFolder(path: string): void {
  const fd = openSync(path, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `path` atomically and durably: `temp` (a name unique to this process), fsync, rename, fsync of the folder. */
function writeDurably(path: string, text: string, temp: string): void {
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  syncFolder(dirname(path));
}

/** Reads a counter file: its number, or undefined when it does not exist (or, for the legacy path, is a topic's folder). */
function readCounterFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR") return undefined;
    throw error;
  }
  const value = Number(text);
  if (text === "" || !Number.isSafeInteger(value) || value < 0)
    throw new FleetError("BAD_COUNTER", `${path} holds "${text.slice(0, 40)}", not a counter`, 500);
  return value;
}

/** What writes a lease to disk; replaced in tests to make a write fail. */
export type LeaseWriter = (path: string, text: string, temp: string) => void;

/**
 * A counter persisted in a text file holding the next number not yet reserved.
 * On open it continues after everything any earlier process could have used; a lease is
 * on disk (fsynced, folder too) before any number in it is handed out, and a lease that
 * failed to reach the disk is not used.
 */
export class PersistentCounter {
  private nextValue: number;
  private leasedUpTo: number;

  private constructor(
    private readonly path: string,
    start: number,
    private readonly temp: string,
    private readonly write: LeaseWriter,
  ) {
    this.nextValue = start;
    this.leasedUpTo = start;
  }

  /**
   * Opens (or creates) the counter file at `path`. `legacyPath`, the file of earlier
   * versions (`OUT/image_counter.txt`), is migrated: the larger of the two is kept, written
   * to `path`, and the old file removed (so no topic named like it can collide).
   * @throws FleetError BAD_COUNTER (500) when a file holds something other than a number.
   */
  static open(path: string, options: { legacyPath?: string; temp: string; write?: LeaseWriter }): PersistentCounter {
    const write = options.write ?? writeDurably;
    const current = readCounterFile(path);
    const legacy = options.legacyPath ? readCounterFile(options.legacyPath) : undefined;
    const start = Math.max(current ?? 0, legacy ?? 0);
    if (legacy !== undefined) {
      write(path, String(start), options.temp);
      unlinkSync(options.legacyPath!);
    }
    return new PersistentCounter(path, start, options.temp, write);
  }

  /**
   * The next number. Once per LEASE numbers it first extends the lease on disk
   * (synchronously); if that write fails it throws and the lease stays as it was.
   */
  next(): number {
    if (this.nextValue >= this.leasedUpTo) {
      const leaseEnd = this.nextValue + LEASE;
      this.write(this.path, String(leaseEnd), this.temp);
      this.leasedUpTo = leaseEnd;
    }
    const value = this.nextValue;
    this.nextValue += 1;
    return value;
  }

  /** On a clean stop, gives back the unused part of the lease so numbers stay dense. */
  close(): void {
    this.write(this.path, String(this.nextValue), this.temp);
    this.leasedUpTo = this.nextValue;
  }
}
