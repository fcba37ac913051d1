// Fuzz surfaces: the MJPEG splitter and the multipart stream parser, fed streams built from the fixture photos, cut and mutated.
import fc from "fast-check";
import { FleetError } from "../../agent/errors";
import { createMjpegSplitter } from "../../agent/sources/mjpeg-splitter";
import { createMultipartParser } from "../../agent/sources/multipart";
import { chunkSizes, mutatedJpeg, PHOTOS, toChunks } from "./_arbitraries";
import { createCounts, type FuzzSurface } from "./_surface";

const encoder = new TextEncoder();

/** Bytes between frames or parts: nothing, a log line, marker look-alikes, zeros, random bytes. */
const junk: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(new Uint8Array(0)) },
  fc.constantFrom(
    encoder.encode("[0:01:02.345] INFO camera started\n"),
    Uint8Array.of(0xff, 0xd9, 0xff, 0x00, 0xff, 0xd0, 0xff, 0xff),
    Uint8Array.of(0xff, 0xd8),
    Uint8Array.of(0xff, 0xd8, 0xff, 0xd9),
    new Uint8Array(300).fill(0xff),
    encoder.encode("\r\n--frame\r\n"),
  ),
  fc.uint8Array({ maxLength: 200 }),
);

/** A frame of the stream: a whole fixture photo (mostly) or a mutated one. */
const frame: fc.Arbitrary<{ bytes: Uint8Array; intact: boolean }> = fc.oneof(
  { weight: 2, arbitrary: fc.nat(PHOTOS.length - 1).map((index) => ({ bytes: PHOTOS[index]!, intact: true })) },
  mutatedJpeg.map((bytes) => ({ bytes, intact: false })),
);

/** Flips of single bits anywhere in the finished stream (fractions of its length). */
const streamFlips = fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) }), { maxLength: 3 });

function flipBits(stream: Uint8Array, flips: { at: number; bit: number }[]): Uint8Array {
  if (flips.length === 0 || stream.length === 0) return stream;
  const out = stream.slice();
  for (const { at, bit } of flips) {
    const index = Math.min(Math.floor(at * out.length), out.length - 1);
    out[index] = out[index]! ^ (1 << bit);
  }
  return out;
}

/** Throws unless `bytes` starts with SOI and ends with EOI. */
function checkWholeJpeg(bytes: Uint8Array, what: string): void {
  const n = bytes.length;
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8 || bytes[n - 2] !== 0xff || bytes[n - 1] !== 0xd9)
    throw new Error(`${what} of ${n} bytes is not SOI..EOI: starts ${Buffer.from(bytes.subarray(0, 4)).toString("hex")}, ends ${Buffer.from(bytes.subarray(-4)).toString("hex")}`);
}

/** Runs `feed`, letting only a FleetError out (counted as a closed stream: the source ends it). */
function allowFleetErrors(feed: () => void, counts: { closed: number }): void {
  try {
    feed();
  } catch (error) {
    if (!(error instanceof FleetError)) throw error;
    counts.closed += 1;
  }
}

function sameFrames(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((bytes, index) => Buffer.compare(bytes, b[index]!) === 0);
}

/** Splits `chunks` with a fresh splitter; answers the frames. */
function splitMjpeg(chunks: Uint8Array[], maxFrameBytes: number): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const splitter = createMjpegSplitter((bytes) => frames.push(bytes), maxFrameBytes);
  for (const chunk of chunks) splitter.push(chunk);
  splitter.end();
  return frames;
}

const mjpegCase = fc.record({
  frames: fc.array(fc.record({ before: junk, frame }), { minLength: 1, maxLength: 5 }),
  after: junk,
  flips: streamFlips,
  sizes: chunkSizes,
  maxFrameBytes: fc.oneof({ weight: 4, arbitrary: fc.constant(16 * 1024 * 1024) }, fc.integer({ min: 16, max: 140_000 })),
});

/**
 * The MJPEG splitter: every frame it yields is SOI..EOI, the frames do not depend on how the
 * stream was cut, and a stream of whole photos with junk free of SOI yields exactly those photos.
 */
