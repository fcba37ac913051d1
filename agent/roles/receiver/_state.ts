// The receiver's own state in OUT/.framefleet/ (counter, temp files), outside every topic, and its clean-up after a crash.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** The folder of the receiver's own state inside OUT; topics may not start with `.`, so none can be it. */
export const STATE_FOLDER = ".framefleet";
/** The counter file of versions before OUT/.framefleet/, migrated on start. */
const LEGACY_COUNTER_FILE = "image_counter.txt";

/** Where one receiver process keeps its state, and what it cleaned up on start. */
export interface ReceiverState {
  /** `OUT/.framefleet/image_counter.txt` */
  counterPath: string;
  /** `OUT/image_counter.txt`, the file of earlier versions. */
  legacyCounterPath: string;
  /** `OUT/.framefleet/tmp/`: every temp file of every receiver on this OUT. */
  tempDir: string;
  /** `PID-RANDOM`: starts every temp name of this process, so two receivers sharing OUT never share one. */
  tempTag: string;
  /** Temp files left by processes that no longer run (a crash), removed on start. */
  recoveredTempFiles: number;
}

/** Whether a process with this id runs (signal 0 probes it; EPERM means it runs as someone else). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp files of processes that are gone; a live receiver sharing OUT keeps its
 * own. A name that does not start with a process id is a leftover too.
 */
function removeLeftovers(tempDir: string): number {
  let removed = 0;
  for (const name of readdirSync(tempDir)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? NaN);
    if (pid !== process.pid && Number.isSafeInteger(pid) && isRunning(pid)) continue;
    rmSync(join(tempDir, name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}

/** Makes OUT/.framefleet/tmp/ and removes the leftovers of crashed receivers there. */
export function openReceiverState(outDir: string): ReceiverState {
  const stateDir = join(outDir, STATE_FOLDER);
  const tempDir = join(stateDir, "tmp");
  mkdirSync(tempDir, { recursive: true });
  const tempTag = `${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  return {
    counterPath: join(stateDir, "image_counter.txt"),
    legacyCounterPath: join(outDir, LEGACY_COUNTER_FILE),
    tempDir,
    tempTag,
    recoveredTempFiles: removeLeftovers(tempDir),
  };
}

/** A temp path unique to this process: `OUT/.framefleet/tmp/PID-RANDOM-KEY.tmp`. */
export function toTempPath(state: ReceiverState, key: string | number): string {
  return join(state.tempDir, `${state.tempTag}-${key}.tmp`);
}
