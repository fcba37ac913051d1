// The image ops of grayscale workers on raw pixels: per-op parameter schemas, halo rules and the sharp pipeline.
import { Type as t, type Static, type TObject } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { Sharp } from "sharp";
import { FleetError } from "../errors";
import sharp from "../native/sharp";

/**
 * Raw pixels: row-major, `width * height * channels` bytes, one byte per channel;
 * channels 1 (grey), 2 (grey + alpha), 3 (sRGB) or 4 (sRGB + alpha).
 */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** What `OPS` knows of one op. */
export interface OpSpec<S extends TObject = TObject> {
  /** The op's parameters, strict (unknown keys rejected) and bounded. */
  schema: S;
  /** Rows of context needed above and below a stripe for its owned rows to equal whole-image output. */
  halo: (params: Static<S>) => number;
  /** False when the op cannot run on stripes at all: the manager sends the whole image to one worker. */
  stripeable: boolean;
  /** Output channel count for an input channel count (measured from sharp 0.35, see `toColour` and `toGrey`). */
  channels: (input: number) => number;
  /** Adds the op to a sharp pipeline reading the raw input. */
  _apply: (image: Sharp, params: Static<S>) => Sharp;
}

const strict = { additionalProperties: false } as const;
const Factor = t.Number({ minimum: 0, maximum: 10 });
const Size = t.Integer({ minimum: 1, maximum: 16384 });
/** sharp writes raw output as sRGB unless it ends grey: grey input comes out as RGB, alpha kept. */
const toColour = (input: number) => (input === 2 || input === 4 ? 4 : 3);
/** sharp writes only band 0 of a greyscale image as raw: one channel, alpha dropped. */
const toGrey = () => 1;

/**
 * Halo of a Gaussian of `sigma`: ceil(3 sigma) + 1 rows. A Gaussian's mass beyond 3 sigma
 * is 0.27% (the 68-95-99.7 rule), and libvips cuts its masks shorter still: `gaussblur`
 * (sharp's `blur`, min_ampl 0.2) at sigma * sqrt(2 ln 5) = 1.79 sigma and `sharpen`
 * (min_ampl 0.1) at sigma * sqrt(2 ln 10) = 2.15 sigma, so this rule covers every tap
 * both read, and the +1 covers the rounding of small sigmas.
 */
function gaussianHalo({ sigma }: { sigma: number }): number {
  return Math.ceil(3 * sigma) + 1;
}

/**
 * The sepia matrix of Microsoft's "How to: Use a Color Matrix to Transform a Single Color"
 * (System.Drawing ColorMatrix docs), rows R', G', B' over columns R, G, B.
 */
const SEPIA = [
  [0.393, 0.769, 0.189],
  [0.349, 0.686, 0.168],
  [0.272, 0.534, 0.131],
] as const;

/** The 8-neighbour Laplacian (Gonzalez & Woods, Digital Image Processing, 3.6.2): sums to 0, radius 1. */
const LAPLACIAN = [-1, -1, -1, -1, 8, -1, -1, -1, -1];

function defineOp<S extends TObject>(spec: OpSpec<S>): OpSpec<S> {
  return spec;
}

/**
 * Every image op by name. Halo rules: 0 rows for per-pixel ops (grayscale, invert, sepia,
 * brightness, contrast); `gaussianHalo` for blur and sharpen; 1 row for edges (3x3 kernel).
 * resize is not stripeable: output row boundaries fall at fractional input rows, and
 * matching sharp's own sampling grid (its shrink-on-load and reduce steps) per stripe is
 * not done here; the manager sends it whole to one worker.
 */
