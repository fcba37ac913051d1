// Builds the body and headers of one POST /upload for a frame, in binary or the original JSON format.
import type { Frame } from "../sources";

/** A request body ready to send to any number of targets. `size` is the body's length in bytes on the wire. */
export interface RequestBody {
  payload: Uint8Array | string;
  headers: Record<string, string>;
  size: number;
}

/**
 * The body of each topic's POST for one frame. Binary: the JPEG bytes as
 * `image/jpeg` with X-Topic/X-Filename headers (shared, not copied). JSON: the original
 * experiment's `{topic, filename, image_b64}`; the base64 is computed once per frame.
 */
export function toRequestBodies(frame: Frame, topics: string[], format: "binary" | "json"): RequestBody[] {
  if (format === "binary") {
    return topics.map((topic) => ({
      payload: frame.data,
      headers: { "content-type": "image/jpeg", "x-topic": topic, "x-filename": frame.name },
      size: frame.data.length,
    }));
  }
  const base64 = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).toString("base64");
  return topics.map((topic) => {
    const payload = JSON.stringify({ topic, filename: frame.name, image_b64: base64 });
    return { payload, headers: { "content-type": "application/json" }, size: Buffer.byteLength(payload) };
  });
}
