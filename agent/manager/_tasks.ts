// Jobs cut into stripe tasks: planning, the assign a task becomes, checking a worker's result, joining the outputs.
import { FleetError } from "../errors";
import { checkParams, OPS, type RawImage } from "../imaging/ops";
import { cutStripe, haloFor, joinStripes, planStripes, type Stripe } from "../imaging/stripes";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { DEFAULT_MAX_FRAME_BYTES, type Assign, type Result } from "../protocol";
import { checkClassifyParams } from "../recognition/params";
import { Detections, type ClassifyParams } from "../wire";
import type { TaskTiming } from "./_events";

/** An image job: run `op` with `params` on raw pixels, cut into stripes. */
export interface ImageJob {
  op: string;
  params: Record<string, unknown>;
  image: RawImage;
  /** Names the job in events and task ids; default `job-N`. */
  id?: string;
}

/** A `classify` job: the uploaded file's encoded bytes go whole to one recognition worker. */
export interface ClassifyJob {
  op: "classify";
  params: ClassifyParams;
  encoded: Uint8Array;
  id?: string;
}

export type Job = ImageJob | ClassifyJob;

/** What a job settles with: raw pixels for an image job, the objects found for classify. */
export type JobOutput = RawImage | Detections;

/** One stripe of a job on its way through the fleet. */
export interface Task {
  id: string;
  job: JobState;
  stripe: Stripe;
  /** The stripe's raw rows, halo included (a view into the job's image). */
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

/** A submitted job until it settles. */
export interface JobState {
  id: string;
  op: string;
  params: Record<string, unknown>;
  /** The raw input of an image job; a 1x1 placeholder for classify (its payload is the encoded file). */
  image: RawImage;
  /** `stripes`: raw pixels cut with halos; `whole`: one task (a non-stripeable op, or classify with `encoded` true). */
  stripeable: boolean;
  encoded: boolean;
  tasks: Task[];
  outputs: { stripe: Stripe; data: Uint8Array; meta: Record<string, unknown> }[];
  startedAt: number;
  finished: boolean;
  resolve(output: JobOutput): void;
  reject(error: FleetError): void;
}

const checkDetections = TypeCompiler.Compile(Detections);
const NO_IMAGE: RawImage = { data: new Uint8Array(1), width: 1, height: 1, channels: 1 };

type RawShape = Omit<RawImage, "data">;

/**
 * Checks a job and cuts it into `count` stripe tasks (one when the op is not stripeable).
 * @throws FleetError UNKNOWN_OP, BAD_PARAMS (422) as `checkParams`; BAD_IMAGE (422) for pixels that do not match their size.
 */
export function planJob(job: Job, id: string, count: number, settle: Pick<JobState, "resolve" | "reject">): JobState {
  if ("encoded" in job) return planClassify(job, id, settle);
  const { op, params } = checkParams(job.op, job.params);
  const { data, width, height, channels } = job.image;
  if (![1, 2, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} is not 1..4 channels of positive integer size`, 422);
  if (data.length !== width * height * channels)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`, 422);
  const stripeable = OPS[op].stripeable;
  checkJobFits(job);
  const stripes = stripeable ? planStripes(height, count, haloFor(op, params)) : planStripes(height, 1, 0);
  const state: JobState = { id, op, params, image: job.image, stripeable, encoded: false, tasks: [], outputs: [], startedAt: performance.now(), finished: false, ...settle };
  state.tasks = stripes.map((stripe) => toTask(state, stripe, cutStripe(data, width, channels, stripe)));
  return state;
}

/** A classify job as one task carrying the encoded file. @throws FleetError BAD_PARAMS (422) naming each bad param, BAD_IMAGE (422) for an empty file. */
function planClassify(job: ClassifyJob, id: string, settle: Pick<JobState, "resolve" | "reject">): JobState {
  checkClassifyParams(job.params);
  if (job.encoded.length === 0) throw new FleetError("BAD_IMAGE", "classify: the image file is empty", 422);
  const state: JobState = { id, op: "classify", params: job.params, image: NO_IMAGE, stripeable: false, encoded: true, tasks: [], outputs: [], startedAt: performance.now(), finished: false, ...settle };
  state.tasks = [toTask(state, planStripes(1, 1, 0)[0]!, job.encoded)];
  return state;
}

function toTask(job: JobState, stripe: Stripe, payload: Uint8Array): Task {
  return { id: `${job.id}/s${stripe.index}`, job, stripe, payload, attempt: 0, refused: 0, workerId: null, lastWorkerId: null, sentAt: 0, takenAt: 0, timer: undefined, done: false };
}

/** Rows a task's payload holds, halo included. */
export function rowsOf(task: Task): number {
  return task.stripe.haloTop + task.stripe.rows + task.stripe.haloBottom;
}

/** The assign message of the task's current attempt: op params plus `image: {width, height, channels}` of a raw payload. */
export function toAssign(task: Task): Assign {
  const { op, params, image, encoded } = task.job;
  if (encoded) return { type: "assign", taskId: task.id, attempt: task.attempt, op: op as Assign["op"], params, payload: task.payload };
  const shape = { width: image.width, height: rowsOf(task), channels: image.channels };
  return { type: "assign", taskId: task.id, attempt: task.attempt, op: op as Assign["op"], params: { ...params, image: shape }, payload: task.payload };
}

/** The problem with a result for `task`, or null when its `meta` and payload fit (same width and rows unless the op is not stripeable). */
export function checkResult(task: Task, result: Result): string | null {
  if (task.job.encoded) {
    const { objects, top5 } = result.meta;
    return checkDetections.Check({ objects, top5 }) ? null : `meta is not {objects: [{label, score, box}], top5: [{label, score}]}: ${[...checkDetections.Errors({ objects, top5 })][0]?.message}`;
  }
  const { width, height, channels } = result.meta as Partial<RawShape>;
  const sizes = [width, height, channels];
  if (!sizes.every((value) => Number.isInteger(value) && (value as number) >= 1) || (channels as number) > 4)
    return `meta ${JSON.stringify(result.meta)} is not {width, height, channels} of a raw image`;
  const expected = width! * height! * channels!;
  if (result.payload.length !== expected) return `payload has ${result.payload.length} bytes, meta says ${width}x${height}x${channels} = ${expected}`;
  if (task.job.stripeable && (width !== task.job.image.width || height !== rowsOf(task)))
    return `output is ${width}x${height}, the stripe is ${task.job.image.width}x${rowsOf(task)}`;
  return null;
}

/**
 * The job's output image from its stripe outputs (copied out of their frames by the caller).
 * @throws FleetError BAD_STRIPES (422) when the outputs disagree on channels or do not join.
 */
export function joinOutputs(job: JobState): JobOutput {
  if (job.encoded) {
    const { objects, top5 } = job.outputs[0]!.meta as Detections;
    return { objects, top5 };
  }
  const first = toShape(job.outputs[0]!.meta);
  if (!job.stripeable) return { data: job.outputs[0]!.data, ...first };
  const channels = new Set(job.outputs.map((output) => toShape(output.meta).channels));
  if (channels.size > 1) throw new FleetError("BAD_STRIPES", `stripe outputs disagree on channels: ${[...channels].join(", ")}`, 422);
  const data = joinStripes(job.outputs.map((output) => ({ ...output, meta: toShape(output.meta) })), job.image.width, first.channels, job.image.height);
  return { data, width: job.image.width, height: job.image.height, channels: first.channels };
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
const MAX_WHOLE_BYTES = DEFAULT_MAX_FRAME_BYTES - 1024 * 1024;

/**
 * Checks that an image job whose op is sent whole (resize) fits one frame both ways: the
 * input, and the output of `width` x `height` (one of them may be missing: it keeps the
 * aspect ratio). Stripeable ops and classify always fit.
 * @throws FleetError TOO_LARGE_FOR_OP (413) naming the sizes.
 */
export function checkJobFits(job: Job): void {
  if ("encoded" in job || OPS[job.op as keyof typeof OPS]?.stripeable !== false) return;
  const { image } = job;
  const { width, height } = job.params as { width?: number; height?: number };
  const outWidth = width ?? Math.round((image.width * height!) / image.height);
  const outHeight = height ?? Math.round((image.height * width!) / image.width);
  const inBytes = image.data.length;
  const outBytes = outWidth * outHeight * image.channels;
  if (Math.max(inBytes, outBytes) > MAX_WHOLE_BYTES)
    throw new FleetError("TOO_LARGE_FOR_OP", `resize goes to one worker whole: ${image.width}x${image.height} -> ${outWidth}x${outHeight} is ${Math.max(inBytes, outBytes)} bytes raw, over the ${MAX_WHOLE_BYTES}-byte limit of one protocol frame`, 413);
}
