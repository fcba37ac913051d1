// A persistent image counter that never hands out a number twice, even after a crash.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { FleetError } from "../errors";

/**
 * Numbers reserved on disk ahead of use. A crash skips at most this many numbers and
 * never reuses one; the file is rewritten once per lease, not once per image.
 */
const LEASE = 1000;

/** Writes `text` to `path` atomically and durably: temp file, fsync, rename. */
function writeDurably(path: string, text: string): void {
  const temp = `${path}.tmp`;
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/**
 * A counter persisted in a text file holding the next number not yet reserved.
 * On open it continues after everything any earlier process could have used.
 */
export class PersistentCounter {
  private nextValue: number;
  private leasedUpTo: number;

  private constructor(private readonly path: string, start: number) {
    this.nextValue = start;
    this.leasedUpTo = start;
  }

  /**
   * Opens (or creates) the counter file at `path`.
   * @throws FleetError BAD_COUNTER (500) when the file holds something other than a number.
   */
  static open(path: string): PersistentCounter {
    let text = "0";
    try {
      text = readFileSync(path, "utf8").trim();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const start = Number(text);
    if (!Number.isSafeInteger(start) || start < 0)
      throw new FleetError("BAD_COUNTER", `${path} holds "${text.slice(0, 40)}", not a counter`, 500);
    return new PersistentCounter(path, start);
  }

  /** The next number; extends the lease on disk (synchronously, once per LEASE numbers) before handing it out. */
  next(): number {
    if (this.nextValue >= this.leasedUpTo) {
      this.leasedUpTo = this.nextValue + LEASE;
      writeDurably(this.path, String(this.leasedUpTo));
    }
    const value = this.nextValue;
    this.nextValue += 1;
    return value;
  }

  /** On a clean stop, gives back the unused part of the lease so numbers stay dense. */
  close(): void {
    writeDurably(this.path, String(this.nextValue));
    this.leasedUpTo = this.nextValue;
  }
}
