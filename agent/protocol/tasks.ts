// The task contract: every op with its params schema, the `params.image` convention of an assign, the result meta, the failure codes, and the checked `Job` the scheduler trusts.
import { Type as t, type Static, type TObject } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { FleetError } from "../errors";
import type { ImageSize } from "../imaging/decode";
import type { RawImage } from "../imaging/ops";
import { ClassifyParams, Detections, type OpsView } from "../wire";
import { DEFAULT_MAX_FRAME_BYTES } from "./framing";

/** What the contract knows of one op: who runs it, its params, whether it runs on stripes. */
export interface OpDefinition<S extends TObject = TObject> {
  /** `image` ops run on grayscale workers (raw pixels or a whole file), `classify` on recognition workers (the file). */
  worker: "image" | "recognition";
  /** The op's params, strict (unknown keys refused) and bounded. */
  params: S;
  /** False when the op cannot run on stripes: the manager sends the whole image to one worker. */
  stripeable: boolean;
}

const strict = { additionalProperties: false } as const;
const Factor = t.Number({ minimum: 0, maximum: 10 });
const Side = t.Integer({ minimum: 1, maximum: 16384 });
const image = <S extends TObject>(params: S, stripeable = true): OpDefinition<S> => ({ worker: "image", params, stripeable });

/**
 * Every op by name; the op list, the hello's op schema, the upload check and the image
 * pipelines (agent/imaging/ops.ts) all derive from it. resize is not stripeable: output row
 * boundaries fall at fractional input rows.
 */
export const OP_DEFINITIONS = {
  grayscale: image(t.Object({}, strict)),
  invert: image(t.Object({}, strict)),
  sepia: image(t.Object({}, strict)),
  /** `factor` 0 black, 1 unchanged. */
  brightness: image(t.Object({ factor: Factor }, strict)),
  /** `factor` 0 flat grey, 1 unchanged. */
  contrast: image(t.Object({ factor: Factor }, strict)),
  blur: image(t.Object({ sigma: t.Number({ minimum: 0.3, maximum: 50 }) }, strict)),
  /** sharp caps the sharpen sigma at 10. */
  sharpen: image(t.Object({ sigma: t.Number({ minimum: 0.3, maximum: 10 }) }, strict)),
  edges: image(t.Object({}, strict)),
  /** At least one side; the missing one keeps the aspect ratio. */
  resize: image(t.Object({ width: t.Optional(Side), height: t.Optional(Side) }, strict), false),
  classify: { worker: "recognition", params: ClassifyParams, stripeable: false } satisfies OpDefinition<typeof ClassifyParams>,
} as const;

/** The name of an op. */
export type Op = keyof typeof OP_DEFINITIONS;
/** The name of an image op (grayscale workers). */
export type ImageOp = Exclude<Op, "classify">;
/** The params of `op`, as its schema defines them. */
export type OpParams<K extends Op> = Static<(typeof OP_DEFINITIONS)[K]["params"]>;

/** Every op, in the order of OP_DEFINITIONS. */
export const OPS = Object.keys(OP_DEFINITIONS) as Op[];
/** The image ops: what a grayscale worker offers in its hello. */
export const IMAGE_OPS = OPS.filter((op): op is ImageOp => OP_DEFINITIONS[op].worker === "image");

/** The ops as `GET /ops` answers them: each op's worker kind and its params' types and bounds, read from OP_DEFINITIONS. */
export function describeOps(): OpsView {
  return {
    ops: OPS.map((name) => {
      const { worker, params } = OP_DEFINITIONS[name];
      const properties = (params as TObject).properties as unknown as Record<string, { type: string; minimum?: number; maximum?: number }>;
      const required = new Set((params as TObject).required ?? []);
      const views = Object.entries(properties).map(([key, { type, minimum, maximum }]) => [key, { type, minimum, maximum, optional: !required.has(key) }]);
      return { name, worker, params: Object.fromEntries(views) };
    }),
  };
}

/** True when `op` names an op of the contract. */
export function isOp(op: string): op is Op {
  return Object.hasOwn(OP_DEFINITIONS, op);
}

