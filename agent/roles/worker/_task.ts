// The grayscale worker's reading of an assign (raw pixels or a whole image file) and the running of it.
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { FleetError } from "../../errors";
import { decodeToRaw } from "../../imaging/decode";
import { applyOp, type RawImage } from "../../imaging/ops";
import { checkParams, IMAGE_OPS, ImageShape, type Assign, type ImageOp } from "../../protocol";

const checkShape = TypeCompiler.Compile(ImageShape);

/** One task read from an assign: the op, its own params (checked), and the input: raw pixels, or an encoded image file to decode first. */
export interface ImageTask {
  op: ImageOp;
  params: Record<string, unknown>;
  image: RawImage | { file: Uint8Array };
}

/**
 * Reads an assign under the task contract's convention (agent/protocol/tasks.ts `ImageParam`):
 * - `params.image` is `{ width, height, channels }` (channels 1..4) when `payload` is raw
 *   pixels (row-major, one byte per channel, no header; a stripe with its halo rows is just a
 *   shorter image), exactly `width * height * channels` bytes;
 * - `params.image` is `"file"` when `payload` is a whole encoded image file (JPEG, PNG,
 *   WebP...), decoded here as the manager would (agent/imaging/decode.ts);
 * - every other key of `params` is the op's own parameters, checked against its schema
 *   (`checkParams`: a bad one fails with BAD_PARAMS).
 * The answer is a result whose `meta` is `{ width, height, channels }` of the output and
 * whose payload is the raw output (for a stripe: its halo rows included, for the manager
 * to cut off).
 * @throws FleetError BAD_TASK (422) when the op is not an image op, `params.image` is
 *   missing or malformed, or the payload's size does not match it; BAD_PARAMS (422).
 */
export function readTask(assign: Assign): ImageTask {
  const op = assign.op;
  if (op === "classify" || !IMAGE_OPS.includes(op)) throw new FleetError("BAD_TASK", `op "${assign.op}" is not an image op; this worker runs ${IMAGE_OPS.join(", ")}`, 422);
  const { image, ...given } = assign.params;
  if (image === "file") return { op, params: checkParams(op, given).params, image: { file: assign.payload } };
  if (!checkShape.Check(image)) {
    const problems = [...checkShape.Errors(image)].map((error) => `params.image${error.path.replaceAll("/", ".")}: ${error.message}`);
    throw new FleetError("BAD_TASK", `${problems.join("; ")} (params.image must be { width, height, channels } of a raw payload, or "file")`, 422);
  }
  const { width, height, channels } = image;
  const expected = width * height * channels;
  if (assign.payload.length !== expected)
    throw new FleetError("BAD_TASK", `payload has ${assign.payload.length} bytes; raw ${width}x${height}x${channels} needs ${expected}`, 422);
  return { op, params: checkParams(op, given).params, image: { data: assign.payload, width, height, channels } };
}

/**
 * Runs a task's op on its image (a file is decoded first: its decode counts in the task's time).
 * @throws FleetError NOT_AN_IMAGE (422) or TOO_MANY_PIXELS (413) for a file that does not
 *   decode; as `applyOp` (BAD_IMAGE); any other failure as OP_FAILED (500, cause kept).
 */
export async function runTask(task: ImageTask): Promise<RawImage> {
  try {
    const image = "file" in task.image ? await decodeToRaw(task.image.file, `task ${task.op} file`) : task.image;
    return await applyOp(task.op, task.params, image);
  } catch (error) {
    if (error instanceof FleetError) throw error;
    throw new FleetError("OP_FAILED", `${task.op}: ${(error as Error)?.message ?? error}`, 500, { cause: error });
  }
}

/** A failure as the `code` and `message` of an error message. */
export function toTaskFailure(error: unknown): { code: string; message: string } {
  if (error instanceof FleetError && /^[A-Z][A-Z0-9_]*$/.test(error.code)) return { code: error.code, message: error.message.slice(0, 4096) };
  return { code: "OP_FAILED", message: String((error as Error)?.message ?? error).slice(0, 4096) };
}
