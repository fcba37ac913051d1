// Jobs as tasks: stripes of raw pixels or one whole file; planning, the assign a task becomes, checking a worker's result, joining the outputs.
import { FleetError } from "../../../errors";
import type { ImageSize } from "../../../imaging/decode";
import { checkParams, OPS, type ImageOp, type RawImage } from "../../../imaging/ops";
import { cutStripe, haloFor, joinStripes, planStripes, type Stripe } from "../../../imaging/stripes";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { DEFAULT_MAX_FRAME_BYTES, type Assign, type Result } from "../../../protocol";
import { checkClassifyParams } from "../../../recognition/params";
import { Detections, type ClassifyParams } from "../../../wire";
import type { TaskTiming } from "./_events";

/** An image job on raw pixels, cut into stripes (one stripe when the op is not stripeable). */
export interface ImageJob {
  op: string;
  params: Record<string, unknown>;
  image: RawImage;
  /** Names the job in events and task ids; default `job-N`. */
  id?: string;
}

/**
 * An image job sent whole, as its encoded file, to one worker that decodes it
 * (agent/imaging/decode.ts): a non-stripeable op, or any op while other jobs keep the fleet
 * busy (`chooseSplit`): the decode then runs on a worker instead of the manager.
 */
export interface FileJob {
  op: string;
  params: Record<string, unknown>;
  encoded: Uint8Array;
  /** The file's size from its header (pixels): a result of another size is refused (but for resize). */
  size: ImageSize;
  id?: string;
}

/** A `classify` job: the uploaded file's encoded bytes go whole to one recognition worker. */
export interface ClassifyJob {
  op: "classify";
  params: ClassifyParams;
  encoded: Uint8Array;
  id?: string;
}

export type Job = ImageJob | FileJob | ClassifyJob;

/** What a job settles with: raw pixels for an image job, the objects found for classify. */
export type JobOutput = RawImage | Detections;

/** One stripe of a job on its way through the fleet. */
export interface Task {
  id: string;
  job: JobState;
  stripe: Stripe;
  /** The stripe's raw rows, halo included (a view into the job's image), or the whole encoded file. */
  payload: Uint8Array;
  /** Number of the latest attempt sent; 0 before the first. */
  attempt: number;
  /** The worker holding the latest attempt, null while queued. */
  workerId: string | null;
  /** Attempts a worker refused without trying (BUSY, STOPPING): sent again without counting against `maxAttempts`. */
  refused: number;
  /** The worker whose attempt failed last, avoided on the next one where another exists. */
  lastWorkerId: string | null;
  sentAt: number;
  /** When the kernel took the current attempt's last byte (0 until then). */
  takenAt: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  done: boolean;
}

/** What a job's tasks carry: raw pixels (stripes, or one whole raw image), an encoded image file, or a file to classify. */
export type JobInput = "raw" | "file" | "classify";

/** A submitted job until it settles. */
export interface JobState {
  id: string;
  op: string;
  params: Record<string, unknown>;
  input: JobInput;
  /** The input's size in pixels (1x1 for classify); `channels` of raw input, 0 for a file. */
  width: number;
  height: number;
  channels: number;
  /** True when the outputs are stripes to join: raw input of a stripeable op. */
  striped: boolean;
  tasks: Task[];
  outputs: { stripe: Stripe; data: Uint8Array; meta: Record<string, unknown> }[];
  startedAt: number;
  finished: boolean;
  resolve(output: JobOutput): void;
  reject(error: FleetError): void;
}

const checkDetections = TypeCompiler.Compile(Detections);

type RawShape = Omit<RawImage, "data">;
type Settle = Pick<JobState, "resolve" | "reject">;

/**
 * Checks a job and plans its tasks: `count` stripes of a raw image job (one when the op is not
 * stripeable), one task for a file or classify job.
 * @throws FleetError UNKNOWN_OP, BAD_PARAMS (422) as `checkParams`; BAD_IMAGE (422) for pixels
 *   that do not match their size or an empty file; TOO_LARGE_FOR_OP (413) as `checkJobFits`.
 */
