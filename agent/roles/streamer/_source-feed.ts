// The streamer's hold on its frame source: frames one at a time, a late frame waited for only so long, a dead source reopened with backoff.
import { RateSeries } from "../../metrics";
import type { Frame, FrameSource, SourceStats } from "../../sources";

/** First wait before a dead source is opened again (ms); it doubles up to REOPEN_MAX_MS. */
const REOPEN_FIRST_MS = 250;
const REOPEN_MAX_MS = 4000;
/** Least time a source may send nothing before it is taken for stalled (5 s); see SourceFeed. */
export const STALL_MIN_MS = 5000;

/** What take() answers when no frame came within its wait (the source is late, or down and not back yet). */
export const NO_FRAME = Symbol("no frame");

/**
 * A frame source that survives its failures. `take()` gives the next frame; a frame
 * asked for and not yet come stays asked for (a live source's newest frame is not lost
 * when take() gives up waiting). When next() fails, or a frame asked for has not come
 * within `stallMs` (a camera off the network, a hung upstream: the connection stays open
 * but nothing comes), the source is closed, counted down, and opened again after 250 ms,
 * 500 ms, ... up to 4 s between attempts. close() also ends a pending reopen at once.
 */
export class SourceFeed {
  up = true;
  error: string | undefined;
  /** Times the source was opened again after failing. */
  restarts = 0;
  /** Frames taken, over every time the source was opened. */
  taken = 0;
  readonly series = new RateSeries();
  private pending: Promise<Frame> | undefined;
  /** performance.now() when the pending frame was asked for. */
  private pendingSince = 0;
  private backoff = REOPEN_FIRST_MS;
  private closed = false;
  private readonly wake = Promise.withResolvers<typeof NO_FRAME>();

  constructor(
    private source: FrameSource | undefined,
    private readonly open: () => Promise<FrameSource>,
    private readonly log: (event: string, fields?: Record<string, unknown>) => void,
    /** How long a frame asked for may take before the source counts as stalled and is reopened (ms). */
    private readonly stallMs = STALL_MIN_MS,
  ) {}

  /** The open source's own figures, undefined while it is down. */
  stats(): SourceStats | undefined {
    return this.source?.stats();
  }

  /**
   * The next frame, or NO_FRAME when none came within `waitMs` (or the source is down,
   * stalled, or close() was called).
   */
  async take(waitMs = Infinity): Promise<Frame | typeof NO_FRAME> {
    if (this.closed) return NO_FRAME;
    if (!this.source && !(await this.reopen())) return NO_FRAME;
    const source = this.source!;
    if (!this.pending) {
      this.pending = source.next();
      this.pending.catch(() => undefined); // handled when awaited below
      this.pendingSince = performance.now();
    }
    const pending = this.pending;
    const stallIn = this.pendingSince + this.stallMs - performance.now();
    const stalls = stallIn <= waitMs;
    const waits: Promise<Frame | typeof NO_FRAME>[] = [pending, this.wake.promise];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = Math.max(0, Math.min(stallIn, waitMs));
    if (Number.isFinite(timeoutMs)) waits.push(new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, NO_FRAME))));
    try {
      const frame = await Promise.race(waits);
      if (frame === NO_FRAME) {
        if (this.closed || !stalls) return NO_FRAME;
        throw new Error(`the source stalled: no frame for ${+(this.stallMs / 1000).toFixed(2)} s`);
      }
      this.pending = undefined;
      this.taken += 1;
      this.series.add(1, frame.data.length);
      return frame;
    } catch (error) {
      this.pending = undefined;
      if (this.closed) return NO_FRAME;
      this.up = false;
      this.error = (error as Error).message;
      this.log("source_down", { error: this.error });
      this.source = undefined;
      await source.close();
      return NO_FRAME;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops waiting and closes the source. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake.resolve(NO_FRAME);
    await this.source?.close();
  }

  /** Opens the source again; false when it failed (after the backoff) or close() came first (a late source is closed in the background). */
  private async reopen(): Promise<boolean> {
    const opening = this.open();
    let opened: FrameSource | typeof NO_FRAME;
    try {
      opened = await Promise.race([opening, this.wake.promise]);
    } catch (error) {
      this.error = (error as Error).message;
      await Promise.race([Bun.sleep(this.backoff), this.wake.promise]);
      this.backoff = Math.min(this.backoff * 2, REOPEN_MAX_MS);
      return false;
    }
    if (opened === NO_FRAME || this.closed) {
      opening.then((source) => source.close(), () => undefined);
      return false;
    }
    this.source = opened;
    this.up = true;
    this.error = undefined;
    this.restarts += 1;
    this.backoff = REOPEN_FIRST_MS;
    this.log("source_up", { restarts: this.restarts });
    return true;
  }
}
