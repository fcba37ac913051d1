// The frame codec in memory: exact layout, cuts at every offset and at random, zero-copy views, hard limits.
import { describe, expect, test } from "bun:test";
import { FleetError } from "../../agent/errors";
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, encodeFrame, type Frame } from "../../agent/protocol";
import { concat, jpeg, seeded } from "./peers";

const frames: [number, string, Uint8Array][] = [
  [0x01, '{"a":1}', new Uint8Array(0)],
  [0x10, '{"task":"ü"}', new Uint8Array([1, 2, 3, 4, 5])],
  [0x11, "{}", jpeg.subarray(0, 20_000)],
  [0x20, "", new Uint8Array(0)],
];
const stream = concat(frames.flatMap(([type, header, payload]) => encodeFrame(type, header, payload)));
const expected = frames.map(([type, header, payload]) => ({ type, header, bytes: payload.length, hash: Bun.hash(payload) }));

/** Decodes `chunks` in order into `{type, header, bytes, hash}` per frame, so views and copies compare by content. */
function decodeAll(chunks: Uint8Array[], decoder = new FrameDecoder()) {
  const out: typeof expected = [];
  for (const chunk of chunks) {
    decoder.push(chunk, (f) => out.push({ type: f.type, header: Buffer.from(f.header).toString(), bytes: f.payload.length, hash: Bun.hash(f.payload) }));
  }
  decoder.finish();
  return out;
}

function catchError(run: () => void): FleetError {
  try {
    run();
  } catch (error) {
    return error as FleetError;
  }
  throw new Error("expected a throw");
}

describe("encodeFrame", () => {
  test("layout: u32 BE length of what follows, type byte, u32 BE header length, header, payload", () => {
    const parts = encodeFrame(0x12, '{"k":"é"}', new Uint8Array([0xaa, 0xbb]));
    expect(parts.map((part) => [...part])).toEqual([
      [0, 0, 0, 17, 0x12, 0, 0, 0, 10, ...Buffer.from('{"k":"é"}'), 0xaa, 0xbb],
    ]);
  });

  test("a payload over 16 KiB is a second part, the caller's own bytes (not copied)", () => {
    const payload = jpeg.subarray(0, 40_000);
    const parts = encodeFrame(0x10, "{}", payload);
    expect({ parts: parts.length, same: parts[1] === payload, prefix: [...parts[0]!] }).toEqual({
      parts: 2,
      same: true,
      prefix: [0, 0, 0x9c, 0x47, 0x10, 0, 0, 0, 2, 0x7b, 0x7d],
    });
  });

  test("a frame over the limit throws FRAME_TOO_LARGE", () => {
    const error = catchError(() => encodeFrame(0x10, "{}", new Uint8Array(100), 64));
    expect({ code: error.code, message: error.message }).toEqual({ code: "FRAME_TOO_LARGE", message: "frame of 107 bytes exceeds the 64-byte limit" });
  });
});

describe("FrameDecoder", () => {
  test("one chunk with many frames, and the stream cut at every byte offset, decode identically", () => {
    expect(decodeAll([stream])).toEqual(expected);
    const mismatches: number[] = [];
    for (let cut = 1; cut < stream.length; cut++) {
      const got = decodeAll([stream.subarray(0, cut), stream.subarray(cut)]);
      if (!Bun.deepEquals(got, expected)) mismatches.push(cut);
    }
    expect(mismatches).toEqual([]);
  });

  test("random seeded chunk sizes (1 byte to 3 KiB) decode identically", () => {
    const failedSeeds: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const random = seeded(seed);
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() ** 3 * 3072);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      if (!Bun.deepEquals(decodeAll(chunks), expected)) failedSeeds.push(seed);
    }
    expect(failedSeeds).toEqual([]);
  });

  test("a frame inside one chunk is a view of it; a frame across chunks is one fresh copy", () => {
    const chunk = concat([...encodeFrame(1, "{}", new Uint8Array([9])), ...encodeFrame(2, "{}", new Uint8Array([8]))]);
    const seen: Frame[] = [];
    const decoder = new FrameDecoder();
    decoder.push(chunk, (frame) => seen.push(frame));
    const across = concat(encodeFrame(3, "{}", new Uint8Array([7, 7])));
    decoder.push(across.subarray(0, 6), (frame) => seen.push(frame));
    decoder.push(across.subarray(6), (frame) => seen.push(frame));
    expect(seen.map((frame) => ({ type: frame.type, view: frame.payload.buffer === chunk.buffer, payload: [...frame.payload] }))).toEqual([
      { type: 1, view: true, payload: [9] },
      { type: 2, view: true, payload: [8] },
      { type: 3, view: false, payload: [7, 7] },
    ]);
  });

  test("a declared length over the limit fails at once, before its bytes, and keeps failing", () => {
    const decoder = new FrameDecoder();
    const first = catchError(() => decoder.push(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x10]), () => {}));
    const again = catchError(() => decoder.push(new Uint8Array([0]), () => {}));
    const small = catchError(() => new FrameDecoder(1024).push(new Uint8Array([0, 0, 4, 1]), () => {}));
    expect({ code: first.code, message: first.message, same: again === first, buffered: decoder.bufferedBytes, small: small.message }).toEqual({
      code: "PROTOCOL_ERROR",
      message: `frame declares 4294967295 bytes, over the ${DEFAULT_MAX_FRAME_BYTES}-byte limit`,
      same: true,
      buffered: 0,
      small: "frame declares 1025 bytes, over the 1024-byte limit",
    });
  });

  test("too short a frame, a header longer than its frame, and a stream cut inside a frame are PROTOCOL_ERRORs", () => {
    const errors = [
      catchError(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 4, 1, 0, 0, 0]), () => {})),
      catchError(() => new FrameDecoder().push(new Uint8Array([0, 0, 0, 6, 1, 0, 0, 0, 2, 0x7b]), () => {})),
      catchError(() => decodeAll([stream.subarray(0, 30)])),
      catchError(() => decodeAll([stream.subarray(0, 2)])),
    ];
    expect(errors.map((error) => `${error.code}: ${error.message}`)).toEqual([
      "PROTOCOL_ERROR: frame declares 4 bytes, under the 5-byte minimum",
      "PROTOCOL_ERROR: frame header declares 2 bytes, more than the 1 left in its frame",
      "PROTOCOL_ERROR: stream ended inside a frame: 10 of its 23 bytes arrived",
      "PROTOCOL_ERROR: stream ended inside a length field: 2 of its 4 bytes arrived",
    ]);
  });
});
