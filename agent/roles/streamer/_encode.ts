// The streamer's image work: one decode per frame, shared by every tier's encode (in sharp's thread pool) and by motion's grey copy.
import sharp from "../../native/sharp";
import type { TierSettings } from "./tiers";

/** Width and height of the grey copy that motion is measured on (64x48: 3,072 pixels). */
export const THUMB_WIDTH = 64;
export const THUMB_HEIGHT = 48;

/** A frame's pixels: interleaved 8-bit channels (3 for colour, 1 for a grey JPEG), row by row. */
export interface DecodedFrame {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
}

/**
 * Decodes a JPEG once (about 3 ms for 720x480), so that each tier and the motion copy
 * start from pixels instead of decoding again.
 * @throws Error from sharp when the frame does not decode.
 */
export async function decodeFrame(jpeg: Uint8Array): Promise<DecodedFrame> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** Encodes decoded pixels for a tier: scaled by `settings.scale`, written at `settings.quality`. */
export async function encodeForTier(frame: DecodedFrame, settings: TierSettings): Promise<Uint8Array> {
  let image = sharp(frame.data, { raw: { width: frame.width, height: frame.height, channels: frame.channels } });
  if (settings.scale < 1) image = image.resize({ width: Math.max(16, Math.round(frame.width * settings.scale)) });
  return image.jpeg({ quality: settings.quality }).toBuffer();
}

/**
 * The frame as THUMB_WIDTH x THUMB_HEIGHT grey levels, each the mean of a 3x3 grid of
 * samples in its cell (luma weights 77/150/29 of 256): about 0.1 ms in JavaScript.
 */
export function toGreyThumb(frame: DecodedFrame): Uint8Array {
  const { data, width, height, channels } = frame;
  const out = new Uint8Array(THUMB_WIDTH * THUMB_HEIGHT);
  const colour = channels >= 3;
  for (let y = 0; y < THUMB_HEIGHT; y += 1) {
    for (let x = 0; x < THUMB_WIDTH; x += 1) {
      let sum = 0;
      for (let sy = 1; sy <= 3; sy += 1) {
        const row = Math.min(height - 1, Math.floor(((y + sy / 4) * height) / THUMB_HEIGHT));
        for (let sx = 1; sx <= 3; sx += 1) {
          const column = Math.min(width - 1, Math.floor(((x + sx / 4) * width) / THUMB_WIDTH));
          const i = (row * width + column) * channels;
          sum += colour ? (data[i]! * 77 + data[i + 1]! * 150 + data[i + 2]! * 29) >> 8 : data[i]!;
        }
      }
      out[y * THUMB_WIDTH + x] = Math.round(sum / 9);
    }
  }
  return out;
}
