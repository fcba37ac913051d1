// The receiver's own state in OUT/.framefleet/ (counter, temp files), outside every topic, and its clean-up after a crash.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { FleetError } from "../../errors";
import { syncFolder } from "./counter";

/** The folder of the receiver's own state inside OUT; topics may not start with `.`, so none can be it. */
export const STATE_FOLDER = ".framefleet";
/** The counter file of versions before OUT/.framefleet/, migrated on start. */
const LEGACY_COUNTER_FILE = "image_counter.txt";

/** The file naming the receiver that owns OUT: `{"pid": N, "boot": "BOOT_ID"}`. */
const OWNER_FILE = "owner.json";

/** The OUT folders receivers of this process own now (two roles of one agent share a pid). */
const ownedHere = new Set<string>();

/** This boot's id (Linux `/proc/sys/kernel/random/boot_id`): a pid recorded in another boot names no live process. */
function readBootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}
export interface ReceiverState {
  /** `OUT/.framefleet/image_counter.txt` */
  counterPath: string;
  /** `OUT/image_counter.txt`, the file of earlier versions. */
  legacyCounterPath: string;
  /** `OUT/.framefleet/tmp/`: every temp file of every receiver on this OUT. */
  tempDir: string;
  /** `PID-RANDOM`: starts every temp name of this receiver. */
  tempTag: string;
  /** Temp files left by an earlier receiver that crashed, removed on start. */
  recoveredTempFiles: number;
  /** Gives up the ownership of OUT (on a clean stop). */
  release(): void;
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

/** Removes every temp file: the receiver owns OUT alone, so any it finds is a crashed receiver's leftover. */
function removeLeftovers(tempDir: string): number {
  const names = readdirSync(tempDir);
  for (const name of names) rmSync(join(tempDir, name), { recursive: true, force: true });
  return names.length;
}

/**
 * Makes this receiver the one owner of OUT: `owner.json` created exclusively (O_EXCL) and
 * synced with its folder. An owner file of a process that no longer runs (or ran in another
 * boot) is a crash's and is taken over. Two receivers on one OUT would share the counter and
 * each other's temp files, so the second is refused.
 * @throws FleetError OUT_IN_USE (409) naming the live owner.
 */
function takeOwnership(stateDir: string, outDir: string): () => void {
  const path = join(stateDir, OWNER_FILE);
  const boot = readBootId();
  const refuse = (pid: number) =>
    new FleetError("OUT_IN_USE", `--out ${outDir} is used by another receiver (pid ${pid}); give each receiver its own --out`, 409);
  if (ownedHere.has(outDir)) throw refuse(process.pid);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(path, "wx");
      try {
        writeSync(fd, JSON.stringify({ pid: process.pid, boot }));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      syncFolder(stateDir);
      ownedHere.add(outDir);
      return () => {
        ownedHere.delete(outDir);
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const owner = readOwner(path);
      if (owner && owner.boot === boot && owner.pid !== process.pid && isRunning(owner.pid)) throw refuse(owner.pid);
      unlinkSync(path);
    }
  }
  throw refuse(readOwner(path)?.pid ?? 0);
}

/** The owner recorded in `path`, or undefined when it cannot be read (a crash during its write). */
function readOwner(path: string): { pid: number; boot: string } | undefined {
  try {
    const owner = JSON.parse(readFileSync(path, "utf8")) as { pid?: unknown; boot?: unknown };
    return typeof owner.pid === "number" && typeof owner.boot === "string" ? { pid: owner.pid, boot: owner.boot } : undefined;
  } catch {
    return undefined;
  }
}


/**
 * Makes OUT/.framefleet/tmp/, takes the ownership of OUT (`takeOwnership`) and removes the
 * leftovers of a crashed receiver there.
 * @throws FleetError OUT_IN_USE (409) when a live receiver owns OUT.
 */
export function openReceiverState(outDir: string): ReceiverState {
  const out = resolve(outDir);
  const stateDir = join(out, STATE_FOLDER);
  const tempDir = join(stateDir, "tmp");
  mkdirSync(tempDir, { recursive: true });
  // The state folders' own names are durable too: OUT in its parent, .framefleet in OUT, tmp in .framefleet.
  for (const folder of [dirname(out), out, stateDir]) syncFolder(folder);
  const release = takeOwnership(stateDir, out);
  const tempTag = `${process.pid}-${crypto.randomUUID().slice(0, 8)}`;
  return {
    counterPath: join(stateDir, "image_counter.txt"),
    legacyCounterPath: join(out, LEGACY_COUNTER_FILE),
    tempDir,
    tempTag,
    recoveredTempFiles: removeLeftovers(tempDir),
    release,
  };
}

/** A temp path unique to this process: `OUT/.framefleet/tmp/PID-RANDOM-KEY.tmp`. */
export function toTempPath(state: ReceiverState, key: string | number): string {
  return join(state.tempDir, `${state.tempTag}-${key}.tmp`);
}
