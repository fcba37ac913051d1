// Reads one `POST /jobs` multipart request into checked op, params, format and decoded images; encodes outputs.
import { Value } from "@sinclair/typebox/value";
import { FleetError } from "../errors";
import { checkParams, OPS, type RawImage } from "../imaging/ops";
import { checkJobFits, type Job } from "../manager";
import sharp from "../sharp";
import { checkClassifyParams } from "../recognition/params";
import { ClassifyParams } from "../wire";
import type { OutputFormat } from "./_manager-jobs";

/** The largest image the manager decodes, in pixels (width * height); 413 past it. */
export const MAX_PIXELS = 100_000_000;

const FORMATS: Record<OutputFormat, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };
/** Fields of the form that are not op parameters. */
const RESERVED = new Set(["images", "op", "format"]);

/** A checked `POST /jobs` request: one job per uploaded file (raw pixels for image ops, the file itself for classify). */
export interface JobRequest {
  op: string;
  params: Record<string, unknown>;
  format: OutputFormat;
  jobs: Job[];
  /** Size of each uploaded file as sent (bytes), in the order of `jobs`. */
  uploadBytes: number[];
}

/** Every op `POST /jobs` takes: the image ops, and classify for recognition workers. */
const JOB_OPS = [...Object.keys(OPS), "classify"];

/**
 * Reads and checks a `POST /jobs` request: every problem of the fields (op, params, format,
 * images missing) is reported at once; `makeRoom(count)` may refuse the request before
 * anything is decoded; then each image is decoded to raw pixels, one at a time (for
 * classify, only its header is read: the file itself goes to the worker).
 * @throws FleetError TOO_LARGE (413) past `maxUpload` bytes, BAD_BODY (400) for a body that
 *   is not multipart, BAD_JOB (422) naming each bad field, NOT_AN_IMAGE (422), TOO_MANY_PIXELS (413).
 */
export async function readJobRequest(request: Request, maxUpload: number, makeRoom: (count: number) => void): Promise<JobRequest> {
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
  if (typeof op !== "string" || op === "") problems.push(`op: missing; one of ${JOB_OPS.join(", ")}`);
  else if (!JOB_OPS.includes(op)) problems.push(`op: unknown op "${op}"; known: ${JOB_OPS.join(", ")}`);
  else {
    try {
      params = checkJobParams(op, raw);
    } catch (error) {
      problems.push(`params: ${(error as Error).message}`);
    }
  }
  if (typeof format !== "string" || !Object.hasOwn(FORMATS, format)) problems.push(`format: "${String(format)}" is not one of png, jpeg, webp`);
  if (files.length === 0) problems.push("images: no file given; send one or more files in the `images` field");
  const texts = files.filter((file) => typeof file === "string");
  if (texts.length > 0) problems.push(`images: ${texts.length} of the fields are text, not files`);
  if (problems.length > 0) throw new FleetError("BAD_JOB", problems.join("; "), 422);
  makeRoom(files.length);
  const where = (file: File, index: number) => `images[${index}] (${file.name || "unnamed"})`;
  const jobs: Job[] =
    op === "classify"
      ? await decodeInTurn(files as File[], async (file, index) => ({ op: "classify" as const, params, encoded: await readImageFile(file, where(file, index)) }))
      : await decodeInTurn(files as File[], async (file, index) => {
          const job = { op: op as string, params, image: await decodeImage(file, where(file, index)) };
          checkJobFits(job);
          return job;
        });
  return { op: op as string, params, format: format as OutputFormat, jobs, uploadBytes: (files as File[]).map((file) => file.size) };
}

/**
 * The op's parameters, the form's strings converted to the types its schema wants, checked.
 * @throws FleetError BAD_PARAMS (422) naming each bad parameter.
 */
function checkJobParams(op: string, raw: Record<string, unknown>): Record<string, unknown> {
  if (op !== "classify") return checkParams(op, Value.Convert(OPS[op as keyof typeof OPS].schema, raw)).params as Record<string, unknown>;
  return checkClassifyParams(Value.Convert(ClassifyParams, raw));
}

/**
 * The bytes of an uploaded image, checked from its header only: it must be an image sharp
 * reads, of at most MAX_PIXELS.
 * @throws FleetError NOT_AN_IMAGE (422), TOO_MANY_PIXELS (413).
 */
async function readImageFile(file: File, where: string): Promise<Uint8Array> {
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
  return bytes;
}

/** Decodes one uploaded file to raw pixels (first page, no rotation), checked as `readImageFile`. */
async function decodeImage(file: File, where: string): Promise<RawImage> {
  const bytes = await readImageFile(file, where);
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

/** Reads the files one after another (one decoded image at a time is in the making, not all of a request at once). */
async function decodeInTurn<T>(files: File[], read: (file: File, index: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (const [index, file] of files.entries()) out.push(await read(file, index));
  return out;
}
