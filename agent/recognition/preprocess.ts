// Turns an uploaded image file (JPEG, PNG, WebP, ...) into the detector's input with sharp: upright, sRGB, 300x300 RGB bytes.
import { FleetError } from "../errors";
import sharp from "../native/sharp";
import { toDecodeFailure } from "../imaging/decode";
import { MODEL_INPUT_SIZE, type ModelInput } from "./_input";

export { MODEL_INPUT_SIZE, type ModelInput };

/** Images with more pixels than this are refused before decoding (a 8K frame has 33 million). */
export const MAX_INPUT_PIXELS = 50_000_000;

/**
 * Decodes `bytes` with sharp, turns it upright (EXIF orientation, as browsers show it),
 * drops alpha, converts to sRGB and squeezes it to 300x300 (aspect not kept: the model's own
 * resize does not keep it either; boxes come back in fractions of each side).
 * @throws FleetError BAD_IMAGE (422) when sharp cannot read it (not an image, corrupt,
 *   truncated); TOO_MANY_PIXELS (413) past `maxPixels`, read from the header before decoding;
 *   as `toDecodeFailure` for this box's own faults.
 */
export async function readModelInput(bytes: Uint8Array, maxPixels = MAX_INPUT_PIXELS): Promise<ModelInput> {
  const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let upright: { width: number; height: number };
  try {
    // The header only: no pixel limit here, so a huge image gets its own code and its size in the message.
    const metadata = await sharp(input, { limitInputPixels: false }).metadata();
    upright = metadata.autoOrient ?? { width: metadata.width ?? 0, height: metadata.height ?? 0 };
  } catch (cause) {
    throw toDecodeFailure(cause, "BAD_IMAGE", "not an image sharp can read");
  }
  const { width, height } = upright;
  if (width * height > maxPixels)
    throw new FleetError("TOO_MANY_PIXELS", `image is ${width}x${height} (${(width * height / 1e6).toFixed(1)} Mpx); at most ${maxPixels / 1e6} Mpx`, 413);
  let pixels: Buffer;
  try {
    pixels = await sharp(input, { limitInputPixels: maxPixels })
      .autoOrient()
      .removeAlpha()
      .toColourspace("srgb")
      .resize(MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, { fit: "fill" })
      .raw({ depth: "uchar" })
      .toBuffer();
  } catch (cause) {
    throw toDecodeFailure(cause, "BAD_IMAGE", "cannot decode the image");
  }
  const expected = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3;
  if (pixels.length !== expected) throw new FleetError("BAD_IMAGE", `decoded to ${pixels.length} bytes, expected ${expected} (RGB 300x300)`, 422);
  return { pixels: new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length), width, height };
}
