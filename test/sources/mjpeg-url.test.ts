// The multipart parser over split chunks and bad parts, and the mjpeg-url source against real servers (a test server, another streamer, ffmpeg).
import { describe, expect, test } from "bun:test";
import { createMultipartParser, readBoundary } from "../../agent/sources/multipart";
import { openMjpegUrl } from "../../agent/sources/mjpeg-url";
import { readJpegHeader } from "../../agent/imaging/jpeg";
import { FIXTURES, readPhotos, startRole } from "../helpers";
import { serveMjpeg } from "../roles/mjpeg-server";
import { join } from "node:path";
import { testWith } from "../_requires";

const photos = [...readPhotos().values()].slice(0, 3);
const encoder = new TextEncoder();

/** A multipart body: preamble junk, the parts (with Content-Length unless told), a bad part, the closing delimiter. */
function buildStream(withLength: boolean): Uint8Array {
  const pieces: Uint8Array[] = [encoder.encode("junk before the first part\r\n")];
  const part = (body: Uint8Array) => {
    const length = withLength ? `Content-Length: ${body.length}\r\n` : "";
    pieces.push(encoder.encode(`--frame\r\nContent-Type: image/jpeg\r\n${length}\r\n`), body, encoder.encode("\r\n"));
  };
  part(photos[0]!);
  part(encoder.encode("not a jpeg at all"));
  part(photos[1]!.subarray(0, 5000)); // cut short: no EOI
  part(photos[2]!);
  pieces.push(encoder.encode("--frame--\r\n"));
  return Buffer.concat(pieces);
}

function parseInChunks(stream: Uint8Array, size: number, withLength: boolean) {
  const parts: Uint8Array[] = [];
  const parser = createMultipartParser("frame", (body) => parts.push(body));
  for (let offset = 0; offset < stream.length; offset += size) parser.push(stream.slice(offset, offset + size));
  return { parts, stats: parser.stats(), withLength };
}

describe("multipart parser", () => {
  test.each([true, false])("with Content-Length %p: every chunk size gives the same whole parts, bad ones skipped", (withLength) => {
    const stream = buildStream(withLength);
    for (const size of [1, 2, 3, 7, 64, 1000, 4096, 65536, stream.length]) {
      const { parts, stats } = parseInChunks(stream, size, withLength);
      expect({ size, parts: parts.length, bad: stats.bad }).toEqual({ size, parts: 2, bad: 2 });
      expect(Buffer.compare(parts[0]!, photos[0]!)).toBe(0);
      expect(Buffer.compare(parts[1]!, photos[2]!)).toBe(0);
    }
  });

  test("count-only mode counts the same parts without keeping bytes", () => {
    let count = 0;
    const parser = createMultipartParser("frame", (body) => (count += body.length === 0 ? 1 : 100), { keepBodies: false });
    parser.push(buildStream(true));
    expect(count).toBe(2);
  });

  test("without a boundary, the first --NAME line names it", () => {
    const parts: Uint8Array[] = [];
    const parser = createMultipartParser(undefined, (body) => parts.push(body));
    const stream = buildStream(true);
    for (let offset = 0; offset < stream.length; offset += 100) parser.push(stream.slice(offset, offset + 100));
    expect(parts.length).toBe(2);
  });

  test("a Content-Length that counts a trailing CRLF or padding still gives the JPEG, without them", () => {
    for (const trailer of [Uint8Array.of(13, 10), Uint8Array.of(0, 0, 0, 13, 10), Uint8Array.of(10)]) {
      const body = Buffer.concat([photos[0]!, trailer]);
      const stream = Buffer.concat([encoder.encode(`--frame\r\nContent-Length: ${body.length}\r\n\r\n`), body, encoder.encode("\r\n--frame--\r\n")]);
      for (const size of [1, 7, stream.length]) {
        const parts: Uint8Array[] = [];
        const parser = createMultipartParser("frame", (part) => parts.push(part));
        for (let offset = 0; offset < stream.length; offset += size) parser.push(stream.slice(offset, offset + size));
        expect({ size, trailer: trailer.length, parts: parts.length, bad: parser.stats().bad }).toEqual({ size, trailer: trailer.length, parts: 1, bad: 0 });
        expect(Buffer.compare(parts[0]!, photos[0]!)).toBe(0);
      }
    }
  });

  test("a part without Content-Length split into tiny chunks, its delimiter across chunks, is whole", () => {
    const stream = buildStream(false);
    const parts: Uint8Array[] = [];
    const parser = createMultipartParser("frame", (part) => parts.push(part));
    // Chunk sizes that straddle the delimiter in every way, a large part read a few bytes at a time.
    for (let offset = 0, size = 1; offset < stream.length; offset += size, size = (size % 13) + 1) parser.push(stream.slice(offset, offset + size));
    expect(parts.map((part) => part.length)).toEqual([photos[0]!.length, photos[2]!.length]);
    expect(Buffer.compare(parts[1]!, photos[2]!)).toBe(0);
  });

  test("without a boundary, a first line longer than 8 KB is refused", () => {
    const parser = createMultipartParser(undefined, () => {});
    parser.push(new Uint8Array(4096).fill(65));
    expect(() => parser.push(new Uint8Array(5000).fill(65))).toThrow("no --boundary line within the first 8 KB");
  });

  test("reads the boundary of a content type, quoted or not", () => {
    expect(readBoundary("multipart/x-mixed-replace; boundary=ffmpeg")).toBe("ffmpeg");
    expect(readBoundary('multipart/x-mixed-replace;boundary="Boundary String"')).toBe("Boundary String");
    expect(readBoundary("image/jpeg")).toBeUndefined();
  });
});

