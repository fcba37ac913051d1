// The scheduler's delivery rules as pure functions: which answers are taken, when a task has run out of attempts, how many stripes a job gets.
import type { DiscardReason } from "./_events";
import { haloFor } from "../../../imaging/stripes";
import { DEFAULT_MAX_FRAME_BYTES, MAX_WHOLE_BYTES, OP_DEFINITIONS, wholeTaskBytes, type CheckedOp, type ImageOp, type JobInput } from "../../../protocol";
import type { Task } from "./_tasks";

/** Refusals after which a task fails anyway, so a fleet that only refuses cannot loop forever. */
const MAX_REFUSALS = 100;
/** Largest raw stripe payload (bytes) planned: 16 MiB, an eighth of the protocol's default frame maximum. */
const MAX_STRIPE_BYTES = 16 * 1024 * 1024;

/**
 * How long one attempt of `task` may take: `baseMs` (`--task-timeout`) per stripe-sized unit
 * of work. A stripe is one unit; a whole file counts as many as the stripes of at most
 * MAX_STRIPE_BYTES its RGB pixels would make (an 8K photo: 6), since one worker decodes it,
 * runs the op on all of it and sends all of it back.
 */
export function attemptTimeoutMs(task: Task, baseMs: number): number {
  if (task.job.input !== "file") return baseMs;
  return baseMs * Math.max(1, Math.ceil((task.job.width * task.job.height * 3) / MAX_STRIPE_BYTES));
}

/**
 * Why an answer for attempt `attempt` of `task` is not taken, or null to take it: the job is
 * over, the task is done already, or the attempt is not the current one held by the worker
 * that answers (given up on a timeout, or older); `not-held` when no running job has the task.
 */
export function toDiscardReason(task: Task | undefined, attempt: number, heldByAnswerer: boolean): DiscardReason | null {
  if (!task) return "not-held";
  if (task.job.state === "done" || task.job.state === "failed") return "job-over";
  if (task.done) return "duplicate";
  return !heldByAnswerer || attempt !== task.attempt ? "stale-attempt" : null;
}

/** True once a task has spent `maxAttempts` real attempts (refusals not counted) or been refused MAX_REFUSALS times. */
export function hasRunOut(task: Task, maxAttempts: number): boolean {
  return task.attempt - task.refused >= maxAttempts || task.refused >= MAX_REFUSALS;
}

/** Bytes an assign frame holds besides its stripe's pixels (its JSON header), kept free under the frame maximum. */
const ASSIGN_HEADER_ROOM = 64 * 1024;

/**
 * Stripes for a job: one per unit of `credit` (the fleet's, for its op); 1 for a file or
 * classify job. By default more when a stripe would carry over MAX_STRIPE_BYTES (frames stay
 * far below the protocol's maximum, and a big image on a small fleet is pipelined: one stripe
 * travels while another is processed). With `exact` (`--split stripes`, the original
 * experiment's N stripes for N workers) more only where a stripe, halo rows included, would
 * not fit in one frame (DEFAULT_MAX_FRAME_BYTES): an 8K RGB image (99.5 MB) is 1 stripe for 1 worker.
 */
export function countStripes(job: CheckedOp & JobInput, credit: number, exact = false): number {
  if (!("image" in job)) return 1;
  const { width, height, channels, data } = job.image;
  let count = Math.max(1, credit);
  if (!exact) return Math.max(count, Math.ceil(data.length / MAX_STRIPE_BYTES));
  const rowBytes = width * channels;
  const halo = haloFor(job);
  while (count < height && (Math.ceil(height / count) + 2 * halo) * rowBytes > DEFAULT_MAX_FRAME_BYTES - ASSIGN_HEADER_ROOM) count += 1;
  return count;
}

/**
 * `bytes` made cheap to keep past its message: a payload that fills its buffer but for at
 * most 4 KiB (the frame's own prefix and header: a frame assembled in a buffer of its own,
 * agent/protocol/framing.ts) is kept as is; a view into a larger socket chunk is copied, so
 * it does not pin the chunk. Saves one copy of every large stripe, ~100 MB per 8K job.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.buffer.byteLength - bytes.byteLength <= 4096 ? bytes : bytes.slice();
}

/** How image jobs travel: `auto` as `chooseSplit` decides, or always `stripes` / always `file` where the op and frame size allow. */
export type SplitMode = "auto" | "stripes" | "file";

/** What `chooseSplit` weighs for one image job. */
export interface SplitCase {
  op: ImageOp;
  /** The image's size (pixels) and its encoded file's size (bytes). */
  width: number;
  height: number;
  fileBytes: number;
  /** Image jobs accepted and not yet settled, this one included. */
  unfinishedJobs: number;
  /** Workers offering the op. */
  workers: number;
  mode: SplitMode;
}

/**
 * How an image job travels: `stripes` (the manager decodes it and cuts raw stripes for
 * several workers) or `file` (its encoded file goes whole to one worker, which decodes it).
 * In `auto` mode striping pays only while the fleet would otherwise idle: with
 * `unfinishedJobs` at least `workers`, every worker already has a job of its own, and whole
 * files keep the manager's decode, the stripe copies and the join off the serial path
 * (Amdahl's law: the manager's decode sank the original project's speedup).
 * A non-stripeable op always goes as a file; a job whose file or raw output may not fit one
 * protocol frame always goes as stripes.
 */
export function chooseSplit(job: SplitCase): "stripes" | "file" {
  if (!OP_DEFINITIONS[job.op].stripeable) return "file";
  if (wholeTaskBytes(job.fileBytes, job.width, job.height) > MAX_WHOLE_BYTES) return "stripes";
  if (job.mode !== "auto") return job.mode;
  return job.unfinishedJobs < job.workers ? "stripes" : "file";
}
