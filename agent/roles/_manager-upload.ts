// Reads one `POST /jobs` multipart request into checked op, params, format and decoded images; encodes outputs.
import { Value } from "@sinclair/typebox/value";
import { FleetError } from "../errors";
import { checkParams, OPS, type RawImage } from "../imaging/ops";
import sharp from "../sharp";
import type { OutputFormat } from "./_manager-jobs";

/** The largest image the manager decodes, in pixels (width * height); 413 past it. */
export const MAX_PIXELS = 100_000_000;

const FORMATS: Record<OutputFormat, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };
/** Fields of the form that are not op parameters. */
const RESERVED = new Set(["images", "op", "format"]);

/** A checked `POST /jobs` request. */
export interface JobRequest {
  op: string;
  params: Record<string, unknown>;
  format: OutputFormat;
  images: RawImage[];
  /** Size of each uploaded file as sent (bytes), in the order of `images`. */
  uploadBytes: number[];
}

/**
 * Reads and checks a `POST /jobs` request: every problem of the fields (op, params, format,
 * images missing) is reported at once, then each image is decoded to raw pixels.
 * @throws FleetError TOO_LARGE (413) past `maxUpload` bytes, BAD_BODY (400) for a body that
 *   is not multipart, BAD_JOB (422) naming each bad field, NOT_AN_IMAGE (422), TOO_MANY_PIXELS (413).
 */
export async function readJobRequest(request: Request, maxUpload: number): Promise<JobRequest> {
  const length = Number(request.headers.get("content-length") ?? 0);
  if (length > maxUpload) throw new FleetError("TOO_LARGE", `body of ${length} bytes is past --max-upload ${maxUpload}`, 413);
  let form: Awaited<ReturnType<Request["formData"]>>;
  try {
    form = await request.formData();
  } catch (error) {
    throw new FleetError("BAD_BODY", `POST /jobs wants a multipart/form-data body: ${(error as Error).message}`, 400, { cause: error });
  }
  const problems: string[] = [];
  const op = form.get("op");
  const files = form.getAll("images");
  const format = form.get("format") ?? "png";
  const raw = Object.fromEntries([...form.keys()].filter((key) => !RESERVED.has(key)).map((key) => [key, form.get(key)]));
  let params: Record<string, unknown> = {};
  if (typeof op !== "string" || op === "") problems.push(`op: missing; one of ${Object.keys(OPS).join(", ")}`);
  else {
    try {
      params = checkParams(op, toParams(op, raw)).params as Record<string, unknown>;
    } catch (error) {
      problems.push(error instanceof FleetError && error.code === "UNKNOWN_OP" ? `op: ${error.message}` : `params: ${(error as Error).message}`);
    }
  }
  if (typeof format !== "string" || !Object.hasOwn(FORMATS, format)) problems.push(`format: "${String(format)}" is not one of png, jpeg, webp`);
  if (files.length === 0) problems.push("images: no file given; send one or more files in the `images` field");
  const texts = files.filter((file) => typeof file === "string");
  if (texts.length > 0) problems.push(`images: ${texts.length} of the fields are text, not files`);
  if (problems.length > 0) throw new FleetError("BAD_JOB", problems.join("; "), 422);
  const images = await Promise.all((files as File[]).map((file, index) => decodeImage(file, `images[${index}] (${file.name || "unnamed"})`)));
  return { op: op as string, params, format: format as OutputFormat, images, uploadBytes: (files as File[]).map((file) => file.size) };
}

/** The op's parameters with the strings of the form converted to the types its schema wants. */
function toParams(op: string, raw: Record<string, unknown>): unknown {
  const spec = OPS[op as keyof typeof OPS];
  return spec ? Value.Convert(spec.schema, raw) : raw;
}

/** Decodes one uploaded file to raw pixels (first page, no rotation). */
async function decodeImage(file: File, where: string): Promise<RawImage> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(bytes).metadata());
  } catch (error) {
    throw new FleetError("NOT_AN_IMAGE", `${where}: not an image sharp can decode: ${(error as Error).message}`, 422, { cause: error });
  }
  if (!width || !height) throw new FleetError("NOT_AN_IMAGE", `${where}: image has no size`, 422);
  if (width * height > MAX_PIXELS)
    throw new FleetError("TOO_MANY_PIXELS", `${where}: ${width}x${height} is past the limit of ${MAX_PIXELS} pixels`, 413);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels };
  } catch (error) {
    throw new FleetError("NOT_AN_IMAGE", `${where}: does not decode: ${(error as Error).message}`, 422, { cause: error });
  }
}

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