export const mjpegSplitterSurface: FuzzSurface = {
  name: "MJPEG splitter",
  testRuns: 3000,
  async start() {
    const counts = createCounts();
    const property = fc.property(mjpegCase, ({ frames, after, flips, sizes, maxFrameBytes }) => {
      const stream = flipBits(Buffer.concat([...frames.flatMap(({ before, frame }) => [before, frame.bytes]), after]), flips);
      const whole = splitMjpeg([stream], maxFrameBytes);
      const cut = splitMjpeg(toChunks(stream, sizes), maxFrameBytes);
      for (const bytes of cut) checkWholeJpeg(bytes, "frame");
      counts.ok += cut.length;
      if (!sameFrames(whole, cut)) throw new Error(`cutting the stream changed the frames: ${whole.length} whole, ${cut.length} cut`);
      const clean = flips.length === 0 && maxFrameBytes > 200_000 && frames.every(({ frame }) => frame.intact);
      const junkFree = [...frames.map(({ before }) => before), after].every((bytes) => !Buffer.from(bytes).includes(Buffer.of(0xff, 0xd8)));
      if (clean && junkFree && !sameFrames(cut, frames.map(({ frame }) => frame.bytes)))
        throw new Error(`whole photos in, ${cut.length} frames out of ${frames.length}, or not the same bytes`);
    });
    return { property, counts, checkAlive: async () => {}, [Symbol.asyncDispose]: async () => {} };
  },
};

const BOUNDARIES = ["frame", "--myboundary", "ffmpeg", "x"];

/** One part: headers (with a true, false or no Content-Length), body and what comes before its delimiter. */
const part = fc.record({
  before: junk,
  frame,
  length: fc.constantFrom("true", "true", "none", "short", "long", "crlf"),
  type: fc.constantFrom("Content-Type: image/jpeg\r\n", "", "content-type: text/plain\r\nX-Odd: 1\r\n"),
});

type Part = typeof part extends fc.Arbitrary<infer T> ? T : never;

function writePart(delimiter: string, { before, frame, length, type }: Part): Uint8Array {
  const size = { true: frame.bytes.length, none: -1, short: frame.bytes.length - 5, long: frame.bytes.length + 5, crlf: frame.bytes.length + 2 }[length]!;
  const lengthLine = size >= 0 ? `Content-Length: ${size}\r\n` : "";
  return Buffer.concat([before, encoder.encode(`\r\n${delimiter}\r\n${type}${lengthLine}\r\n`), frame.bytes]);
}

const multipartCase = fc.record({
  boundary: fc.constantFrom(...BOUNDARIES),
  named: fc.boolean(),
  parts: fc.array(part, { minLength: 1, maxLength: 4 }),
  closing: fc.boolean(),
  flips: streamFlips,
  sizes: chunkSizes,
  maxPartBytes: fc.oneof({ weight: 4, arbitrary: fc.constant(16 * 1024 * 1024) }, fc.integer({ min: 16, max: 140_000 })),
});

/** Parses `chunks` with a fresh parser; answers the parts, or the FleetError it ended with. */
function parseMultipart(boundary: string | undefined, chunks: Uint8Array[], maxPartBytes: number, counts: { closed: number }): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const parser = createMultipartParser(boundary, (bytes) => parts.push(bytes), { maxPartBytes });
  allowFleetErrors(() => {
    for (const chunk of chunks) parser.push(chunk);
  }, counts);
  return parts;
}

/**
 * The multipart parser (named boundary or learnt from the first line): every part it yields
 * is SOI..EOI, it throws nothing but FleetError, the parts do not depend on how the stream
 * was cut, and whole photos with true lengths come out as themselves.
 */
export const multipartSurface: FuzzSurface = {
  name: "multipart stream parser",
  testRuns: 3000,
  async start() {
    const counts = createCounts();
    const property = fc.property(multipartCase, ({ boundary, named, parts, closing, flips, sizes, maxPartBytes }) => {
      const delimiter = `--${boundary.replace(/^--/, "")}`;
      const body = Buffer.concat([...parts.map((one) => writePart(delimiter, one)), encoder.encode(closing ? `\r\n${delimiter}--\r\n` : "\r\n")]);
      const stream = flipBits(body.subarray(2), flips); // a stream starts at its first delimiter
      const name = named ? boundary : undefined;
      const whole = parseMultipart(name, [stream], maxPartBytes, counts);
      const cut = parseMultipart(name, toChunks(stream, sizes), maxPartBytes, counts);
      for (const bytes of cut) checkWholeJpeg(bytes, "part");
      counts.ok += cut.length;
      if (!sameFrames(whole, cut)) throw new Error(`cutting the stream changed the parts: ${whole.length} whole, ${cut.length} cut`);
      const clean = flips.length === 0 && maxPartBytes > 200_000 && parts.every((one) => one.frame.intact && one.length === "true" && one.before.length === 0);
      if (clean && !sameFrames(cut, parts.map((one) => one.frame.bytes)))
        throw new Error(`whole photos in, ${cut.length} parts out of ${parts.length}, or not the same bytes`);
    });
    return { property, counts, checkAlive: async () => {}, [Symbol.asyncDispose]: async () => {} };
  },
};
