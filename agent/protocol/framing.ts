// Length-prefixed frames of the manager/worker protocol: encode one frame, decode a byte stream into frames.
import { FleetError } from "../errors";

/**
 * Largest frame accepted or sent unless configured otherwise: 128 MiB, counted after the
 * 4-byte length field. Sized for one whole raw 8K image (7680 x 4320 x 4 channels = 132.7 MB)
 * in one result; a frame's bytes are only held as they arrive, so the limit is no allocation.
 */
export const DEFAULT_MAX_FRAME_BYTES = 128 * 1024 * 1024;

/** Bytes before the header: length (u32), type (u8), header length (u32). */
export const FRAME_PREFIX_BYTES = 9;

/** Smallest legal declared length: the type byte and the header length field. */
const MIN_FRAME_BYTES = 5;

/** Payloads up to this size are copied into the frame's single buffer; larger ones travel as a part of their own. */
const INLINE_PAYLOAD_BYTES = 16 * 1024;

const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/**
 * One decoded frame. `header` and `payload` are views into the received bytes: into the
 * socket's chunk when the frame arrived within one chunk (no copy), else into one buffer
 * the frame was assembled in. A view keeps its whole chunk (up to 512 KiB) alive: copy
 * what must outlive the message.
 */
export interface Frame {
  type: number;
  header: Uint8Array;
  payload: Uint8Array;
}

/**
 * Encodes one frame as the parts to write in order. A payload up to 16 KiB is copied into
 * the single part; a larger one is returned as the second part, untouched (no copy).
 * `header` is UTF-8 text (encoded straight into the frame) or bytes.
 * Throws FRAME_TOO_LARGE when the frame would exceed `maxFrameBytes`.
 */
export function encodeFrame(
  type: number,
  header: string | Uint8Array,
  payload: Uint8Array = EMPTY,
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
): Uint8Array[] {
  if (!Number.isInteger(type) || type < 0 || type > 255) throw new FleetError("PROTOCOL_ERROR", `frame type ${type} is not a byte`, 500);
  const headerBytes = typeof header === "string" ? Buffer.byteLength(header, "utf8") : header.length;
  const length = MIN_FRAME_BYTES + headerBytes + payload.length;
  if (length > maxFrameBytes) {
    throw new FleetError("FRAME_TOO_LARGE", `frame of ${length} bytes exceeds the ${maxFrameBytes}-byte limit`, 413);
  }
  const inline = payload.length <= INLINE_PAYLOAD_BYTES;
  const first = new Uint8Array(FRAME_PREFIX_BYTES + headerBytes + (inline ? payload.length : 0));
  writeUint32(first, 0, length);
  first[4] = type;
  writeUint32(first, 5, headerBytes);
  if (typeof header === "string") utf8.encodeInto(header, first.subarray(FRAME_PREFIX_BYTES));
  else first.set(header, FRAME_PREFIX_BYTES);
  if (!inline) return [first, payload];
  if (payload.length > 0) first.set(payload, FRAME_PREFIX_BYTES + headerBytes);
  return [first];
}

/**
 * Turns a byte stream cut anywhere into whole frames. Received chunks are kept in a list
 * (never concatenated); a frame inside one chunk is a zero-copy view of it, a frame across
 * chunks is copied once into a buffer of its exact size. Memory held is the bytes received
 * and not yet framed: a declared length is checked against `maxFrameBytes` before any byte
 * of the frame is awaited, and never allocated ahead. Any violation throws PROTOCOL_ERROR
 * and leaves the decoder failed (every later `push` throws the same error).
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  private declared = -1;
  private failure: FleetError | null = null;

  /** `maxFrameBytes`: the largest frame taken (bytes after the length field) until `setMaxFrameBytes`. */
  constructor(private maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** The largest frame taken now, in bytes after the length field. */
  get frameLimit(): number {
    return this.maxFrameBytes;
  }

  /**
   * Changes the largest frame taken from the next length field on (e.g. 64 KiB before a
   * peer is admitted, then the full limit). A frame whose length was already read keeps
   * the limit it was checked against.
   */
  setMaxFrameBytes(bytes: number): void {
    this.maxFrameBytes = bytes;
  }

  /** Bytes received and not yet part of a delivered frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds one received chunk and calls `onFrame` for each frame it completes, in order. */
  push(chunk: Uint8Array, onFrame: (frame: Frame) => void): void {
    if (this.failure) throw this.failure;
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.declared < 0) {
        if (this.buffered < 4) break;
        const prefix = this.take(4);
        this.declared = readUint32(prefix, 0);
        this.checkDeclared(this.declared);
      }
      if (this.buffered < this.declared) break;
      const body = this.take(this.declared);
      this.declared = -1;
      onFrame(this.split(body));
    }
    this.compact();
  }

  /** Checks the stream ended on a frame boundary; throws PROTOCOL_ERROR naming how much of the last frame arrived. */
  finish(): void {
    if (this.failure) throw this.failure;
    if (this.declared >= 0) this.fail(`stream ended inside a frame: ${this.buffered} of its ${this.declared} bytes arrived`);
    if (this.buffered > 0) this.fail(`stream ended inside a length field: ${this.buffered} of its 4 bytes arrived`);
  }

  private checkDeclared(length: number): void {
    if (length > this.maxFrameBytes) this.fail(`frame declares ${length} bytes, over the ${this.maxFrameBytes}-byte limit`);
    if (length < MIN_FRAME_BYTES) this.fail(`frame declares ${length} bytes, under the ${MIN_FRAME_BYTES}-byte minimum`);
  }

  private split(body: Uint8Array): Frame {
    const headerBytes = readUint32(body, 1);
    if (headerBytes > body.length - MIN_FRAME_BYTES) {
      this.fail(`frame header declares ${headerBytes} bytes, more than the ${body.length - MIN_FRAME_BYTES} left in its frame`);
    }
    const end = MIN_FRAME_BYTES + headerBytes;
    return { type: body[0]!, header: body.subarray(MIN_FRAME_BYTES, end), payload: body.subarray(end) };
  }

  /** Removes `count` buffered bytes: a view when they lie in the first chunk, else one copy. */
  private take(count: number): Uint8Array {
    const first = this.chunks[this.head]!;
    this.buffered -= count;
    if (first.length - this.offset >= count) {
      const view = first.subarray(this.offset, this.offset + count);
      this.advance(first, count);
      return view;
    }
    const out = Bun.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.chunks[this.head]!;
      const n = Math.min(chunk.length - this.offset, count - filled);
      out.set(chunk.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.advance(chunk, n);
    }
    return out;
  }

  private advance(chunk: Uint8Array, count: number): void {
    this.offset += count;
    if (this.offset < chunk.length) return;
    this.chunks[this.head] = EMPTY;
    this.head += 1;
    this.offset = 0;
  }

  private compact(): void {
    if (this.head === 0) return;
    if (this.head === this.chunks.length) this.chunks = [];
    else if (this.head >= 64) this.chunks = this.chunks.slice(this.head);
    else return;
    this.head = 0;
  }

  private fail(message: string): never {
    this.failure = new FleetError("PROTOCOL_ERROR", message, 400);
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    throw this.failure;
  }
}

function readUint32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}
