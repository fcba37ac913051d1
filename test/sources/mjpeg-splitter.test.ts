// Tests the MJPEG splitter on real photographs cut into chunks every which way.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readJpegHeader } from "../../agent/imaging/jpeg";
import sharp from "../../agent/native/sharp";
import { createMjpegSplitter, type SplitterStats } from "../../agent/sources/mjpeg-splitter";

const FIXTURES = join(import.meta.dir, "../fixtures");
const photos = readdirSync(FIXTURES)
  .filter((name) => name.endsWith(".jpg"))
  .sort()
  .map((name) => new Uint8Array(readFileSync(join(FIXTURES, name))));

// What may sit between frames: a log line on stdout, marker look-alikes, zero padding.
const GARBAGE = [
  new TextEncoder().encode("[0:01:02.345] INFO camera started\n"),
  Uint8Array.of(0xff, 0xd9, 0xff, 0x00, 0xff, 0xd0, 0xff, 0xff),
  new Uint8Array(0),
  Uint8Array.of(0x00, 0x00, 0xd8, 0xd9, 0xff),
  new Uint8Array(1000).fill(0xff),
  Uint8Array.of(0x00, 0x00, 0x00),
];

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Interleaves garbage and frames: garbage, frame, garbage, frame, ..., garbage. */
function interleave(frames: Uint8Array[]): { stream: Uint8Array; garbageBytes: number; starts: number[] } {
  const parts: Uint8Array[] = [];
  const starts: number[] = [];
  let offset = 0;
  let garbageBytes = 0;
  frames.forEach((frame, index) => {
    const garbage = GARBAGE[index % GARBAGE.length]!;
    parts.push(garbage, frame);
    garbageBytes += garbage.length;
    starts.push(offset + garbage.length);
    offset += garbage.length + frame.length;
  });
  parts.push(GARBAGE[0]!);
  garbageBytes += GARBAGE[0]!.length;
  return { stream: concat(parts), garbageBytes, starts };
}

/** Feeds `stream` cut at `cuts` (any order, duplicates allowed) and ends it. */
function split(stream: Uint8Array, cuts: number[], maxFrameBytes?: number): { frames: Uint8Array[]; stats: SplitterStats } {
  const frames: Uint8Array[] = [];
  const splitter = createMjpegSplitter((frame) => frames.push(frame), maxFrameBytes);
  const points = [...new Set(cuts.filter((cut) => cut > 0 && cut < stream.length))].sort((a, b) => a - b);
  let from = 0;
  for (const cut of [...points, stream.length]) {
    splitter.push(stream.subarray(from, cut));
    from = cut;
  }
  splitter.end();
  return { frames, stats: splitter.stats() };
}

/** Cut points at random chunk sizes 1..maxChunk, from a seeded generator (mulberry32). */
function randomCuts(length: number, seed: number, maxChunk: number): number[] {
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const cuts: number[] = [];
  for (let at = 1 + Math.floor(random() * maxChunk); at < length; at += 1 + Math.floor(random() * maxChunk)) cuts.push(at);
  return cuts;
}

/** Offsets of every marker of a JPEG: the header segments up to SOS, then the final EOI. */
function markerOffsets(jpeg: Uint8Array): number[] {
  const offsets = [0];
  let at = 2;
  while (jpeg[at + 1] !== 0xda) {
    offsets.push(at);
    at += 2 + ((jpeg[at + 2]! << 8) | jpeg[at + 3]!);
  }
  return [...offsets, at, jpeg.length - 2];
}

