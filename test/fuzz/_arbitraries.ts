// fast-check arbitraries shared by the fuzz surfaces: JPEGs mutated from the fixture photos, chunkings, odd header values and JSON.
import fc from "fast-check";
import { readPhotos } from "../helpers";

/** The six fixture photos (50-135 KB; the 8K one under large/ is not among them). */
export const PHOTOS: Uint8Array[] = [...readPhotos().values()];

/** One edit of a JPEG's bytes; positions are fractions of the length so one value fits every photo. */
type Edit =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "truncate"; at: number }
  | { kind: "splice"; at: number; other: number; from: number; length: number }
  | { kind: "insert"; at: number; bytes: Uint8Array }
  | { kind: "delete"; at: number; length: number }
  | { kind: "set"; at: number; value: number };

/** A position: mostly in the first 2 KB (markers, tables, SOF), sometimes anywhere. */
const position = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: 2047 }).map((n) => -n - 1) }, fc.double({ min: 0, max: 1, noNaN: true }));

function toIndex(at: number, length: number): number {
  if (length === 0) return 0;
  return at < 0 ? Math.min(-at - 1, length - 1) : Math.min(Math.floor(at * length), length - 1);
}

const markerByte = fc.constantFrom(0xff, 0xd8, 0xd9, 0xda, 0xc0, 0xc4, 0xdb, 0xdd, 0xe0, 0xe1, 0x00, 0xd0);

const edit: fc.Arbitrary<Edit> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }) },
  fc.record({ kind: fc.constant("truncate" as const), at: position }),
  fc.record({
    kind: fc.constant("splice" as const),
    at: position,
    other: fc.nat(PHOTOS.length - 1),
    from: position,
    length: fc.integer({ min: 1, max: 4096 }),
  }),
  fc.record({ kind: fc.constant("insert" as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: position, length: fc.integer({ min: 1, max: 512 }) }),
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("set" as const), at: position, value: markerByte }) },
);

function applyEdit(bytes: Uint8Array, change: Edit): Uint8Array {
  const at = toIndex(change.at, bytes.length);
  switch (change.kind) {
    case "flip": {
      const out = bytes.slice();
      if (out.length > 0) out[at] = out[at]! ^ (1 << change.bit);
      return out;
    }
    case "set": {
      const out = bytes.slice();
      if (out.length > 0) out[at] = change.value;
      return out;
    }
    case "truncate":
      return bytes.subarray(0, at);
    case "splice": {
      const other = PHOTOS[change.other]!;
      const from = toIndex(change.from, other.length);
      return Buffer.concat([bytes.subarray(0, at), other.subarray(from, from + change.length), bytes.subarray(at)]);
    }
    case "insert":
      return Buffer.concat([bytes.subarray(0, at), change.bytes, bytes.subarray(at)]);
    case "delete":
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + change.length)]);
  }
}

/** A fixture photo with 0-4 edits: bit flips, marker bytes set, truncations, splices of another photo, inserts, deletes. */
export const mutatedJpeg: fc.Arbitrary<Uint8Array> = fc
  .record({ photo: fc.nat(PHOTOS.length - 1), edits: fc.array(edit, { maxLength: 4 }) })
  .map(({ photo, edits }) => edits.reduce(applyEdit, PHOTOS[photo]!));

/** Bytes of every kind an image field may hold: a mutated photo mostly, else empty, random or a JPEG's first bytes only. */
export const imageBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: mutatedJpeg },
  fc.constant(new Uint8Array(0)),
  fc.uint8Array({ maxLength: 256 }),
  fc.uint8Array({ maxLength: 64 }).map((tail) => Buffer.concat([Uint8Array.of(0xff, 0xd8, 0xff), tail])),
);

/** Cut points for `bytes`: the lengths of the chunks it is fed in (1 byte to the whole), the last chunk takes the rest. */
export const chunkSizes: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 64 }),
  fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 16 }),
);

/** Cuts `bytes` into chunks of `sizes` (repeated), the last taking what is left. */
export function toChunks(bytes: Uint8Array, sizes: number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (let index = 0; at < bytes.length; index += 1) {
    const size = index < sizes.length * 64 ? sizes[index % sizes.length]! : bytes.length - at;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Strings a header or a name field may hold: plain words, paths, the receiver's own file names, numbers, unicode, long ones. */
export const oddText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    ".",
    "..",
    "../etc",
    "a/b",
    "a\\b",
    "image_counter.txt",
    "image_counter.txt.tmp",
    ".framefleet",
    "default",
    "cam1",
    "photo.jpg",
    "x".repeat(65),
    "x".repeat(5000),
    "NaN",
    "-1",
    "1e400",
    "0x10",
    "\u0000",
    "🎥",
    "%2e%2e",
  ),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.stringMatching(/^[A-Za-z0-9._-]{1,70}$/),
);

/** A header value fit for the wire (latin1, no CR/LF), from `oddText`. */
export const headerValue: fc.Arbitrary<string> = oddText.map((text) => Buffer.from(text, "utf8").toString("latin1").replace(/[\r\n]/g, " "));

/** Any JSON value, deep and wide enough to reach odd corners (with odd numbers and long strings among them). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  oddText,
  fc.constantFrom(null, true, 0, -1, 1e308, Number.MAX_SAFE_INTEGER + 2, 0.5),
);
