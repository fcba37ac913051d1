// The frame source interface every source implements (synthetic, files, mjpeg-cmd, camera).

/** One captured frame: a whole JPEG image (SOI..EOI) and where it came from. */
export interface Frame {
  /** The JPEG bytes, SOI to EOI. */
  data: Uint8Array;
  /** A file name suggestion for the frame, e.g. `chelsea.jpg` or `frame-000042.jpg`. */
  name: string;
  /** Sequence number from the source, counting from 0. */
  seq: number;
  /** When the source captured or produced the frame, ms since the Unix epoch. */
  capturedAt: number;
}

/** Live figures of a source. */
export interface SourceStats {
  /** The source kind: synthetic, files, mjpeg-cmd, camera. */
  kind: string;
  /** Frames produced so far. */
  frames: number;
  /** Frames a live source produced that no consumer took before a newer one came (latest-frame policy). */
  dropped: number;
  /** Whether the source can still produce frames. */
  up: boolean;
}

/**
 * A source of JPEG frames. Stored sources (synthetic, files) answer `next()` at once
 * and loop; live sources (mjpeg-cmd, camera) keep only the newest frame, so `next()`
 * waits for a frame newer than the last one returned, and older frames are dropped.
 */
export interface FrameSource {
  /**
   * The next frame.
   * @throws FleetError SOURCE_ENDED when a live source's process has exited, or SOURCE_CLOSED after close().
   */
  next(): Promise<Frame>;
  /** Live figures. */
  stats(): SourceStats;
  /** Releases the source (kills a child process); idempotent. */
  close(): Promise<void>;
}