describe("mjpeg-url source", () => {
  test("takes whole frames from a multipart server, newest first", async () => {
    await using server = serveMjpeg(0, 30, false);
    const source = await openMjpegUrl(server.url);
    try {
      const frames = [await source.next(), await source.next(), await source.next()];
      for (const frame of frames) expect(photos.some((photo) => Buffer.compare(photo, frame.data) === 0)).toBe(true);
      expect(frames.map((frame) => frame.seq)).toEqual([...frames.map((frame) => frame.seq)].sort((a, b) => a - b));
      expect(source.stats()).toMatchObject({ kind: "mjpeg-url", up: true, bad_parts: 0 });
    } finally {
      await source.close();
    }
  });

  test("pulls from another streamer's /stream (agent to agent)", async () => {
    await using upstream = await startRole("streamer", { port: 0, source: "synthetic:320x240", fps: 30 });
    await using downstream = await startRole("streamer", {
      port: 0,
      source: `mjpeg-url:http://127.0.0.1:${upstream.stats().port}/stream?quality=high`,
      fps: 30,
    });
    const snapshot = await fetch(`http://127.0.0.1:${downstream.stats().port}/snapshot.jpg`);
    expect(readJpegHeader(new Uint8Array(await snapshot.arrayBuffer()))).toMatchObject({ width: 320, height: 240 });
  });

  testWith("ffmpeg")("pulls from ffmpeg serving -f mpjpeg", async () => {
    // ffmpeg cannot tell which port it bound: take a free one from the kernel (port 0), release it, hand it over.
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const ffmpeg = Bun.spawn(
      ["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", join(FIXTURES, "chelsea-480p.jpg"), "-r", "30", "-c:v", "mjpeg", "-f", "mpjpeg", "-listen", "1", `http://127.0.0.1:${port}/`],
      { stdout: "ignore", stderr: "ignore" },
    );
    try {
      let source: Awaited<ReturnType<typeof openMjpegUrl>> | undefined;
      // ffmpeg opens its port a moment after it starts: retry until it answers.
      for (let attempt = 0; attempt < 50 && !source; attempt += 1)
        source = await openMjpegUrl(`http://127.0.0.1:${port}/`, { firstFrameTimeoutMs: 2000 }).catch(() => Bun.sleep(100).then(() => undefined));
      if (!source) throw new Error("ffmpeg never served its stream");
      const frame = await source.next();
      expect(readJpegHeader(frame.data).height).toBe(480);
      await source.close();
    } finally {
      ffmpeg.kill("SIGKILL");
      await ffmpeg.exited;
    }
  });

  test("refuses a URL that is not a multipart stream, or refuses connections", async () => {
    await using streamer = await startRole("streamer", { port: 0, source: "synthetic:32x32", fps: 5 });
    await expect(openMjpegUrl(`http://127.0.0.1:${streamer.stats().port}/stats`)).rejects.toMatchObject({ code: "SOURCE_FAILED" });
    await expect(openMjpegUrl("http://127.0.0.1:9/stream")).rejects.toMatchObject({ code: "SOURCE_FAILED" });
  });
});
