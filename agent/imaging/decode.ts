// Encoded image files (JPEG, PNG, WebP...) read the one way the manager and the grayscale workers share: size from the header, then raw pixels.
import { FleetError } from "../errors";
import sharp from "../native/sharp";
import type { RawImage } from "./ops";

/** The largest image decoded, in pixels (width * height); 413 past it. */
export const MAX_PIXELS = 100_000_000;

/**
 * A decode failure as the error to throw: a FleetError passes as it is (NATIVE_UNAVAILABLE:
 * this box's codec does not load); an allocation failure is this box's fault, OP_FAILED
 * (500, retried on another worker); anything else sharp says is the input's fault: `code`
 * (422), which fails a job at once (agent/protocol/tasks.ts INPUT_FAULTS).
 */
export function toDecodeFailure(cause: unknown, code: string, message: string): FleetError {
  if (cause instanceof FleetError) return cause;
  const reason = (cause as Error)?.message ?? String(cause);
  if (/out of memory|cannot allocate|memory allocation/i.test(reason)) return new FleetError("OP_FAILED", `${message}: ${reason}`, 500, { cause });
  return new FleetError(code, `${message}: ${reason}`, 422, { cause });
}

/** An image's size from its header: pixels wide and high (first page, as stored: no EXIF rotation). */
export interface ImageSize {
  width: number;
  height: number;
}

/**
 * The size of an encoded image from its header alone (nothing is decoded); `where` names
 * the image in errors.
 * @throws FleetError NOT_AN_IMAGE (422) for bytes sharp cannot read or an image without a
 *   size; TOO_MANY_PIXELS (413) past MAX_PIXELS; as `toDecodeFailure` otherwise.
 */
export async function readImageSize(bytes: Uint8Array, where: string): Promise<ImageSize> {
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes).metadata());
  } catch (error) {
    throw toDecodeFailure(error, "NOT_AN_IMAGE", `${where}: not an image sharp can decode`);
  }
  if (!width || !height) throw new FleetError("NOT_AN_IMAGE", `${where}: image has no size`, 422);
  if (width * height > MAX_PIXELS) throw new FleetError("TOO_MANY_PIXELS", `${where}: ${width}x${height} is past the limit of ${MAX_PIXELS} pixels`, 413);
  return { width, height };
}

/**
 * Decodes an encoded image to raw pixels: first page, no EXIF rotation, sharp's own
 * channels (1..4; sRGB for colour). Checked as `readImageSize` first.
 * @throws FleetError NOT_AN_IMAGE (422), TOO_MANY_PIXELS (413).
 */
export async function decodeToRaw(bytes: Uint8Array, where: string): Promise<RawImage> {
  await readImageSize(bytes, where);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw toDecodeFailure(error, "NOT_AN_IMAGE", `${where}: does not decode`);
  }
}
