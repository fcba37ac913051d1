// The newest-frame hand-off of a live source (mjpeg-cmd, camera, mjpeg-url): frames are pushed as they come, next() takes the newest.
import type { FleetError } from "../errors";
import { closedError } from "./_closed";
import type { Frame } from "./types";

/** How long a live source's first frame may take (10 s): a Pi camera needs a second or two, an HTTP upstream must answer. */
export const FIRST_FRAME_TIMEOUT_MS = 10_000;

type Waiter = { resolve: (frame: Frame) => void; reject: (error: FleetError) => void };

/**
 * Keeps only the newest frame of a live source. `push()` makes each JPEG a Frame
 * (`frame-000042.jpg`, its seq, the time); `next()` answers a frame newer than the last it
 * answered, waiting if needed. A frame replaced before anyone took it counts as dropped.
 * Memory: one frame.
 */
export class LatestFrame {
  /** Frames pushed so far (the next frame's seq). */
  seq = 0;
  /** Frames replaced by a newer one before next() took them. */
  dropped = 0;
  /** What next() throws once no newer frame can come; undefined while the source lives. */
  endError: FleetError | undefined;
  private latest: Frame | undefined;
  private returnedSeq = -1;
  private closed = false;
  private readonly waiters: Waiter[] = [];
  private readonly firstFrame = Promise.withResolvers<void>();

  /** Resolves at the first push(). */
  get first(): Promise<void> {
    return this.firstFrame.promise;
  }

  /** Hands a whole JPEG on: to a waiting next(), else it becomes the newest frame. */
  push(data: Uint8Array): void {
    const frame: Frame = { data, name: `frame-${String(this.seq).padStart(6, "0")}.jpg`, seq: this.seq, capturedAt: Date.now() };
    this.seq += 1;
    this.firstFrame.resolve();
    const waiter = this.waiters.shift();
    if (waiter) {
      this.returnedSeq = frame.seq;
      return waiter.resolve(frame);
    }
    if (this.latest && this.latest.seq > this.returnedSeq) this.dropped += 1;
    this.latest = frame;
  }

  /**
   * A frame newer than the last one answered, waiting for it if needed.
   * @throws FleetError SOURCE_CLOSED (409) after close(); the `finish()` error once the source has ended and no newer frame is left.
   */
  async next(): Promise<Frame> {
    if (this.closed) throw closedError();
    if (this.latest && this.latest.seq > this.returnedSeq) {
      this.returnedSeq = this.latest.seq;
      return this.latest;
    }
    if (this.endError) throw this.endError;
    return new Promise<Frame>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The source has ended with `error` (the first one kept): waiting next() calls fail with it. */
  finish(error: FleetError): void {
    this.endError ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }

  /** next() fails with SOURCE_CLOSED from now on, waiting calls included. */
  close(): void {
    this.closed = true;
    this.finish(closedError());
  }
}
