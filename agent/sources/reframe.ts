// Turns any frame source into frames "as a Pi camera would": cover-resized and centre-cropped to WxH, JPEG at quality Q, once per source frame.
import { FleetError } from "../errors";
import sharp from "../native/sharp";
import type { Frame, FrameSource } from "./types";

/** A parsed `--frame WxH@Q`: the frame's size in pixels and its JPEG quality. */
export interface FrameSpec {
  width: number;
  height: number;
  quality: number;
}

/** Largest frame side in pixels (8K), as for synthetic sources. */
const MAX_SIDE = 7680;
/** Most distinct frames of a stored source (a files source's photos) kept encoded at once. */
const MAX_CACHED = 4096;

/**
 * Parses `WxH@Q`, e.g. `640x480@95` (the original Pi experiment's 480p camera frames).
 * @throws FleetError BAD_OPTIONS (422) naming `flag` and the value.
 */
export function parseFrameSpec(text: string, flag = "--frame"): FrameSpec {
  const match = /^(\d+)x(\d+)@(\d+)$/.exec(text.trim());
  const [width, height, quality] = [Number(match?.[1]), Number(match?.[2]), Number(match?.[3])];
  if (!match || width < 16 || height < 16 || width > MAX_SIDE || height > MAX_SIDE || quality < 1 || quality > 100)
    throw new FleetError("BAD_OPTIONS", `${flag} "${text}": expected WIDTHxHEIGHT@QUALITY, sides 16..${MAX_SIDE} and quality 1..100, e.g. 640x480@95`, 422);
  return { width, height, quality };
}

/** Encodes one JPEG as the spec says: EXIF orientation applied, resized to cover WxH, centre-cropped, quality Q (4:2:0 like a camera's MJPEG). */
export async function toCameraFrame(jpeg: Uint8Array, spec: FrameSpec): Promise<Uint8Array> {
  const out = await sharp(jpeg)
    .rotate()
    .resize(spec.width, spec.height, { fit: "cover", position: "centre" })
    .jpeg({ quality: spec.quality, chromaSubsampling: "4:2:0" })
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * Wraps `source` so that each of its frames is re-encoded by `toCameraFrame` exactly once:
 * encodes are cached by the identity of the source frame's bytes, so a files source's photos
 * (the same bytes every loop) are encoded once each, all of them here before the first frame
 * is given; a live source's frames are encoded as each new one is taken. Never per request.
 * @throws FleetError BAD_FRAME (422) when a source frame does not decode.
 */
export async function reframeSource(source: FrameSource, spec: FrameSpec): Promise<FrameSource> {
  const cache = new WeakMap<Uint8Array, Promise<Uint8Array>>();
  let cached = 0;
  const encode = (data: Uint8Array, name: string): Promise<Uint8Array> => {
    let encoded = cache.get(data);
    if (!encoded) {
      encoded = toCameraFrame(data, spec).catch((error: unknown) => {
        throw new FleetError("BAD_FRAME", `--frame ${spec.width}x${spec.height}@${spec.quality}: ${name} does not decode`, 422, { cause: error });
      });
      if (cached < MAX_CACHED) {
        cache.set(data, encoded);
        cached += 1;
      }
    }
    return encoded;
  };
  const first = await encodeStoredCycle(source, encode);
  let seq = 0;
  return {
    async next(): Promise<Frame> {
      const frame = first.shift() ?? (await source.next());
      const data = await encode(frame.data, frame.name);
      return { ...frame, data, seq: seq++ };
    },
    stats: () => source.stats(),
    close: () => source.close(),
  };
}

/**
 * For a files source: takes one whole loop of its photos (until the first repeats) and encodes
 * each now, at start; answers the frames taken, to be given first. Other sources: nothing.
 */
async function encodeStoredCycle(source: FrameSource, encode: (data: Uint8Array, name: string) => Promise<Uint8Array>): Promise<Frame[]> {
  if (source.stats().kind !== "files") return [];
  const taken: Frame[] = [];
  for (;;) {
    const frame = await source.next();
    if (taken.length > 0 && frame.data === taken[0]!.data) {
      await Promise.all(taken.map((each) => encode(each.data, each.name)));
      return [...taken, frame];
    }
    taken.push(frame);
  }
}
