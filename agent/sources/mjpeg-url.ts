// A live source: frames pulled from an MJPEG stream over HTTP (another agent's /stream, an IP camera, ffmpeg -f mpjpeg).
import { FleetError } from "../errors";
import { FIRST_FRAME_TIMEOUT_MS, LatestFrame } from "./_latest-frame";
import { createMultipartParser, readBoundary, type MultipartStats } from "./multipart";
import type { FrameSource } from "./types";

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

  const frames = new LatestFrame();
  let closed = false;
  const parser = createMultipartParser(boundary, (data) => frames.push(data));
  const reading = (async () => {
    const reader = response.body!.getReader();
    try {
      for (let read = await reader.read(); !read.done; read = await reader.read()) parser.push(read.value);
      frames.finish(new FleetError("SOURCE_ENDED", `mjpeg-url:${url}: the stream ended`, 410));
    } catch (error) {
      frames.finish(new FleetError("SOURCE_ENDED", `mjpeg-url:${url}: ${(error as Error).message}`, 410, { cause: error }));
    }
  })();

  const source: FrameSource = {
    next: () => frames.next(),
    stats: (): MjpegUrlStats => {
      const parsed: MultipartStats = parser.stats();
      return { kind: "mjpeg-url", frames: frames.seq, dropped: frames.dropped, up: !frames.endError, bad_parts: parsed.bad, garbage_bytes: parsed.garbageBytes };
    },
    async close() {
      if (closed) return;
      closed = true;
      frames.close();
      abort.abort();
      await reading;
    },
  };
  await Promise.race([frames.first, reading]);
  clearTimeout(timer);
  if (frames.seq > 0) return source;
  const why = frames.endError ? `: ${frames.endError.message}` : "";
  await source.close();
  return fail(`sent no whole JPEG frame${why}`);
}
