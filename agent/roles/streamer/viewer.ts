// One viewer of the MJPEG stream: its socket writer with the skip-to-newest policy, its mode and its figures.
import type { Channel, ViewerMode } from "./tiers";

/** An encoded frame ready for the wire: one multipart part shared by every viewer of its channel. */
export interface Part {
  tier: Channel;
  /** Source sequence number of the frame. */
  seq: number;
  /** The whole part: boundary line, headers, JPEG, CRLF. */
  bytes: Uint8Array;
}

/**
 * How long a part may wait for the socket to take it (30 s) before the viewer is closed as
 * dead: a client whose connection died silently (no FIN, no RST) would otherwise keep its
 * slot until the kernel gives up, about 15 minutes.
 */
export const DRAIN_TIMEOUT_MS = 30_000;

/** The boundary between parts of `/stream`. */
export const BOUNDARY = "framefleet";
const encoder = new TextEncoder();

/** Wraps a JPEG into one multipart part (`--framefleet`, Content-Type, Content-Length, X-Frame, the bytes, CRLF): one copy. */
export function toPart(tier: Channel, seq: number, jpeg: Uint8Array): Part {
  const head = encoder.encode(
    `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\nX-Frame: ${seq}\r\n\r\n`,
  );
  const bytes = new Uint8Array(head.length + jpeg.length + 2);
  bytes.set(head, 0);
  bytes.set(jpeg, head.length);
  bytes.set([13, 10], head.length + jpeg.length);
  return { tier, seq, bytes };
}

/**
 * The writing side of a direct ReadableStream (Bun). `flush(true)` sends what was written
 * now and answers a promise that settles once the socket took it; plain `flush()` outside
 * `pull()` leaves the bytes buffered until a later write (measured: every frame went out
 * one frame late, and a new viewer's first frame 30-40 ms later).
 */
export interface StreamWriter {
  write(data: Uint8Array): number | Promise<number>;
  flush(wait?: boolean): number | Promise<number>;
}

/**
 * A viewer. At most one part is being written to its socket and at most one waits (the
 * newest): a part offered while the socket has not taken the last one (its write and
 * flush promises pending) replaces the waiting one, which
 * counts as skipped. So a viewer holds at most two parts, both shared with its tier, and
 * a slow viewer never queues frames nor slows anyone else. A part the socket has not
 * taken within `drainTimeoutMs` closes the viewer (`timedOut`).
 */
export class Viewer {
  /** The channel whose frames it gets now: a tier (fixed, or chosen by the motion/budget policy), `auto` or `gaming`. */
  tier: Channel;
  delivered = 0;
  skipped = 0;
  bytes = 0;
  /** performance.now() of the last part handed to the socket; 0 before. */
  lastSentAt = 0;
  /** Least time between two frames (ms): 0 = every frame; the motion policy lowers the rate of a still scene. */
  minIntervalMs = 0;
  /** Whether it was closed because its socket took nothing for drainTimeoutMs. */
  timedOut = false;
  private writing = false;
  private drainTimer: ReturnType<typeof setTimeout> | undefined;
  private waiting: Part | undefined;
  private lastSeq = -1;
  private writer: StreamWriter | undefined;
  private readonly ended = Promise.withResolvers<void>();
  private isClosed = false;

  constructor(
    readonly id: number,
    readonly mode: ViewerMode,
    initialTier: Channel,
    /** A name the client chose (`?client=`), so a page can find its own figures; may be empty. */
    readonly client: string,
    /** How long a part may wait for the socket to take it before the viewer is closed (ms). */
    private readonly drainTimeoutMs = DRAIN_TIMEOUT_MS,
  ) {
    this.tier = initialTier;
  }

  /** Resolves when the viewer is closed (by close() or its client going away). */
  get closed(): Promise<void> {
    return this.ended.promise;
  }

  get isOpen(): boolean {
    return !this.isClosed;
  }

  /** Connects the stream's writer; parts offered before are sent now. */
  attach(writer: StreamWriter): void {
    this.writer = writer;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) this.send(waiting);
  }

  /** Whether this viewer takes a new frame now, given its frame-rate limit (with 10% slack for the source's jitter). */
  wantsFrame(now: number): boolean {
    return this.isOpen && (this.minIntervalMs === 0 || now - this.lastSentAt >= this.minIntervalMs * 0.9);
  }

  /** Offers a part: written now when the socket is free, else it replaces the waiting part (counted as skipped). */
  offer(part: Part): void {
    if (this.isClosed || part.seq <= this.lastSeq) return;
    this.lastSeq = part.seq;
    if (this.writing || !this.writer) {
      if (this.waiting) this.skipped += 1;
      this.waiting = part;
      return;
    }
    this.send(part);
  }

  /** Writes `part` again when it is the last one this viewer got and its socket is free (a late source frame); true if written. */
  repeat(part: Part): boolean {
    if (this.isClosed || this.writing || !this.writer || part.seq !== this.lastSeq) return false;
    this.send(part);
    return true;
  }

  /** Ends the viewer's stream; idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.drainTimer);
    this.waiting = undefined;
    this.ended.resolve();
  }

  private send(part: Part): void {
    const writer = this.writer!;
    this.writing = true;
    this.delivered += 1;
    this.bytes += part.bytes.length;
    this.lastSentAt = performance.now();
    let written: number | Promise<number>;
    let flushed: number | Promise<number>;
    try {
      written = writer.write(part.bytes);
      flushed = writer.flush(true);
    } catch {
      return this.close(); // the socket is gone
    }
    // The socket has drained when both the write and the flush have settled.
    const pending = [written, flushed].filter((value): value is Promise<number> => value instanceof Promise);
    if (pending.length === 0) return this.drained();
    this.drainTimer = setTimeout(() => {
      this.timedOut = true;
      this.close();
    }, this.drainTimeoutMs);
    Promise.all(pending).then(() => this.drained(), () => this.close());
  }

  private drained(): void {
    clearTimeout(this.drainTimer);
    this.writing = false;
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting && !this.isClosed) this.send(waiting);
  }
}
