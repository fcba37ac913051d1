// A live source: frames pulled from an MJPEG stream over HTTP (another agent's /stream, an IP camera, ffmpeg -f mpjpeg).
import { FleetError } from "../errors";
import { closedError } from "./_closed";
import { createMultipartParser, readBoundary, type MultipartStats } from "./_multipart";
import type { Frame, FrameSource } from "./types";

/** How long the answer and the first frame may take (10 s). */
const FIRST_FRAME_TIMEOUT_MS = 10_000;

type Waiter = { resolve: (frame: Frame) => void; reject: (error: FleetError) => void };

/** Live figures of an mjpeg-url source: the source's, plus what its multipart parser skipped. */
export type MjpegUrlStats = ReturnType<FrameSource["stats"]> & { bad_parts: number; garbage_bytes: number };

/**
 * Opens `url` (a `multipart/x-mixed-replace` stream) and keeps its newest frame, as
 * mjpeg-cmd does: `next()` returns a frame newer than the last it returned, waiting if
 * needed; frames nobody took count as dropped; bad parts are skipped and counted.
 * When the stream ends or breaks, `next()` throws SOURCE_ENDED (410).
 * @throws FleetError SOURCE_FAILED (422) when the URL does not answer 200 with a multipart
 *   stream (or an untyped one whose first line is a `--boundary`), or sends no whole JPEG within 10 s.
 */
export async function openMjpegUrl(url: string, options: { firstFrameTimeoutMs?: number } = {}): Promise<FrameSource> {
  const abort = new AbortController();
  const timeoutMs = options.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS;
  const timer = setTimeout(() => abort.abort(new Error(`no whole JPEG within ${timeoutMs / 1000} s`)), timeoutMs);
  const fail = (why: string, cause?: unknown): never => {
    clearTimeout(timer);
    abort.abort();
    throw new FleetError("SOURCE_FAILED", `mjpeg-url:${url}: ${why}`, 422, { cause });
  };
  let response: Response;
  try {
    response = await fetch(url, { signal: abort.signal, headers: { accept: "multipart/x-mixed-replace, image/jpeg" } });
  } catch (error) {
    return fail((error as Error).message, error);
  }
  // A multipart type names its boundary; a server that sends none (ffmpeg -listen 1) names it in the first line.
  const contentType = response.headers.get("content-type") ?? "";
  const boundary = readBoundary(contentType);
  if (!response.ok || !response.body || (!boundary && !/octet-stream|^$/.test(contentType)))
    return fail(`answered ${response.status} ${contentType || "(no content type)"}, not a multipart stream`);

  const waiters: Waiter[] = [];
  const firstFrame = Promise.withResolvers<void>();
  let latest: Frame | undefined;
  let returnedSeq = -1;
  let seq = 0;
  let dropped = 0;
  let endError: FleetError | undefined;
  let closed = false;
  const parser = createMultipartParser(boundary, (data) => {
    const frame = { data, name: `frame-${String(seq).padStart(6, "0")}.jpg`, seq, capturedAt: Date.now() };
    seq += 1;
    firstFrame.resolve();
    const waiter = waiters.shift();
    if (waiter) {
      returnedSeq = frame.seq;
      return waiter.resolve(frame);
    }
    if (latest && latest.seq > returnedSeq) dropped += 1;
    latest = frame;
  });
  const finish = (error: FleetError): void => {
    endError ??= error;
    for (const waiter of waiters.splice(0)) waiter.reject(error);
  };
  const reading = (async () => {
    const reader = response.body!.getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) parser.push(read.value);
      finish(new FleetError("SOURCE_ENDED", `mjpeg-url:${url}: the stream ended`, 410));
    } catch (error) {
      finish(new FleetError("SOURCE_ENDED", `mjpeg-url:${url}: ${(error as Error).message}`, 410, { cause: error }));
    }
  })();

  const source: FrameSource = {
    async next(): Promise<Frame> {
      if (closed) throw closedError();
      if (latest && latest.seq > returnedSeq) {
        returnedSeq = latest.seq;
        return latest;
      }
      if (endError) throw endError;
      return new Promise<Frame>((resolve, reject) => waiters.push({ resolve, reject }));
    },
    stats: (): MjpegUrlStats => {
      const parsed: MultipartStats = parser.stats();
      return { kind: "mjpeg-url", frames: seq, dropped, up: !endError, bad_parts: parsed.bad, garbage_bytes: parsed.garbageBytes };
    },
    async close() {
      if (closed) return;
      closed = true;
      finish(closedError());
      abort.abort();
      await reading;
    },
  };
  await Promise.race([firstFrame.promise, reading]);
  clearTimeout(timer);
  if (seq > 0) return source;
  await source.close();
  return fail(`sent no whole JPEG frame${endError ? `: ${endError.message}` : ""}`);
}