/** Adds an EXIF APP1 segment after SOI whose TIFF IFD1 holds `thumbnail`, as cameras write it. */
function addExifThumbnail(jpeg: Uint8Array, thumbnail: Uint8Array): Uint8Array {
  const tiff = new DataView(new ArrayBuffer(44 + thumbnail.length));
  tiff.setUint16(0, 0x4949); // "II": little-endian
  tiff.setUint16(2, 42, true);
  tiff.setUint32(4, 8, true); // IFD0 at 8: no entries, IFD1 at 14
  tiff.setUint16(8, 0, true);
  tiff.setUint32(10, 14, true);
  tiff.setUint16(14, 2, true); // IFD1: JPEGInterchangeFormat and its length, both LONG
  [
    [0x0201, 44],
    [0x0202, thumbnail.length],
  ].forEach(([tag, value], index) => {
    const entry = 16 + 12 * index;
    tiff.setUint16(entry, tag!, true);
    tiff.setUint16(entry + 2, 4, true);
    tiff.setUint32(entry + 4, 1, true);
    tiff.setUint32(entry + 8, value!, true);
  });
  tiff.setUint32(40, 0, true);
  new Uint8Array(tiff.buffer).set(thumbnail, 44);
  const payload = concat([new TextEncoder().encode("Exif\0\0"), new Uint8Array(tiff.buffer)]);
  const header = Uint8Array.of(0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff);
  return concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

describe("createMjpegSplitter", () => {
  const { stream, garbageBytes, starts } = interleave(photos);
  const whole = { frames: photos.length, garbageBytes, oversize: 0, broken: 0 };

  test("the fixtures are whole JPEGs", () => {
    expect(photos.length).toBeGreaterThanOrEqual(6);
    for (const photo of photos) expect(readJpegHeader(photo).width).toBeGreaterThan(0);
  });

  test("emits every frame byte-identical from one chunk", () => {
    expect(split(stream, [])).toEqual({ frames: photos, stats: whole });
  });

  test("emits every frame byte-identical when fed one byte at a time", () => {
    const everyByte = Array.from({ length: stream.length }, (_, index) => index);
    expect(split(stream, everyByte)).toEqual({ frames: photos, stats: whole });
  });

  test("emits every frame byte-identical when cut around each marker", () => {
    const markers = photos.flatMap((photo, index) => markerOffsets(photo).map((offset) => starts[index]! + offset));
    for (let delta = -2; delta <= 5; delta += 1) {
      const around = markers.map((marker) => marker + delta);
      expect(split(stream, around)).toEqual({ frames: photos, stats: whole });
      expect(split(stream, [...around, ...around.map((cut) => cut + 1)])).toEqual({ frames: photos, stats: whole });
    }
  });

  test("emits every frame byte-identical at random chunk sizes", () => {
    for (const [seed, maxChunk] of [[1, 7], [2, 300], [3, 4096], [4, 65536], [5, 300_000]] as const) {
      expect(split(stream, randomCuts(stream.length, seed, maxChunk))).toEqual({ frames: photos, stats: whole });
    }
  });

  test("does not emit a frame the stream cuts short", () => {
    const [first, last] = [photos[0]!, photos[1]!];
    const truncated = concat([first, last.subarray(0, last.length / 2)]);
    expect(split(truncated, randomCuts(truncated.length, 6, 5000))).toEqual({
      frames: [first],
      stats: { frames: 1, garbageBytes: 0, oversize: 0, broken: 1 },
    });
  });

  test("drops a frame cut short by the next frame and keeps the next frame", () => {
    const [first, second] = [photos[0]!, photos[1]!];
    const cutInScan = concat([first.subarray(0, first.length - 1000), second]);
    // Cut inside a DHT segment, whose length then skips over the next SOI: the broken
    // frame is searched again, its bytes after SOI counted as garbage.
    const cutInHeader = concat([first.subarray(0, 300), second]);
    for (const cuts of [[], randomCuts(cutInHeader.length, 7, 100)]) {
      expect([split(cutInScan, cuts), split(cutInHeader, cuts)]).toEqual([
        { frames: [second], stats: { frames: 1, garbageBytes: 0, oversize: 0, broken: 1 } },
        { frames: [second], stats: { frames: 1, garbageBytes: 300 - 2, oversize: 0, broken: 1 } },
      ]);
    }
  });

  test("drops a frame past the size limit, resyncs and keeps the next", () => {
    const bySize = [...photos].sort((a, b) => a.length - b.length);
    const [small, big] = [bySize[0]!, bySize.at(-1)!];
    const sequence = concat([big, small, big, small]);
    // What follows an oversize frame's cut-off point is skipped as garbage until the next SOI.
    const stats = { frames: 2, garbageBytes: 2 * (big.length - small.length), oversize: 2, broken: 0 };
    for (const cuts of [[], randomCuts(sequence.length, 8, 3000)]) {
      expect(split(sequence, cuts, small.length)).toEqual({ frames: [small, small], stats });
    }
  });

  test("ignores FF00 stuffing, RST markers and fill bytes before markers", () => {
    const photo = photos[0]!;
    const scan = [0.3, 0.5, 0.7].map((share) => Math.floor(photo.length * share));
    const cuts = [2, ...scan, photo.length - 2].map((at) => (photo[at - 1] === 0xff ? at + 1 : at));
    const inserts = [Uint8Array.of(0xff), ...[0xd0, 0xd3, 0xd7].map((rst) => Uint8Array.of(0xff, 0xff, rst)), Uint8Array.of(0xff)];
    const parts = cuts.flatMap((at, index) => [photo.subarray(cuts[index - 1] ?? 0, at), inserts[index]!]);
    const filled = concat([...parts, photo.subarray(cuts.at(-1))]);
    expect(split(filled, randomCuts(filled.length, 9, 100)).frames).toEqual([filled]);
  });

  test("emits a JPEG with an EXIF thumbnail whole, and progressive JPEGs", async () => {
    const thumbnail = new Uint8Array(await sharp(photos[0]!).resize(16, 16).jpeg().toBuffer());
    const withExif = addExifThumbnail(photos[0]!, thumbnail);
    const progressive = new Uint8Array(await sharp(photos[1]!).jpeg({ progressive: true }).toBuffer());
    // A splitter that stopped at the first FFD9 would cut the EXIF frame inside its thumbnail.
    expect(Buffer.from(withExif).indexOf(Uint8Array.of(0xff, 0xd9))).toBeLessThan(withExif.length - 2);
    expect((await sharp(withExif).metadata()).exif?.length).toBeGreaterThan(thumbnail.length);
    const frames = [withExif, progressive, withExif];
    const { stream: mixed, garbageBytes: mixedGarbage } = interleave(frames);
    for (const cuts of [[], randomCuts(mixed.length, 10, 50)]) {
      expect(split(mixed, cuts)).toEqual({ frames, stats: { frames: 3, garbageBytes: mixedGarbage, oversize: 0, broken: 0 } });
    }
  });

  test("survives a cut at every byte offset of a stream of tiny JPEGs", async () => {
    const tiny = new Uint8Array(await sharp(photos[2]!).resize(16, 12).jpeg().toBuffer());
    const tinyProgressive = new Uint8Array(await sharp(photos[3]!).resize(8, 8).jpeg({ progressive: true }).toBuffer());
    const frames = [tiny, addExifThumbnail(tiny, tinyProgressive), tinyProgressive, tiny];
    const { stream: small, garbageBytes: smallGarbage } = interleave(frames);
    const expected = { frames, stats: { frames: 4, garbageBytes: smallGarbage, oversize: 0, broken: 0 } };
    for (let cut = 1; cut < small.length; cut += 1) {
      expect(split(small, [cut])).toEqual(expected);
      expect(split(small, [cut, cut + 1])).toEqual(expected);
    }
  });
});