export function planJob(job: Job, id: string, count: number, settle: Settle): JobState {
  if (job.op === "classify") return planClassify(job as ClassifyJob, id, settle);
  if ("encoded" in job) return planFile(job as FileJob, id, settle);
  const { op, params } = checkParams(job.op, job.params);
  const { data, width, height, channels } = job.image;
  if (![1, 2, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} is not 1..4 channels of positive integer size`, 422);
  if (data.length !== width * height * channels)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`, 422);
  const striped = OPS[op].stripeable;
  checkJobFits(job);
  const stripes = striped ? planStripes(height, count, haloFor(op, params)) : planStripes(height, 1, 0);
  const state = newState(id, op, params, "raw", { width, height, channels }, striped, settle);
  state.tasks = stripes.map((stripe) => toTask(state, stripe, cutStripe(data, width, channels, stripe)));
  return state;
}

/** An image file as one task. @throws as `planJob`. */
function planFile(job: FileJob, id: string, settle: Settle): JobState {
  const { op, params } = checkParams(job.op, job.params);
  if (job.encoded.length === 0) throw new FleetError("BAD_IMAGE", `${op}: the image file is empty`, 422);
  checkJobFits(job);
  const state = newState(id, op, params, "file", { ...job.size, channels: 0 }, false, settle);
  state.tasks = [toTask(state, planStripes(1, 1, 0)[0]!, job.encoded)];
  return state;
}

/** A classify job as one task carrying the encoded file. @throws FleetError BAD_PARAMS (422) naming each bad param, BAD_IMAGE (422) for an empty file. */
function planClassify(job: ClassifyJob, id: string, settle: Settle): JobState {
  checkClassifyParams(job.params);
  if (job.encoded.length === 0) throw new FleetError("BAD_IMAGE", "classify: the image file is empty", 422);
  const state = newState(id, "classify", job.params, "classify", { width: 1, height: 1, channels: 0 }, false, settle);
  state.tasks = [toTask(state, planStripes(1, 1, 0)[0]!, job.encoded)];
  return state;
}

function newState(id: string, op: string, params: Record<string, unknown>, input: JobInput, shape: RawShape, striped: boolean, settle: Settle): JobState {
  return { id, op, params, input, ...shape, striped, tasks: [], outputs: [], startedAt: performance.now(), finished: false, ...settle };
}

function toTask(job: JobState, stripe: Stripe, payload: Uint8Array): Task {
  return { id: `${job.id}/s${stripe.index}`, job, stripe, payload, attempt: 0, refused: 0, workerId: null, lastWorkerId: null, sentAt: 0, takenAt: 0, timer: undefined, done: false };
}

/** Rows a task's payload holds, halo included. */
export function rowsOf(task: Task): number {
  return task.stripe.haloTop + task.stripe.rows + task.stripe.haloBottom;
}

/**
 * The assign message of the task's current attempt: op params plus `image`, which is
 * `{width, height, channels}` of a raw payload or `"file"` for an encoded image file
 * (agent/roles/worker/_task.ts); classify params as they are.
 */
export function toAssign(task: Task): Assign {
  const { op, params, input, width, channels } = task.job;
  const image = input === "raw" ? { width, height: rowsOf(task), channels } : "file";
  return { type: "assign", taskId: task.id, attempt: task.attempt, op: op as Assign["op"], params: input === "classify" ? params : { ...params, image }, payload: task.payload };
}

/**
 * The problem with a result for `task`, or null when its `meta` and payload fit: a stripe's
 * width and rows, a whole file's output size (for resize the sides asked for), detections for classify.
 */
export function checkResult(task: Task, result: Result): string | null {
  const { job } = task;
  if (job.input === "classify") {
    const { objects, top5 } = result.meta;
    return checkDetections.Check({ objects, top5 }) ? null : `meta is not {objects: [{label, score, box}], top5: [{label, score}]}: ${[...checkDetections.Errors({ objects, top5 })][0]?.message}`;
  }
  const { width, height, channels } = result.meta as Partial<RawShape>;
  const sizes = [width, height, channels];
  if (!sizes.every((value) => Number.isInteger(value) && (value as number) >= 1) || (channels as number) > 4)
    return `meta ${JSON.stringify(result.meta)} is not {width, height, channels} of a raw image`;
  const expected = width! * height! * channels!;
  if (result.payload.length !== expected) return `payload has ${result.payload.length} bytes, meta says ${width}x${height}x${channels} = ${expected}`;
  if (job.striped && (width !== job.width || height !== rowsOf(task))) return `output is ${width}x${height}, the stripe is ${job.width}x${rowsOf(task)}`;
  if (job.input === "file") {
    const given = job.op === "resize" ? (job.params as { width?: number; height?: number }) : { width: job.width, height: job.height };
    if ((given.width ?? width) !== width || (given.height ?? height) !== height)
      return `output is ${width}x${height}; ${job.op} of ${job.width}x${job.height} makes ${given.width ?? "any"}x${given.height ?? "any"}`;
  }
  return null;
}

