// Builds the body and headers of one POST for a frame: binary or the original JSON to /upload, or a multipart job to a manager.
import { FleetError } from "../../errors";
import type { Frame } from "../../sources";
import { UPLOAD_HEADERS, type UploadJson } from "../../wire";

/** A request body ready to send to any number of targets. `size` is the body's length in bytes on the wire. */
export interface RequestBody {
  payload: Uint8Array | string | FormData;
  headers: Record<string, string>;
  size: number;
}

/** The form fields of a `--format job` POST: `op` and the op's parameters (checked by the manager). */
export type JobFields = Record<string, string>;

/**
 * Reads `--job op=blur,sigma=8` into form fields.
 * @throws FleetError BAD_OPTIONS (422) when a pair has no `=`, a name repeats, or `op` is missing.
 */
export function parseJobFields(text: string): JobFields {
  const fields: JobFields = {};
  for (const pair of text.split(",").filter((part) => part.trim() !== "")) {
    const at = pair.indexOf("=");
    const name = pair.slice(0, at).trim();
    if (at < 1 || name in fields) throw new FleetError("BAD_OPTIONS", `--job ${text}: "${pair}" is not a new NAME=VALUE pair`, 422);
    fields[name] = pair.slice(at + 1).trim();
  }
  if (!fields.op) throw new FleetError("BAD_OPTIONS", `--job "${text}": --format job needs op=NAME (and the op's parameters), e.g. op=blur,sigma=8`, 422);
  return fields;
}

/**
 * The body of each topic's POST for one frame. Binary: the JPEG bytes as
 * `image/jpeg` with X-Topic/X-Filename headers (shared, not copied). JSON: the original
 * experiment's `{topic, filename, image_b64}`; the base64 is computed once per frame.
 * Job (`format` is the job's fields): one multipart form per frame with the JPEG as
 * `images`, for a manager's `POST /jobs?wait=1`; topics do not apply.
 */
export function toRequestBodies(frame: Frame, topics: string[], format: "binary" | "json" | JobFields): RequestBody[] {
  if (typeof format === "object") {
    const form = new FormData();
    form.append("images", new File([frame.data as Uint8Array<ArrayBuffer>], frame.name, { type: "image/jpeg" }));
    for (const [name, value] of Object.entries(format)) form.append(name, value);
    return [{ payload: form, headers: {}, size: frame.data.length }];
  }
  if (format === "binary") {
    return topics.map((topic) => ({
      payload: frame.data,
      headers: { "content-type": "image/jpeg", [UPLOAD_HEADERS.topic]: topic, [UPLOAD_HEADERS.filename]: frame.name },
      size: frame.data.length,
    }));
  }
  const base64 = Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength).toString("base64");
  return topics.map((topic) => {
    const payload = JSON.stringify({ topic, filename: frame.name, image_b64: base64 } satisfies UploadJson);
    return { payload, headers: { "content-type": "application/json" }, size: Buffer.byteLength(payload) };
  });
}
