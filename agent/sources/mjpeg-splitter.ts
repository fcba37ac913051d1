// Splits an MJPEG byte stream (concatenated JPEGs, arbitrary chunks) into whole JPEG frames.

/** Default largest frame (16 MB): a 4K JPEG at top quality is well under it. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** What a splitter has seen so far. */
export interface SplitterStats {
  /** Whole frames emitted. */
  frames: number;
  /** Bytes skipped looking for an SOI: between frames, past an oversize frame's limit, inside a broken frame. */
  garbageBytes: number;
  /** Frames dropped because they grew past the largest frame size. */
  oversize: number;
  /** Frames dropped as malformed or cut short (by a new SOI, a bad marker or end()); searched again for an SOI. */
  broken: number;
}

/** A push-fed MJPEG splitter. */
export interface MjpegSplitter {
  /**
   * Scans `chunk` and calls `onFrame` for each frame it completes. The splitter keeps
   * views into `chunk` until its frame ends: do not modify the chunk afterwards.
   * An error thrown by `onFrame` leaves through push() and drops the rest of the chunk.
   */
  push(chunk: Uint8Array): void;
  /** Ends the stream: a partial frame is discarded (counted as broken), never emitted. */
  end(): void;
  stats(): SplitterStats;
}

const SOI_BYTES = Uint8Array.of(0xff, 0xd8);
const SOS = 0xda;

// Where the scanner is: between frames, expecting a marker, reading a segment length,
// skipping a segment body, or inside entropy-coded scan data.
const SEEK = 0;
const MARKER = 1;
const LENGTH = 2;
const SKIP = 3;
const ENTROPY = 4;

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

class Splitter implements MjpegSplitter {
  private state = SEEK;
  private afterFF = false; // the previous byte (maybe in the previous chunk) was 0xFF
  private marker = 0;
  private lengthHigh = -1;
  private remaining = 0;
  private sawScan = false;
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private counts: SplitterStats = { frames: 0, garbageBytes: 0, oversize: 0, broken: 0 };

  constructor(
    private readonly onFrame: (frame: Uint8Array) => void,
    private readonly maxFrameBytes: number,
  ) {}

  push(chunk: Uint8Array): void {
    let next: Uint8Array | undefined = chunk;
    while (next) next = this.scan(next);
  }

  // Scans one buffer; returns bytes to scan again when a broken frame that began in an
  // earlier chunk must be searched for a later SOI (its header may have skipped over one).
  private scan(chunk: Uint8Array): Uint8Array | undefined {
    const length = chunk.length;
    let start = 0; // where the current frame's bytes begin in this chunk
    let i = 0;
    while (i < length) {
      if (this.state === SEEK) {
        if (this.afterFF) {
          this.afterFF = false;
          if (chunk[i] === 0xd8) start = this.beginFrame(++i);
          else this.counts.garbageBytes += 1; // that 0xFF; this byte is looked at again
          continue;
        }
        const ff = chunk.indexOf(0xff, i);
        this.counts.garbageBytes += (ff < 0 ? length : ff) - i;
        this.afterFF = ff >= 0;
        i = ff < 0 ? length : ff + 1;
        continue;
      }
      const limit = start + this.maxFrameBytes - this.partsBytes;
      if (i >= limit) {
        this.counts.oversize += 1;
        this.resetFrame();
        continue;
      }
      const bound = limit < length ? limit : length;
      let broken = false;
      if (this.state === SKIP) {
        const step = Math.min(this.remaining, bound - i);
        i += step;
        this.remaining -= step;
        if (this.remaining === 0) {
          this.sawScan ||= this.marker === SOS;
          this.state = this.marker === SOS ? ENTROPY : MARKER;
        }
      } else if (this.state === LENGTH) {
        const byte = chunk[i++]!;
        if (this.lengthHigh < 0) this.lengthHigh = byte;
        else {
          this.remaining = ((this.lengthHigh << 8) | byte) - 2;
          this.lengthHigh = -1;
          this.state = SKIP;
          broken = this.remaining < 0;
        }
      } else if (!this.afterFF) {
        if (this.state === ENTROPY) {
          const ff = chunk.indexOf(0xff, i);
          this.afterFF = ff >= 0 && ff < bound;
          i = this.afterFF ? ff + 1 : bound;
        } else if (chunk[i] === 0xff) {
          i += 1;
          this.afterFF = true;
        } else broken = true; // not a marker where one must be
      } else {
        const code = chunk[i++]!;
        if (code === 0xff) continue; // fill byte
        this.afterFF = false;
        if ((code === 0x00 && this.state === ENTROPY) || (code >= 0xd0 && code <= 0xd7) || code === 0x01) continue;
        if (code === 0xd8) {
          this.counts.broken += 1; // cut short by the next frame
          this.resetFrame();
          start = this.beginFrame(i);
        } else if (code === 0xd9 && this.sawScan) this.emitFrame(chunk.subarray(start, i));
        else if (code === 0xd9 || code === 0x00) broken = true;
        else {
          this.marker = code;
          this.state = LENGTH;
        }
      }
      if (broken) {
        this.counts.broken += 1;
        const began = this.parts.length === 1; // only the SOI: the frame began in this chunk
        const again = began ? undefined : concat([...this.parts.slice(1), chunk.subarray(start)]);
        this.resetFrame();
        if (again) return again;
        i = start;
      }
    }
    if (this.state !== SEEK && start < length) {
      this.parts.push(chunk.subarray(start, length));
      this.partsBytes += length - start;
    }
    return undefined;
  }

  end(): void {
    if (this.state !== SEEK) this.counts.broken += 1;
    else if (this.afterFF) this.counts.garbageBytes += 1;
    this.resetFrame();
  }

  stats(): SplitterStats {
    return { ...this.counts };
  }

  private beginFrame(start: number): number {
    this.parts.push(SOI_BYTES);
    this.partsBytes = SOI_BYTES.length;
    this.state = MARKER;
    this.sawScan = false;
    return start;
  }

  private emitFrame(tail: Uint8Array): void {
    const frame = concat([...this.parts, tail]);
    this.counts.frames += 1;
    this.resetFrame();
    this.onFrame(frame);
  }

  private resetFrame(): void {
    this.state = SEEK;
    this.afterFF = false;
    this.lengthHigh = -1;
    this.parts = [];
    this.partsBytes = 0;
  }
}

/**
 * Creates a splitter that walks each JPEG's marker segments by their lengths up to SOS
 * (so an EXIF thumbnail's FFD9 is skipped with its APP1 segment), then scans the
 * entropy-coded data for a marker that is not stuffing (FF00) or RST: FFD9 ends the frame.
 * Garbage between frames is skipped to the next SOI; a frame past `maxFrameBytes` is dropped.
 * Each frame is copied once, into a fresh array handed to `onFrame`.
 */
export function createMjpegSplitter(
  onFrame: (frame: Uint8Array) => void,
  maxFrameBytes = MAX_FRAME_BYTES,
): MjpegSplitter {
  return new Splitter(onFrame, maxFrameBytes);
}
