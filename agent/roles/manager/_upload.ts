// Reads one `POST /jobs` multipart request into checked op, params, format and header-checked image files.
import { Value } from "@sinclair/typebox/value";
import { FleetError } from "../../errors";
import { readImageSize, type ImageSize } from "../../imaging/decode";
import { checkParams, isOp, OP_DEFINITIONS, OPS, type CheckedOp, type OutputFormat } from "../../protocol";
import { FORMATS } from "./_result";

/** Fields of the form that are not op parameters. */
const RESERVED = new Set(["images", "op", "format"]);

/** One uploaded image file, its header read and checked (nothing decoded yet). */
export interface UploadedImage {
  encoded: Uint8Array;
  size: ImageSize;
  /** `images[N] (name)`, naming the file in errors. */
  where: string;
}

/** A checked `POST /jobs` request: one job per uploaded file, its op and params checked (the task contract's `checkParams`). */
export interface JobRequest {
  task: CheckedOp;
  format: OutputFormat;
  images: UploadedImage[];
}

/**
 * Reads and checks a `POST /jobs` request: every problem of the fields (op, params, format,
 * images missing) is reported at once; `makeRoom(count)` may refuse the request before
 * any file is read; then each file's header is read (readImageSize): whether and where it is
 * decoded is the manager's choice, per job (`checkJob` then checks each job's size).
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
  let task: CheckedOp | undefined;
  if (typeof op !== "string" || op === "") problems.push(`op: missing; one of ${OPS.join(", ")}`);
  else if (!isOp(op)) problems.push(`op: unknown op "${op}"; known: ${OPS.join(", ")}`);
  else {
    try {
      // The form's strings converted to the types the op's schema wants, then the one params check.
      task = checkParams(op, Value.Convert(OP_DEFINITIONS[op].params, raw));
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
  const images: UploadedImage[] = [];
  for (const [index, file] of (files as File[]).entries()) {
    const where = `images[${index}] (${file.name || "unnamed"})`;
    const encoded = new Uint8Array(await file.arrayBuffer());
    images.push({ encoded, size: await readImageSize(encoded, where), where });
  }
  return { task: task!, format: format as OutputFormat, images };
}
