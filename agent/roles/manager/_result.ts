// A finished image job's result as an HTTP answer: raw output pixels encoded as the job's format.
import type { RawImage } from "../../imaging/ops";
import sharp from "../../native/sharp";
import type { OutputFormat } from "../../protocol";

/** The content type of each output format a job may ask for. */
export const FORMATS: Record<OutputFormat, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };

/**
 * Encodes raw output pixels as `format`: PNG lossless, JPEG and WebP at sharp's defaults.
 * Grey pixels (1 or 2 channels) stay grey: sharp would write them as sRGB unless told `b-w`.
 */
export async function encodeImage(image: RawImage, format: OutputFormat): Promise<Response> {
  const { data, width, height, channels } = image;
  const raw = sharp(data, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } });
  const input = channels <= 2 ? raw.toColourspace("b-w") : raw;
  const encoded = await (format === "png" ? input.png() : format === "jpeg" ? input.jpeg() : input.webp()).toBuffer();
  return new Response(new Uint8Array(encoded.buffer, encoded.byteOffset, encoded.length), { headers: { "content-type": FORMATS[format] } });
}