export const OPS = {
  /** Luminance (libvips sRGB -> B_W); one channel, alpha dropped. */
  grayscale: defineOp({
    schema: t.Object({}, strict),
    halo: () => 0,
    stripeable: true,
    channels: toGrey,
    _apply: (image) => image.greyscale(),
  }),
  /** 255 - value on colour channels; alpha untouched. */
  invert: defineOp({
    schema: t.Object({}, strict),
    halo: () => 0,
    stripeable: true,
    channels: toColour,
    _apply: (image) => image.negate({ alpha: false }),
  }),
  /** `SEPIA` applied by recomb; alpha kept. */
  sepia: defineOp({
    schema: t.Object({}, strict),
    halo: () => 0,
    stripeable: true,
    channels: toColour,
    _apply: (image) => image.recomb(SEPIA.map((row) => [...row]) as [[number, number, number], [number, number, number], [number, number, number]]),
  }),
  /** value * factor, clamped to 0..255 (0 black, 1 unchanged); alpha untouched. */
  brightness: defineOp({
    schema: t.Object({ factor: Factor }, strict),
    halo: () => 0,
    stripeable: true,
    channels: toColour,
    _apply: (image, { factor }) => image.linear(factor, 0),
  }),
  /** (value - 128) * factor + 128, clamped to 0..255 (0 flat grey, 1 unchanged); alpha untouched. */
  contrast: defineOp({
    schema: t.Object({ factor: Factor }, strict),
    halo: () => 0,
    stripeable: true,
    channels: toColour,
    _apply: (image, { factor }) => image.linear(factor, 128 * (1 - factor)),
  }),
  /** Gaussian blur of standard deviation `sigma` pixels (libvips gaussblur, edges copied). */
  blur: defineOp({
    schema: t.Object({ sigma: t.Number({ minimum: 0.3, maximum: 50 }) }, strict),
    halo: gaussianHalo,
    stripeable: true,
    channels: toColour,
    _apply: (image, { sigma }) => image.blur(sigma),
  }),
  /** Unsharp mask on L* with a Gaussian of `sigma` pixels (libvips sharpen; sharp caps sigma at 10). */
  sharpen: defineOp({
    schema: t.Object({ sigma: t.Number({ minimum: 0.3, maximum: 10 }) }, strict),
    halo: gaussianHalo,
    stripeable: true,
    channels: toColour,
    _apply: (image, { sigma }) => image.sharpen({ sigma }),
  }),
  /**
   * `LAPLACIAN` on the luminance, one grey channel out (alpha dropped). Negative responses
   * clip to 0, so each edge shows on its brighter side.
   */
  edges: defineOp({
    schema: t.Object({}, strict),
    halo: () => 1,
    stripeable: true,
    channels: toGrey,
    _apply: (image) => image.greyscale().convolve({ width: 3, height: 3, kernel: LAPLACIAN }).removeAlpha(),
  }),
  /**
   * Lanczos3 resize to `width` x `height` pixels; with one of them given the other keeps
   * the aspect ratio, with both the image is stretched to exactly that size.
   */
  resize: defineOp({
    schema: t.Object({ width: t.Optional(Size), height: t.Optional(Size) }, strict),
    halo: () => 0,
    stripeable: false,
    channels: toColour,
    _apply: (image, { width, height }) => image.resize({ width, height, fit: width && height ? "fill" : "cover" }),
  }),
} as const;

/** The name of an image op. */
export type ImageOp = keyof typeof OPS;
/** The parameters of `op`, as its schema defines them. */
export type OpParams<K extends ImageOp> = Static<(typeof OPS)[K]["schema"]>;

const checkers = Object.fromEntries(Object.entries(OPS).map(([op, spec]) => [op, TypeCompiler.Compile(spec.schema)]));

/**
 * Checks `params` against `op`'s schema and returns them typed; every problem is named in
 * one message (`blur: /sigma: Expected number to be less or equal to 50`).
 * @throws FleetError UNKNOWN_OP (422) for an op not in `OPS`; BAD_PARAMS (422) for bad params.
 */
export function checkParams(op: string, params: unknown): { op: ImageOp; params: OpParams<ImageOp> } {
  if (!Object.hasOwn(OPS, op)) throw new FleetError("UNKNOWN_OP", `unknown image op "${op}"; known: ${Object.keys(OPS).join(", ")}`, 422);
  const checker = checkers[op]!;
  if (!checker.Check(params)) {
    const problems = [...checker.Errors(params)].map((error) => `${error.path || "/"}: ${error.message}`);
    throw new FleetError("BAD_PARAMS", `${op}: ${problems.join("; ")}`, 422);
  }
  const checked = params as OpParams<ImageOp>;
  if (op === "resize" && !("width" in checked) && !("height" in checked))
    throw new FleetError("BAD_PARAMS", "resize: /width, /height: give at least one of them", 422);
  return { op: op as ImageOp, params: checked };
}

/**
 * Runs `op` with `params` on raw pixels and returns the raw output: same dimensions but for
 * resize, `OPS[op].channels(input.channels)` channels.
 * @throws FleetError UNKNOWN_OP or BAD_PARAMS (422) as `checkParams`; BAD_IMAGE (422) when
 *   `data` does not hold `width * height * channels` bytes; sharp's errors pass through.
 */
export async function applyOp(op: string, params: unknown, input: RawImage): Promise<RawImage> {
  const checked = checkParams(op, params);
  const { data, width, height, channels } = input;
  if (![1, 2, 3, 4].includes(channels) || !Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} is not 1..4 channels of positive integer size`, 422);
  if (data.length !== width * height * channels)
    throw new FleetError("BAD_IMAGE", `raw image ${width}x${height}x${channels} needs ${width * height * channels} bytes, got ${data.length}`, 422);
  const spec = OPS[checked.op] as OpSpec;
  const source = sharp(data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  const { data: output, info } = await spec._apply(source, checked.params).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(output.buffer, output.byteOffset, output.length), width: info.width, height: info.height, channels: info.channels };
}