const paramChecks = Object.fromEntries(OPS.map((op) => [op, TypeCompiler.Compile(OP_DEFINITIONS[op].params as TObject)])) as Record<Op, TypeCheck<TObject>>;
/** Appended to a classify BAD_PARAMS message. */
const CLASSIFY_HINT = " (params: minScore 0..1, maxObjects 1..100, nothing else)";

/** An op with params checked against its schema. */
export type CheckedOp = { [K in Op]: { op: K; params: OpParams<K> } }[Op];

/**
 * The one params check: `params` against `op`'s schema, every problem named in one message
 * (`blur: /sigma: Expected number to be less or equal to 50`).
 * @throws FleetError UNKNOWN_OP (422) for an op not in OP_DEFINITIONS; BAD_PARAMS (422).
 */
export function checkParams(op: string, params: unknown): CheckedOp {
  if (!isOp(op)) throw new FleetError("UNKNOWN_OP", `unknown op "${op}"; known: ${OPS.join(", ")}`, 422);
  const check = paramChecks[op];
  if (!check.Check(params)) {
    const problems = [...check.Errors(params)].map((error) => `${error.path || "/"}: ${error.message}`);
    throw new FleetError("BAD_PARAMS", `${op}: ${problems.join("; ")}${op === "classify" ? CLASSIFY_HINT : ""}`, 422);
  }
  if (op === "resize" && !("width" in params) && !("height" in params))
    throw new FleetError("BAD_PARAMS", "resize: /width, /height: give at least one of them", 422);
  return { op, params } as CheckedOp;
}

/** `params.image` of an image op's assign when the payload is raw pixels: row-major, one byte per channel, no header. */
export const ImageShape = t.Object(
  {
    width: t.Integer({ minimum: 1, maximum: 65535 }),
    height: t.Integer({ minimum: 1, maximum: 65535 }),
    channels: t.Integer({ minimum: 1, maximum: 4 }),
  },
  strict,
);
/**
 * The assign convention: an image op's `params.image` is `{width, height, channels}` of a raw
 * payload (a stripe with its halo rows is just a shorter image), or `"file"` when the payload
 * is the uploaded file as encoded; every other key is the op's own params. A classify assign
 * carries the file always and its params only.
 */
export const ImageParam = t.Union([ImageShape, t.Literal("file")]);
export type ImageParam = Static<typeof ImageParam>;

/** The meta of an image op's result: `{width, height, channels}` of the raw output payload (the session adds `wait_ms`, `ms`). */
export const RawResultMeta = ImageShape;
/** The meta of a classify result (empty payload): the objects found, and the upright image's size. */
export const ClassifyResultMeta = t.Composite([Detections, t.Object({ width: t.Integer({ minimum: 1 }), height: t.Integer({ minimum: 1 }) })]);
/** Added to every result's meta by the worker session: ms queued behind the credit, ms running the task. */
export const ResultTiming = t.Object({ wait_ms: t.Number({ minimum: 0 }), ms: t.Number({ minimum: 0 }) });

/** Error codes by which a worker refuses a task without trying it: sent again without spending an attempt. */
export const REFUSALS: ReadonlySet<string> = new Set(["BUSY", "STOPPING"]);
/**
 * Error codes by which a worker says the input itself is bad (agent/imaging/decode.ts,
 * agent/recognition/preprocess.ts), with the HTTP status the job fails with: the same file
 * fails the same way on every worker, so its job fails at once instead of spending its attempts.
 * Any other code (and a timeout, a malformed result, a disconnect) is retried until --max-attempts.
 */
export const INPUT_FAULTS: ReadonlyMap<string, number> = new Map([
  ["NOT_AN_IMAGE", 422],
  ["BAD_IMAGE", 422],
  ["TOO_MANY_PIXELS", 413],
]);

/**
 * The one raw-image check: 1..4 channels of positive integer size, `width * height * channels` bytes.
 * @throws FleetError BAD_IMAGE (422).
 */
export function checkRawImage({ data, width, height, channels }: RawImage): void {
  if (![1, 2, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} is not 1..4 channels of positive integer size`, 422);
  if (data.length !== width * height * channels)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`, 422);
}

/** Largest raw payload (bytes) of a task sent whole or answered whole: the protocol's frame maximum less 1 MiB for the frame's header. */
export const MAX_WHOLE_BYTES = DEFAULT_MAX_FRAME_BYTES - 1024 * 1024;

