// Byte-array helpers of the multipart parser: join, concatenate, search, and a part's body as it comes.

/** `a` then `b` in one array (`b` itself when `a` is empty). */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The parts joined into one fresh array of `total` bytes (a copy even for one part). */
export function joinParts(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!.slice();
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Index of `needle` in `haystack` at or after `from`, or -1. */
export function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  for (let i = haystack.indexOf(first, from); i >= 0 && i + needle.length <= haystack.length; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j += 1;
    if (j === needle.length) return i;
  }
  return -1;
}

/** Whether a byte is trailing padding after a JPEG's EOI: CR, LF or NUL. */
const isPadding = (byte: number): boolean => byte === 13 || byte === 10 || byte === 0;

/**
 * The body of one part as its pieces come: their first two bytes and their last two
 * before any trailing CR, LF or NUL (padding), without copying until `join()`. With
 * `keep` false only the figures are kept (a load client counting parts).
 */
export class PartBody {
  /** Bytes added so far, padding included. */
  size = 0;
  private pieces: Uint8Array[] = [];
  private head = 0; // the first two bytes as (b0 << 8 | b1)
  private tail = 0; // the last two bytes before the padding, as above
  private padding = 0; // trailing CR, LF and NUL bytes
  private lastByte = 0;

  constructor(private readonly keep: boolean) {}

  /** Adds the next piece (kept as a view: do not modify it afterwards). */
  add(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    if (this.size === 0) this.head = bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : bytes[0]! << 8;
    else if (this.size === 1) this.head |= bytes[0]!;
    let last = bytes.length - 1;
    while (last >= 0 && isPadding(bytes[last]!)) last -= 1;
    if (last < 0) this.padding += bytes.length;
    else {
      this.tail = last >= 1 ? (bytes[last - 1]! << 8) | bytes[last]! : (this.lastByte << 8) | bytes[0]!;
      this.padding = bytes.length - 1 - last;
    }
    this.lastByte = bytes[bytes.length - 1]!;
    if (this.keep) this.pieces.push(bytes);
    this.size += bytes.length;
  }

  /** Whether the body is a JPEG: SOI (FFD8) first, EOI (FFD9) last before the padding. */
  isJpeg(): boolean {
    return this.head === 0xffd8 && this.tail === 0xffd9;
  }

  /** The body in one fresh array without its padding (empty when not kept). */
  join(): Uint8Array {
    return this.keep ? joinParts(this.pieces, this.size).subarray(0, this.size - this.padding) : new Uint8Array(0);
  }

  /** Forgets everything, for the next part. */
  reset(): void {
    this.pieces = [];
    this.size = this.head = this.tail = this.padding = this.lastByte = 0;
  }
}
