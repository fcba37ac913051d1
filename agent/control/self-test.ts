// `agent --self-test`: checks that every native part works on this box, on a photo embedded in the binary.
// @ts-ignore: an image has no type declarations; with type "file" its import is a path.
import photoPath from "../../test/fixtures/chelsea.jpg" with { type: "file" };
import pkg from "../../package.json" with { type: "json" };
import { describeError } from "../errors";
import { loadSharp, readLoadedLibvips } from "../native/sharp";

/** One check's outcome; `detail` says what was found, or why it failed. */
export interface SelfTestCheck {
  name: string;
  ok: boolean;
  detail: string;
  ms: number;
}

/** The whole report printed by `agent --self-test`. */
export interface SelfTestReport {
  ok: boolean;
  checks: SelfTestCheck[];
  version: string;
  arch: string;
}

/** The embedded photo's size: chelsea.jpg from scikit-image (test/fixtures/SOURCES.md). */
const PHOTO = { width: 451, height: 300 };

type Check = { name: string; run: () => Promise<string> };

/** Checks in the order they run. */
const CHECKS: Check[] = [
  { name: "sharp", run: checkSharp },
  { name: "decode", run: checkDecode },
  { name: "grayscale", run: checkGrayscale },
  { name: "recognition", run: checkRecognition },
];

/** Runs every check, each timed and none stopping the others; `ok` when all pass. */
export async function runSelfTest(): Promise<SelfTestReport> {
  const checks: SelfTestCheck[] = [];
  for (const check of CHECKS) checks.push(await runCheck(check));
  return { ok: checks.every((c) => c.ok), checks, version: pkg.version, arch: process.arch };
}

async function runCheck({ name, run }: Check): Promise<SelfTestCheck> {
  const started = performance.now();
  try {
    const detail = await run();
    return { name, ok: true, detail, ms: roundMs(performance.now() - started) };
  } catch (error) {
    return { name, ok: false, detail: describeError(error), ms: roundMs(performance.now() - started) };
  }
}

function roundMs(ms: number): number {
  return Math.round(ms * 100) / 100;
}

async function readPhoto(): Promise<Buffer> {
  return Buffer.from(await Bun.file(photoPath as string).arrayBuffer());
}

async function checkSharp(): Promise<string> {
  const sharp = loadSharp();
  const libvips = readLoadedLibvips();
  if (libvips && libvips.version !== sharp.versions.vips) {
    throw new Error(`embedded libvips is ${libvips.version}, sharp ${sharp.versions.sharp} expects ${sharp.versions.vips}`);
  }
  const from = libvips ? `, libvips ${libvips.copied ? "copied to" : "loaded from"} ${libvips.file}` : "";
  return `sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}${from}`;
}

async function checkDecode(): Promise<string> {
  const sharp = loadSharp();
  const { info } = await sharp(await readPhoto()).raw().toBuffer({ resolveWithObject: true });
  expectSize(info, "decoded photo");
  return `chelsea.jpg decoded to ${info.width}x${info.height}, ${info.channels} channels`;
}

async function checkGrayscale(): Promise<string> {
  const sharp = loadSharp();
  const jpeg = await sharp(await readPhoto()).greyscale().toColourspace("b-w").jpeg({ quality: 90 }).toBuffer();
  const { width = 0, height = 0, channels = 0 } = await sharp(jpeg).metadata();
  expectSize({ width, height }, "grayscale JPEG");
  if (channels !== 1) {
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    if (!isGrey(data, info.channels)) throw new Error(`grayscale JPEG has ${channels} channels that differ`);
  }
  return `${jpeg.length} byte JPEG, ${width}x${height}, ${channels === 1 ? "1 channel" : `${channels} equal channels`}`;
}

/**
 * One detection on the photo by the embedded model, in an inference thread as the
 * recognition worker runs it (the wasm backend, the thread's entry and the model files all
 * come out of the binary): the top label must be `cat` with a score of at least 0.8.
 */
async function checkRecognition(): Promise<string> {
  const { readEmbeddedModel } = await import("../recognition/model");
  const { startInferencePool } = await import("../recognition/pool");
  const { readModelInput } = await import("../recognition/preprocess");
  const { DEFAULT_LIMITS } = await import("../recognition/postprocess");
  const pool = await startInferencePool({ model: readEmbeddedModel(), threads: 1, batch: 1 });
  try {
    const { objects, top5 } = await pool.detect(await readModelInput(await readPhoto()), DEFAULT_LIMITS);
    const top = top5[0];
    if (top?.label !== "cat" || top.score < 0.8) throw new Error(`expected cat >= 0.8 on chelsea.jpg, found ${JSON.stringify(top5.slice(0, 3))}`);
    const { backend, simd, anchors } = pool.info;
    return `${top.label} ${top.score.toFixed(3)} at [${objects[0]?.box.join(", ")}], ${objects.length} object(s); ${pool.info.source}, ${backend}${simd ? " simd" : ""}, ${anchors} anchors`;
  } finally {
    await pool.close();
  }
}

function expectSize(info: { width: number; height: number }, what: string): void {
  if (info.width !== PHOTO.width || info.height !== PHOTO.height) {
    throw new Error(`${what} is ${info.width}x${info.height}, expected ${PHOTO.width}x${PHOTO.height}`);
  }
}

/** True when every pixel's first three channels are equal (R=G=B). */
function isGrey(data: Uint8Array, channels: number): boolean {
  if (channels < 3) return true;
  for (let i = 0; i < data.length; i += channels) {
    if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  }
  return true;
}
