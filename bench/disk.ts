// The disk subject: the receiver saving to the real disk against that disk's own sequential write bandwidth.
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeTempDir, removeTempDir, timeCommand } from "./_process";
import { killServer, measureRound, startServer, type LoadRun } from "./ingest";

const SEQUENTIAL_BYTES = 1024 * 1024 * 1024;
const BLOCK_BYTES = 1024 * 1024;

/** Where a folder lives: its device and file-system type, as `df -PT` says. */
export function describeFolder(path: string): { path: string; device: string; fstype: string } {
  const line = Bun.spawnSync(["df", "-PT", path]).stdout.toString().trim().split("\n").at(-1) ?? "";
  const [device = "?", fstype = "?"] = line.split(/\s+/);
  return { path, device, fstype };
}

/** What the sequential write measured: 1 GiB in 1 MiB blocks of random bytes to one file, then fsync. */
export interface SequentialWrite {
  bytes: number;
  seconds: number;
  mb_per_s: number;
}

/** Writes `SEQUENTIAL_BYTES` to one new file in `dir` with write() then fsync(), timed from open to fsync's return; the file is removed. */
export function measureSequentialWrite(dir: string): SequentialWrite {
  const block = new Uint8Array(BLOCK_BYTES);
  for (let offset = 0; offset < block.length; offset += 65536) crypto.getRandomValues(block.subarray(offset, offset + 65536));
  const path = join(dir, "sequential.bin");
  timeCommand(["sync"]);
  const began = performance.now();
  const fd = openSync(path, "w");
  try {
    for (let written = 0; written < SEQUENTIAL_BYTES; written += BLOCK_BYTES) writeSync(fd, block);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const seconds = (performance.now() - began) / 1000;
  unlinkSync(path);
  return { bytes: SEQUENTIAL_BYTES, seconds: Math.round(seconds * 1000) / 1000, mb_per_s: Math.round(SEQUENTIAL_BYTES / seconds / 1e4) / 100 };
}

/** The disk subject's figures: the folder, the sequential baseline, the receiver's run and its MB/s saved. */
export interface DiskResult {
  folder: ReturnType<typeof describeFolder>;
  sequential: SequentialWrite;
  receiver: LoadRun;
  /** JPEG bytes saved in the counted run / (sender's sending time + receiver drain + sync), MB = 1e6 bytes. */
  saved_mb_per_s: number;
}

/** Runs the disk subject in a fresh folder under the OS temp dir (its device and file system go in the results), removed afterwards. */
export async function runDisk(): Promise<DiskResult> {
  const dir = makeTempDir(tmpdir());
  try {
    const folder = describeFolder(dir);
    const sequential = measureSequentialWrite(dir);
    const server = await startServer({ server: "receiver", format: "binary", out: join(dir, "out") });
    let receiver: LoadRun;
    try {
      receiver = await measureRound(server, "stop-and-sync");
    } finally {
      await killServer(server);
    }
    const saved_mb_per_s = Math.round((receiver.saved_bytes! / receiver.window_s!) / 1e4) / 100;
    return { folder, sequential, receiver, saved_mb_per_s };
  } finally {
    removeTempDir(dir);
  }
}
