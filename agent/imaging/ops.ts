// The image ops of grayscale workers on raw pixels: halo rules, output channels and the sharp pipeline of each op of the task contract.
import type { Sharp } from "sharp";
import sharp from "../native/sharp";
import { checkRawImage, type ImageOp, type OpParams } from "../protocol/tasks";

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

/** How one image op of the task contract (agent/protocol/tasks.ts: its params, whether it is stripeable) runs on pixels. */
export interface PixelOp<K extends ImageOp = ImageOp> {
  /** Rows of context needed above and below a stripe for its owned rows to equal whole-image output. */
  halo: (params: OpParams<K>) => number;
  /** Output channel count for an input channel count (measured from sharp 0.35, see `toColour` and `toGrey`). */
  channels: (input: number) => number;
  /** Adds the op to a sharp pipeline reading the raw input. */
  _apply: (image: Sharp, params: OpParams<K>) => Sharp;
}

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


/**
 * Every image op of the contract by name. Halo rules: 0 rows for per-pixel ops (grayscale, invert, sepia,
 * brightness, contrast); `gaussianHalo` for blur and sharpen; 1 row for edges (3x3 kernel).
 * resize is not stripeable (OP_DEFINITIONS): output row boundaries fall at fractional input
 * rows, and matching sharp's own sampling grid (its shrink-on-load and reduce steps) per
 * stripe is not done here; the manager sends it whole to one worker.
 */
export const PIXEL_OPS: { [K in ImageOp]: PixelOp<K> } = {
  /** Luminance (libvips sRGB -> B_W); one channel, alpha dropped. */
  grayscale: {
    halo: () => 0,
    channels: toGrey,
    _apply: (image) => image.greyscale(),
  },
  /** 255 - value on colour channels; alpha untouched. */
  invert: {
    halo: () => 0,
    channels: toColour,
    _apply: (image) => image.negate({ alpha: false }),
  },
  /** `SEPIA` applied by recomb; alpha kept. */
  sepia: {
    halo: () => 0,
    channels: toColour,
    _apply: (image) => image.recomb(SEPIA.map((row) => [...row]) as [[number, number, number], [number, number, number], [number, number, number]]),
  },
  /** value * factor, clamped to 0..255 (0 black, 1 unchanged); alpha untouched. */
  brightness: {
    halo: () => 0,
    channels: toColour,
    _apply: (image, { factor }) => image.linear(factor, 0),
  },
  /** (value - 128) * factor + 128, clamped to 0..255 (0 flat grey, 1 unchanged); alpha untouched. */
  contrast: {
    halo: () => 0,
    channels: toColour,
    _apply: (image, { factor }) => image.linear(factor, 128 * (1 - factor)),
  },
  /** Gaussian blur of standard deviation `sigma` pixels (libvips gaussblur, edges copied). */
  blur: {
    halo: gaussianHalo,
    channels: toColour,
    _apply: (image, { sigma }) => image.blur(sigma),
  },
  /** Unsharp mask on L* with a Gaussian of `sigma` pixels (libvips sharpen; sharp caps sigma at 10). */
  sharpen: {
    halo: gaussianHalo,
    channels: toColour,
    _apply: (image, { sigma }) => image.sharpen({ sigma }),
  },
  /**
   * `LAPLACIAN` on the luminance, one grey channel out (alpha dropped). Negative responses
   * clip to 0, so each edge shows on its brighter side.
   */
  edges: {
    halo: () => 1,
    channels: toGrey,
    _apply: (image) => image.greyscale().convolve({ width: 3, height: 3, kernel: LAPLACIAN }).removeAlpha(),
  },
  /**
   * Lanczos3 resize to `width` x `height` pixels; with one of them given the other keeps
   * the aspect ratio, with both the image is stretched to exactly that size.
   */
  resize: {
    halo: () => 0,
    channels: toColour,
    _apply: (image, { width, height }) => image.resize({ width, height, fit: width && height ? "fill" : "cover" }),
  },
};

/**
 * Runs an image op, its params checked (`checkParams` of agent/protocol/tasks.ts), on raw
 * pixels and returns the raw output: same dimensions but for resize,
 * `PIXEL_OPS[op].channels(input.channels)` channels.
 * @throws FleetError BAD_IMAGE (422) as `checkRawImage`; sharp's errors pass through.
 */
export async function applyOp(op: ImageOp, params: object, input: RawImage): Promise<RawImage> {
  checkRawImage(input);
  const { data, width, height, channels } = input;
  const spec = PIXEL_OPS[op] as PixelOp;
  const source = sharp(data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  const { data: output, info } = await spec._apply(source, params as never).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(output.buffer, output.byteOffset, output.length), width: info.width, height: info.height, channels: info.channels };
}
