// tinybench micro-benchmarks: the JPEG header check against sharp, the MJPEG splitter against a naive one.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Bench } from "tinybench";
import { readJpegHeader } from "../agent/imaging/jpeg";
import sharp from "../agent/native/sharp";
import { createMjpegSplitter } from "../agent/sources/mjpeg-splitter";
import { REPO } from "./_process";
import { PHOTO } from "./ingest";

const FIXTURES = join(REPO, "test", "fixtures");
const STREAM_BYTES = 20 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;
const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);

/**
 * The naive baseline splitter: appends each chunk with Buffer.concat, then cuts frames
 * from the first FFD8 to the next FFD9 found with indexOf. It is fooled by an FFD9
 * inside a frame (an EXIF thumbnail), which the fixture photos do not hold.
 */
export function createNaiveSplitter(onFrame: (frame: Uint8Array) => void): { push(chunk: Uint8Array): void } {
  let pending = Buffer.alloc(0);
  return {
    push(chunk) {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const start = pending.indexOf(SOI);
        if (start < 0) {
          pending = pending.subarray(pending.length - 1);
          return;
        }
        const end = pending.indexOf(EOI, start + 2);
        if (end < 0) {
          pending = pending.subarray(start);
          return;
        }
        onFrame(Uint8Array.prototype.slice.call(pending, start, end + 2));
        pending = pending.subarray(end + 2);
      }
    },
  };
}

/** ~20 MB of the real fixture JPEGs back to back, cut into 64 KB chunks; with the number of frames in it. */
function buildStream(): { chunks: Uint8Array[]; bytes: number; frames: number } {
  const photos = readdirSync(FIXTURES).filter((name) => name.endsWith(".jpg")).sort().map((name) => readFileSync(join(FIXTURES, name)));
  const parts: Buffer[] = [];
  let bytes = 0;
  while (bytes < STREAM_BYTES) {
    const photo = photos[parts.length % photos.length]!;
    parts.push(photo);
    bytes += photo.length;
  }
  const stream = Buffer.concat(parts);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < stream.length; offset += CHUNK_BYTES) chunks.push(stream.subarray(offset, offset + CHUNK_BYTES));
  return { chunks, bytes, frames: parts.length };
}

/** One micro-benchmark's figure: mean operations per second, its relative margin of error, and MB/s where it moves bytes. */
export interface FunctionFigure {
  ops_per_s: number;
  rme_pct: number;
  samples: number;
  mb_per_s?: number;
}

/** The micro-benchmark figures by task name, and the checks that each pair does the same work. */
export interface FunctionResults {
  figures: Record<string, FunctionFigure>;
  photo_bytes: number;
  stream_bytes: number;
  checks: { header_matches_sharp: boolean; frames_expected: number; frames_ours: number; frames_naive: number };
}

/** Task names, as they appear in the results. */
export const TASKS = {
  header: "readJpegHeader",
  metadata: "sharp(buf).metadata()",
  decode: "sharp(buf).raw().toBuffer()",
  splitter: "createMjpegSplitter",
  naive: "naive indexOf splitter",
} as const;

/** Runs the micro-benchmarks (1 s of samples per task after a warm-up), each pair checked to agree first. */
export async function runFunctions(): Promise<FunctionResults> {
  const photo = new Uint8Array(readFileSync(PHOTO));
  const stream = buildStream();
  const header = readJpegHeader(photo);
  const metadata = await sharp(photo).metadata();
  const frames = { ours: 0, naive: 0 };
  const splitOurs = (): void => {
    const splitter = createMjpegSplitter(() => (frames.ours += 1));
    for (const chunk of stream.chunks) splitter.push(chunk);
    splitter.end();
  };
  const splitNaive = (): void => {
    const splitter = createNaiveSplitter(() => (frames.naive += 1));
    for (const chunk of stream.chunks) splitter.push(chunk);
  };
  splitOurs();
  splitNaive();
  const checks = {
    header_matches_sharp: header.width === metadata.width && header.height === metadata.height && header.components === metadata.channels,
    frames_expected: stream.frames,
    frames_ours: frames.ours,
    frames_naive: frames.naive,
  };

  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench
    .add(TASKS.header, () => void readJpegHeader(photo))
    .add(TASKS.metadata, async () => void (await sharp(photo).metadata()))
    .add(TASKS.decode, async () => void (await sharp(photo).raw().toBuffer()))
    .add(TASKS.splitter, splitOurs)
    .add(TASKS.naive, splitNaive);
  await bench.run();
  const figures: Record<string, FunctionFigure> = {};
  for (const task of bench.tasks) {
    const result = task.result;
    if (result.state !== "completed") throw new Error(`${task.name}: ${result.state} ${"error" in result ? String(result.error) : ""}`);
    const ops = result.throughput.mean;
    const moves = task.name === TASKS.splitter || task.name === TASKS.naive ? stream.bytes : 0;
    figures[task.name] = {
      ops_per_s: Math.round(ops * 10) / 10,
      rme_pct: Math.round(result.throughput.rme * 10) / 10,
      samples: result.throughput.samplesCount,
      ...(moves ? { mb_per_s: Math.round((ops * moves) / 1e4) / 100 } : {}),
    };
  }
  return { figures, photo_bytes: photo.length, stream_bytes: stream.bytes, checks };
}