/**
 * The job's output image from its stripe outputs (copied out of their frames by the caller).
 * @throws FleetError BAD_STRIPES (422) when the outputs disagree on channels or do not join.
 */
export function joinOutputs(job: JobState): JobOutput {
  if (job.input === "classify") {
    const { objects, top5 } = job.outputs[0]!.meta as Detections;
    return { objects, top5 };
  }
  const first = toShape(job.outputs[0]!.meta);
  if (!job.striped) return { data: job.outputs[0]!.data, ...first };
  const channels = new Set(job.outputs.map((output) => toShape(output.meta).channels));
  if (channels.size > 1) throw new FleetError("BAD_STRIPES", `stripe outputs disagree on channels: ${[...channels].join(", ")}`, 422);
  const data = joinStripes(job.outputs.map((output) => ({ ...output, meta: toShape(output.meta) })), job.width, first.channels, job.height);
  return { data, width: job.width, height: job.height, channels: first.channels };
}

/**
 * Splits an attempt's round trip (ms) into send, wait, process and receive (TaskTiming);
 * `wait_ms` and `ms` come from the worker's result meta (0 when absent or not numbers).
 */
export function toTiming(task: Task, meta: Record<string, unknown>, roundTrip: number): TaskTiming {
  const reported = (value: unknown) => (typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : 0);
  const send = task.takenAt > 0 ? task.takenAt - task.sentAt : 0;
  const wait = reported(meta.wait_ms);
  const process = reported(meta.ms);
  return { send, wait, process, receive: Math.max(0, roundTrip - send - wait - process) };
}

/** The `{width, height, channels}` of a raw result's meta (checked by `checkResult`). */
function toShape(meta: Record<string, unknown>): RawShape {
  const { width, height, channels } = meta as RawShape;
  return { width, height, channels };
}

/** Largest raw payload (bytes) of a task sent whole or answered whole: the protocol's frame maximum less 1 MiB for the frame's header. */
export const MAX_WHOLE_BYTES = DEFAULT_MAX_FRAME_BYTES - 1024 * 1024;

/**
 * The output size (pixels) of `op` on an image of `width` x `height`: the same but for
 * resize, whose missing side keeps the aspect ratio (rounded, at least 1: sharp's result on
 * 30 sizes tried, but its rounding is its own, so results are checked on the given sides only).
 */
function outputSize(op: string, params: Record<string, unknown>, width: number, height: number): [number, number] {
  if (op !== "resize") return [width, height];
  const target = params as { width?: number; height?: number };
  return [target.width ?? Math.max(1, Math.round((width * target.height!) / height)), target.height ?? Math.max(1, Math.round((height * target.width!) / width))];
}

/**
 * The most bytes one frame of a task sent whole carries: its input (`inputBytes`, raw or
 * encoded) or its raw output of `outWidth` x `outHeight` pixels at 4 channels (no op makes
 * more), whichever is larger. Past MAX_WHOLE_BYTES it cannot go whole.
 */
export function wholeTaskBytes(inputBytes: number, outWidth: number, outHeight: number): number {
  return Math.max(inputBytes, outWidth * outHeight * 4);
}

/**
 * Checks that a job sent whole fits one frame both ways: a raw resize job's input, and the
 * raw output of a file job or of resize (`width` x `height`; one of them may be missing: it
 * keeps the aspect ratio). Striped jobs and classify always fit.
 * @throws FleetError TOO_LARGE_FOR_OP (413) naming the sizes.
 */
export function checkJobFits(job: Job): void {
  if (job.op === "classify" || ("image" in job && OPS[job.op as ImageOp]?.stripeable !== false)) return;
  const input = "image" in job ? job.image : { ...(job as FileJob).size, data: (job as FileJob).encoded };
  const [outWidth, outHeight] = outputSize(job.op, job.params, input.width, input.height);
  const bytes = wholeTaskBytes(input.data.length, outWidth, outHeight);
  if (bytes > MAX_WHOLE_BYTES)
    throw new FleetError("TOO_LARGE_FOR_OP", `${job.op} goes to one worker whole: ${input.width}x${input.height} -> ${outWidth}x${outHeight} is up to ${bytes} bytes raw, over the ${MAX_WHOLE_BYTES}-byte limit of one protocol frame`, 413);
}
