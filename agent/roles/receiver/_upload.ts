// Reads one `POST /upload` request (binary JPEG or the original experiment's JSON) into an upload.
import { FleetError } from "../../errors";
import { UPLOAD_HEADERS, UploadJson } from "../../wire";

/** One image as a client sent it, before checks of its bytes. */
export interface Upload {
  topic: string;
  /** The client's name for the file, already made safe: `[A-Za-z0-9._-]`, no extension, at most 64 characters. */
  name: string;
  data: Uint8Array;
  /** The sender's clock when it sent the image (ms since epoch), when given. */
  sentAt?: number;
}

const TOPIC = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_TOPIC = "default";

/**
 * Checks a topic: 1-64 of `[A-Za-z0-9._-]`, not starting with `.` (so not `.`, `..` or the
 * receiver's own `.framefleet`), since it becomes a folder name beside the receiver's state.
 * @throws FleetError BAD_TOPIC (422).
 */
export function checkTopic(topic: string | null | undefined): string {
  if (topic === null || topic === undefined || topic === "") return DEFAULT_TOPIC;
  if (!TOPIC.test(topic) || topic.startsWith("."))
    throw new FleetError("BAD_TOPIC", `topic "${topic.slice(0, 80)}" must be 1-64 of A-Z a-z 0-9 . _ -, not starting with "."`, 422);
  return topic;
}

/**
 * Makes a client's file name safe to put in a file name: refuses paths (`/`, `\`, `..`),
 * drops the extension, keeps `[A-Za-z0-9._-]` and turns anything else into `_`.
 * @throws FleetError BAD_FILENAME (422) for a path instead of a name.
 */
export function toSafeName(filename: string | null | undefined): string {
  if (!filename) return "image";
  if (filename.includes("/") || filename.includes("\\") || filename.includes("..") || filename.includes("\0"))
    throw new FleetError("BAD_FILENAME", `filename "${filename.slice(0, 80)}" must be a plain name, not a path`, 422);
  const stem = filename.replace(/\.(jpe?g)$/i, "");
  const safe = stem.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "").slice(0, 64);
  return safe === "" ? "image" : safe;
}

/**
 * Decodes strict base64 (RFC 4648 section 4, no line breaks); a `data:...;base64,` prefix is allowed.
 * @throws FleetError BAD_BASE64 (422).
 */
export function decodeBase64(text: string): Uint8Array {
  const payload = text.startsWith("data:") ? text.slice(text.indexOf(",") + 1) : text;
  const padding = payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0;
  const expected = (payload.length / 4) * 3 - padding;
  // The decoder skips characters outside the alphabet, so any such character makes the
  // output shorter than the length implies: one O(1) check instead of a regex over megabytes.
  const bytes = payload.length > 0 && payload.length % 4 === 0 ? Buffer.from(payload, "base64") : undefined;
  if (!bytes || bytes.length !== expected || payload.includes("-") || payload.includes("_"))
    throw new FleetError("BAD_BASE64", "image_b64 is not valid base64", 422);
  return bytes;
}

/** Parses the optional X-Sent-At header (ms since epoch); ignores anything else. */
function readSentAt(value: string | null): number | undefined {
  const sentAt = Number(value);
  return value && Number.isFinite(sentAt) && sentAt > 0 ? sentAt : undefined;
}

/**
 * Reads the body, at most `maxBody` bytes, and turns it into an Upload.
 * @throws FleetError BODY_TOO_LARGE (413), UNSUPPORTED_TYPE (415), BAD_JSON (400),
 *   MISSING_FIELD / BAD_TOPIC / BAD_FILENAME / BAD_BASE64 / EMPTY_BODY (422).
 */
export async function readUpload(request: Request, maxBody: number): Promise<Upload> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > maxBody) throw tooLarge(declared, maxBody);
  const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type === "image/jpeg" || type === "application/octet-stream") {
    const data = new Uint8Array(await request.arrayBuffer());
    if (data.length > maxBody) throw tooLarge(data.length, maxBody);
    if (data.length === 0) throw new FleetError("EMPTY_BODY", "the body holds no image", 422);
    const headers = request.headers;
    const sentAt = readSentAt(headers.get(UPLOAD_HEADERS.sentAt));
    return { topic: checkTopic(headers.get(UPLOAD_HEADERS.topic)), name: toSafeName(headers.get(UPLOAD_HEADERS.filename)), data, sentAt };
  }
  if (type === "application/json") {
    const text = await request.text();
    if (text.length > maxBody) throw tooLarge(text.length, maxBody);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (error) {
      throw new FleetError("BAD_JSON", `body is not JSON: ${(error as Error).message}`, 400, { cause: error });
    }
    const fields = body as Record<string, unknown>;
    const missing = UploadJson.required.filter((key) => typeof fields?.[key] !== "string");
    if (missing.length > 0) throw new FleetError("MISSING_FIELD", `JSON body needs string fields: ${missing.join(", ")}`, 422);
    const json = fields as UploadJson;
    const sentAt = typeof json.sent_at === "number" ? json.sent_at : readSentAt(request.headers.get(UPLOAD_HEADERS.sentAt));
    return { topic: checkTopic(json.topic), name: toSafeName(json.filename), data: decodeBase64(json.image_b64), sentAt };
  }
  throw new FleetError("UNSUPPORTED_TYPE", `content type "${type || "none"}": send image/jpeg or application/json`, 415);
}

function tooLarge(size: number, maxBody: number): FleetError {
  return new FleetError("BODY_TOO_LARGE", `body of ${size} bytes is over --max-body ${maxBody} bytes`, 413);
}