/**
 * The most bytes one frame of a task sent whole carries: its input (`inputBytes`, raw or
 * encoded) or its raw output of `outWidth` x `outHeight` pixels at 4 channels (no op makes
 * more), whichever is larger. Past MAX_WHOLE_BYTES it cannot go whole.
 */
export function wholeTaskBytes(inputBytes: number, outWidth: number, outHeight: number): number {
  return Math.max(inputBytes, outWidth * outHeight * 4);
}

/**
 * The output size (pixels) of `op` on an image of `width` x `height`: the same but for
 * resize, whose missing side keeps the aspect ratio (rounded, at least 1: sharp's result on
 * 30 sizes tried, but its rounding is its own, so results are checked on the given sides only).
 */
function outputSize(job: CheckedOp, width: number, height: number): [number, number] {
  if (job.op !== "resize") return [width, height];
  const target = job.params;
  return [target.width ?? Math.max(1, Math.round((width * target.height!) / height)), target.height ?? Math.max(1, Math.round((height * target.width!) / width))];
}

/** The encodings `GET /jobs/:id/result` answers an image job in. */
export type OutputFormat = "png" | "jpeg" | "webp";

/** What a job carries: raw pixels (cut into stripes), an encoded image file with its header size (sent whole), or the file to classify. */
export type JobInput = { image: RawImage } | { encoded: Uint8Array; size: ImageSize } | { encoded: Uint8Array };

/** Where a job came from, for its record: the uploaded file's name (prefixed to its failure) and size (counted in throughput). */
export interface JobSource {
  name: string;
  bytes: number;
}

declare const checked: unique symbol;
/** A job checked by `checkJob`: the scheduler plans it without checking again. */
export type Job = CheckedOp &
  JobInput & {
    /** Names the job in events, task ids and `GET /jobs/:id`; default `job-N`. */
    id?: string;
    format?: OutputFormat;
    source?: JobSource;
    readonly [checked]: true;
  };

/** A job to check: its op and params as given (or already checked), its input, and its record's details. */
export type JobDraft = { op: string; params: unknown; id?: string; format?: OutputFormat; source?: JobSource } & JobInput;

/**
 * The one job check, at intake: the params (unless `draft` is a CheckedOp from `checkParams`
 * already: pass `paramsChecked`), the input (raw pixels that match their size; a file not
 * empty; classify takes a file), and that a job sent whole fits one frame both ways.
 * @throws FleetError UNKNOWN_OP, BAD_PARAMS (422) as `checkParams`; BAD_IMAGE (422);
 *   TOO_LARGE_FOR_OP (413) naming the sizes.
 */
export function checkJob(draft: JobDraft, paramsChecked = false): Job {
  const op = paramsChecked ? (draft as CheckedOp) : checkParams(draft.op, draft.params);
  if ("image" in draft) {
    if (op.op === "classify") throw new FleetError("BAD_IMAGE", "classify takes the image file, not raw pixels", 422);
    checkRawImage(draft.image);
    if (!OP_DEFINITIONS[op.op].stripeable) checkFits(op, draft.image.width, draft.image.height, draft.image.data.length);
  } else {
    if (draft.encoded.length === 0) throw new FleetError("BAD_IMAGE", `${op.op}: the image file is empty`, 422);
    if (op.op !== "classify") {
      if (!("size" in draft)) throw new FleetError("BAD_IMAGE", `${op.op}: an image file needs its size from the header`, 422);
      checkFits(op, draft.size.width, draft.size.height, draft.encoded.length);
    }
  }
  return { ...draft, ...op } as Job;
}

/** @throws FleetError TOO_LARGE_FOR_OP (413) when a job sent whole cannot fit one frame, its input or its raw output. */
function checkFits(op: CheckedOp, width: number, height: number, inputBytes: number): void {
  const [outWidth, outHeight] = outputSize(op, width, height);
  const bytes = wholeTaskBytes(inputBytes, outWidth, outHeight);
  if (bytes > MAX_WHOLE_BYTES)
    throw new FleetError("TOO_LARGE_FOR_OP", `${op.op} goes to one worker whole: ${width}x${height} -> ${outWidth}x${outHeight} is up to ${bytes} bytes raw, over the ${MAX_WHOLE_BYTES}-byte limit of one protocol frame`, 413);
}
