// A small MJPEG server for source tests: serves fixture photos as multipart/x-mixed-replace at a set rate until stopped.
import { readPhotos } from "../helpers";

/** A running MJPEG server; `stop()` cuts every stream (the source dies), `await using` too. */
export interface MjpegServer extends AsyncDisposable {
  port: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * Serves the fixture photos in turn at `fps` on `port` (0 = any free port), parts with
 * Content-Length unless `withLength` is false. With `firstStreamFrames`, the first stream
 * sends that many frames and then nothing, left open (a hung upstream); later ones are whole,
 * answered once `laterStreamsAfter` (if given) has resolved.
 */
export function serveMjpeg(
  port = 0,
  fps = 30,
  withLength = true,
  options: { firstStreamFrames?: number; laterStreamsAfter?: Promise<void> } = {},
): MjpegServer {
  const photos = [...readPhotos().values()].slice(0, 3);
  const encoder = new TextEncoder();
  let streams = 0;
  const server = Bun.serve({
    port,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(request) {
      let index = 0;
      const first = streams++ === 0;
      const limit = first ? (options.firstStreamFrames ?? Infinity) : Infinity;
      if (!first) await options.laterStreamsAfter;
      const stream = new ReadableStream({
        async pull(controller) {
          if (index >= limit) return new Promise<void>(() => {}); // silent, never closed
          const photo = photos[index++ % photos.length]!;
          const length = withLength ? `Content-Length: ${photo.length}\r\n` : "";
          controller.enqueue(encoder.encode(`--photo\r\nContent-Type: image/jpeg\r\n${length}\r\n`));
          controller.enqueue(photo);
          controller.enqueue(encoder.encode("\r\n"));
          await Bun.sleep(1000 / fps);
        },
        cancel() {},
      });
      request.signal.addEventListener("abort", () => {});
      return new Response(stream, { headers: { "content-type": "multipart/x-mixed-replace; boundary=photo" } });
    },
  });
  const stop = () => server.stop(true);
  return { port: server.port!, url: `http://127.0.0.1:${server.port}/stream`, stop, [Symbol.asyncDispose]: stop };
}
