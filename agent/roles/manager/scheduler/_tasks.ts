// Jobs as tasks: stripes of raw pixels or one whole file; planning, the assign a task becomes, checking a worker's result, joining the outputs.
import { FleetError } from "../../../errors";
import type { RawImage } from "../../../imaging/ops";
import { cutStripe, haloFor, joinStripes, planStripes, type Stripe } from "../../../imaging/stripes";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { OP_DEFINITIONS, RawResultMeta, type Assign, type Job, type JobSource, type OutputFormat, type Result } from "../../../protocol";
import { Detections, type JobStateName } from "../../../wire";
import type { TaskTiming } from "./_events";

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
export type InputKind = "raw" | "file" | "classify";

/**
 * The record of one job, from `submit` until evicted (jobs.ts): its plan and tasks while it
 * runs, then its state, progress, output or error. The scheduler alone writes it; the HTTP
 * side and `/events` read it.
 */
export interface JobState {
  id: string;
  op: string;
  params: Record<string, unknown>;
  input: InputKind;
  /** The input's size in pixels (1x1 for classify); `channels` of raw input, 0 for a file. */
  width: number;
  height: number;
  channels: number;
  /** True when the outputs are stripes to join: raw input of a stripeable op. */
  striped: boolean;
  tasks: Task[];
  outputs: { stripe: Stripe; data: Uint8Array; meta: Record<string, unknown> }[];
  startedAt: number;
  state: JobStateName;
  /** The share of its tasks done, 1 once done. */
  progress: number;
  /** The output once done: raw pixels, or the objects found by classify. */
  output?: JobOutput;
  /** The failure once failed (prefixed with the source's name). */
  error?: FleetError;
  /** The encoding `GET /jobs/:id/result` answers an image job in. */
  format: OutputFormat;
  source?: JobSource;
  resolve(output: JobOutput): void;
  reject(error: FleetError): void;
}

/** What the manager takes of a classify result's meta (ClassifyResultMeta): the detections; the image size is the worker's to tell. */
const checkDetections = TypeCompiler.Compile(Detections);
const checkRawMeta = TypeCompiler.Compile(RawResultMeta);

type RawShape = Omit<RawImage, "data">;
type Settle = Pick<JobState, "resolve" | "reject">;

/** True once the job is done or failed. */
export function isSettled(job: JobState): boolean {
  return job.state === "done" || job.state === "failed";
}

/**
 * Plans the tasks of a checked job (`checkJob`, agent/protocol/tasks.ts: nothing is checked
 * again here): `count` stripes of raw pixels (one when the op is not stripeable), one task for
 * a file or classify job.
 */
export function planJob(job: Job, id: string, count: number, settle: Settle): JobState {
  const { op, params } = job;
  const details = { format: job.format ?? "png", source: job.source };
  if (!("image" in job)) {
    const input = op === "classify" ? "classify" : "file";
    const shape = "size" in job ? { ...job.size, channels: 0 } : { width: 1, height: 1, channels: 0 };
    const state = newState(id, op, params, input, shape, false, settle, details);
    state.tasks = [toTask(state, planStripes(1, 1, 0)[0]!, job.encoded)];
    return state;
  }
  const { data, width, height, channels } = job.image;
  const striped = OP_DEFINITIONS[op].stripeable;
  const stripes = striped ? planStripes(height, count, haloFor(job)) : planStripes(height, 1, 0);
  const state = newState(id, op, params, "raw", { width, height, channels }, striped, settle, details);
  state.tasks = stripes.map((stripe) => toTask(state, stripe, cutStripe(data, width, channels, stripe)));
  return state;
}

function newState(id: string, op: string, params: object, input: InputKind, shape: RawShape, striped: boolean, settle: Settle, details: Pick<JobState, "format" | "source">): JobState {
  return { id, op, params: params as Record<string, unknown>, input, ...shape, striped, tasks: [], outputs: [], startedAt: performance.now(), state: "queued", progress: 0, ...details, ...settle };
}

function toTask(job: JobState, stripe: Stripe, payload: Uint8Array): Task {
  return { id: `${job.id}/s${stripe.index}`, job, stripe, payload, attempt: 0, refused: 0, workerId: null, lastWorkerId: null, sentAt: 0, takenAt: 0, timer: undefined, done: false };
}

/** Rows a task's payload holds, halo included. */
export function rowsOf(task: Task): number {
  return task.stripe.haloTop + task.stripe.rows + task.stripe.haloBottom;
}

/**
 * The assign message of the task's current attempt, under the task contract's convention
 * (agent/protocol/tasks.ts `ImageParam`): op params plus `image`, which is
 * `{width, height, channels}` of a raw payload or `"file"` for an encoded image file;
 * classify params as they are.
 */
export function toAssign(task: Task): Assign {
  const { op, params, input, width, channels } = task.job;
  const image = input === "raw" ? { width, height: rowsOf(task), channels } : "file";
  return { type: "assign", taskId: task.id, attempt: task.attempt, op: op as Assign["op"], params: input === "classify" ? params : { ...params, image }, payload: task.payload };
}

/**
 * The problem with a result for `task`, or null when its `meta` and payload (`payloadBytes`
 * long: the payload's, or that of the object holding it) fit: a stripe's
 * width and rows, a whole file's output size (for resize the sides asked for), detections for classify.
 */
export function checkResult(task: Task, result: Result, payloadBytes = result.payload.length): string | null {
  const { job } = task;
  if (job.input === "classify") {
    const { objects, top5 } = result.meta;
    return checkDetections.Check({ objects, top5 }) ? null : `meta is not {objects: [{label, score, box}], top5: [{label, score}]}: ${[...checkDetections.Errors({ objects, top5 })][0]?.message}`;
  }
  const { width, height, channels } = result.meta as Partial<RawShape>;
  if (!checkRawMeta.Check({ width, height, channels })) return `meta ${JSON.stringify(result.meta)} is not {width, height, channels} of a raw image`;
  const expected = width! * height! * channels!;
  if (payloadBytes !== expected) return `payload has ${payloadBytes} bytes, meta says ${width}x${height}x${channels} = ${expected}`;
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

/** A settled job's record keeps its view and output, not its input: the tasks' payloads and the stripe outputs go. */
export function dropInputs(job: JobState): void {
  for (const task of job.tasks) task.payload = EMPTY;
  job.outputs = [];
}

const EMPTY = new Uint8Array(0);

/**
 * The `data` of an output that stays in the broker's Object Store instead of memory (a
 * single-task job's result is its output): whoever reads it asks the shared records.
 */
export const REMOTE_PIXELS = new Uint8Array(0);
