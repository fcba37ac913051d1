// The streamer's image work, all in sharp's thread pool: a tier's JPEG from a source frame, and the small grey copy motion compares.
import { readJpegHeader } from "../jpeg";
import sharp from "../sharp";
import type { TierSettings } from "./tiers";

/** Width and height of the grey copy that motion is measured on (64x48: 3,072 pixels, about 1 ms to make). */
export const THUMB_WIDTH = 64;
export const THUMB_HEIGHT = 48;

/**
 * Encodes a source JPEG for a tier: scaled by `settings.scale` (libjpeg shrinks on load, so a
 * half-size tier decodes at half size) and written at `settings.quality`.
 * @throws Error from sharp when the frame does not decode; FleetError from readJpegHeader.
 */
export async function encodeForTier(jpeg: Uint8Array, settings: TierSettings): Promise<Uint8Array> {
  let image = sharp(jpeg);
  if (settings.scale < 1) {
    const { width } = readJpegHeader(jpeg);
    image = image.resize({ width: Math.max(16, Math.round(width * settings.scale)) });
  }
  return image.jpeg({ quality: settings.quality }).toBuffer();
}

/** The frame as THUMB_WIDTH x THUMB_HEIGHT grey levels (one byte a pixel), for the frame difference. */
export async function readGreyThumb(jpeg: Uint8Array): Promise<Uint8Array> {
  return sharp(jpeg).resize(THUMB_WIDTH, THUMB_HEIGHT, { fit: "fill" }).greyscale().raw().toBuffer();
}
