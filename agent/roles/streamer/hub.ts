// The streamer's core: takes source frames at the set rate, encodes each once per channel (tier, auto, gaming) that has viewers, hands the bytes to every viewer.
import { FleetError } from "../../errors";
import type { Frame, FrameSource, SourceStats } from "../../sources";
import { toGreyThumb } from "./_encode";
import { NO_FRAME, SourceFeed } from "./_source-feed";
import { TierEncoder } from "./_tier-encoder";
import { assignTiers, estimateBytes } from "./policy";
import { GamingQuality } from "./gaming";
import { MotionMeter } from "./motion";
import { TIERS, isTier, type Channel, type Tier, type TierSettings, type ViewerMode } from "./tiers";
import { Viewer } from "./viewer";

/** Settings of a hub. */
export interface HubSettings {
  /** Frames per second taken from the source; 0 = as fast as it gives them. */
  fps: number;
  tiers: Record<Tier, TierSettings>;
  /** Uplink budget for auto viewers (bit/s); undefined = quality 100 / viewers. */
  uplinkBps?: number;
  /** Most viewers at once; past it addViewer throws. */
  maxViewers: number;
  /** How long the source may send nothing before it is closed and reopened (ms); default STALL_MIN_MS. */
  stallMs?: number;
  /** How long a viewer's socket may take nothing before the viewer is closed (ms); default DRAIN_TIMEOUT_MS (30 s). */
  drainTimeoutMs?: number;
  /** Writes one structured log line. */
  log(event: string, fields?: Record<string, unknown>): void;
}

/** How long past its tick a late source frame is waited for before the previous one is repeated (share of the frame interval). */
const LATE_GRACE = 0.25;
/** Repeats cover a late frame only while the source kept this share of --fps over the last 3 s (a slower source is not padded). */
const STEADY_SOURCE = 0.8;

/**
 * Frames from a source to viewers. Per frame: the motion score (only while someone
 * watches), the tiers of auto and motion viewers, one encode per tier that has a viewer
 * wanting the frame, and the part offered to each such viewer. No viewer: no encode.
 * A source that fails is reopened with backoff while viewers keep the last frame.
 * With --fps, frames go out on the hub's own clock: when a live source's frame is late at
 * a tick, viewers get the previous part again (no encode; counted as `repeated`), so
 * their cadence stays even; a source slower than --fps is not padded.
 * Memory: the newest source frame and its pixels, the last part of each tier, two parts per viewer.
 */
export class StreamHub {
  readonly viewers = new Set<Viewer>();
  readonly motion = new MotionMeter();
  /** The gaming channel's quality, stepped once per frame while someone watches. */
  readonly gaming = new GamingQuality();
  /** The auto channel's quality: 100 / viewers, clamped (policy.ts). */
  autoQuality = 100;
  /** The source, with its up/down state, restarts and rate. */
  readonly feed: SourceFeed;
  /** The newest source frame (what /snapshot.jpg answers). */
  latest: Frame | undefined;
  /** Parts written again because the source's next frame was late at a tick. */
  repeated = 0;
  /** Figures of viewers that have left, so totals survive them: delivered and skipped frames, bytes, viewers, and those closed because their socket took nothing. */
  readonly retired = { delivered: 0, skipped: 0, bytes: 0, viewers: 0, timedOut: 0 };
  private nextId = 1;
  private stopped = false;
  private readonly wake = Promise.withResolvers<void>();
  private loop: Promise<void> | undefined;

  /** Encodes per tier, with their running totals. */
  readonly encoder: TierEncoder;

  constructor(
    source: FrameSource,
    open: () => Promise<FrameSource>,
    private readonly settings: HubSettings,
  ) {
    this.encoder = new TierEncoder((channel) => this.settingsOf(channel));
    this.feed = new SourceFeed(source, open, settings.log, settings.stallMs);
  }

  /** Starts taking frames. */
  start(): void {
    this.loop ??= this.run();
  }

  /**
   * Adds a viewer in `mode`; its first frame is the newest source frame, sent at once.
   * It is removed when it closes (its client left, or its socket took nothing for drainTimeoutMs).
   * @throws FleetError TOO_MANY_VIEWERS (503) past maxViewers; STOPPING (503) after stop().
   */
  addViewer(mode: ViewerMode, client: string): Viewer {
    if (this.stopped) throw new FleetError("STOPPING", "the streamer is stopping", 503);
    if (this.viewers.size >= this.settings.maxViewers)
      throw new FleetError("TOO_MANY_VIEWERS", `the streamer serves at most ${this.settings.maxViewers} viewers`, 503);
    const viewer = new Viewer(this.nextId++, mode, toFirstChannel(mode), client, this.settings.drainTimeoutMs);
    this.viewers.add(viewer);
    void viewer.closed.then(() => this.removeViewer(viewer));
    this.assign();
    // The first frame at once: the tier's newest part when it is of the newest frame or the
    // one before (or the source is down), else the newest frame encoded now, not at the next.
    const last = this.encoder.lastPart[viewer.tier];
    const latest = this.latest;
    if (last && (!this.feed.up || !latest || last.seq >= latest.seq - 1)) viewer.offer(last);
    else if (latest)
      this.encoder.partFor(latest, viewer.tier).then(
        (part) => viewer.offer(part),
        (error) => this.settings.log("frame_failed", { error: (error as Error).message }),
      );
    return viewer;
  }

  /** Removes a viewer (its client went away); idempotent. */
  removeViewer(viewer: Viewer): void {
    viewer.close();
    if (!this.viewers.delete(viewer)) return;
    this.retired.delivered += viewer.delivered;
    this.retired.skipped += viewer.skipped;
    this.retired.bytes += viewer.bytes;
    this.retired.viewers += 1;
    if (viewer.timedOut) this.retired.timedOut += 1;
    if (this.viewers.size === 0) {
      this.motion.reset();
      this.gaming.reset();
    }
  }

  /** Stops taking frames, closes every viewer and the source. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake.resolve();
    for (const viewer of [...this.viewers]) this.removeViewer(viewer);
    await this.feed.close();
    await this.loop;
  }

  /** The tiers' encoding settings. */
  get tierSettings(): Record<Tier, TierSettings> {
    return this.settings.tiers;
  }

  /** How a channel is encoded now: a tier's settings, or auto's and gaming's current quality at full size. */
  settingsOf(channel: Channel): TierSettings {
    if (isTier(channel)) return this.settings.tiers[channel];
    return { quality: channel === "auto" ? this.autoQuality : this.gaming.quality, scale: 1 };
  }

  /** The open source's own figures, undefined while it is down. */
  sourceStats(): SourceStats | undefined {
    return this.feed.stats();
  }

  /** Bytes per frame of each tier, measured or estimated (for the auto policy and /stats). */
  bytesPerFrame(): Record<Tier, number> {
    const counts = this.encoder.counts;
    const measured = Object.fromEntries(TIERS.filter((tier) => counts[tier].lastBytes).map((tier) => [tier, counts[tier].lastBytes]));
    return estimateBytes(measured, this.settings.tiers, this.latest?.data.length ?? 50_000);
  }

  private assign(): void {
    const fps = this.feed.series.rate(2) || this.settings.fps || 30;
    this.autoQuality = assignTiers(this.viewers, { tiers: this.settings.tiers, uplinkBps: this.settings.uplinkBps, fps, motion: this.motion.known ? this.motion.score : undefined, bytesPerFrame: this.bytesPerFrame() });
  }

  private async sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), this.wake.promise]);
    clearTimeout(timer);
  }

  private async run(): Promise<void> {
    const intervalMs = this.settings.fps > 0 ? 1000 / this.settings.fps : 0;
    let nextAt = performance.now();
    while (!this.stopped) {
      if (intervalMs > 0) {
        const wait = nextAt - performance.now();
        if (wait > 0) await this.sleep(wait);
        nextAt = Math.max(nextAt + intervalMs, performance.now() - intervalMs);
      } else if (this.viewers.size === 0) await this.sleep(5); // a stored source at --fps 0 would spin
      const steady = intervalMs > 0 && this.viewers.size > 0 && this.feed.series.rate(3) >= this.settings.fps * STEADY_SOURCE;
      const frame = await this.feed.take(steady ? intervalMs * LATE_GRACE : Infinity);
      if (this.stopped) break;
      if (frame === NO_FRAME) {
        if (steady && this.feed.up) this.repeatLast();
        continue;
      }
      this.latest = frame;
      if (this.viewers.size > 0) await this.deliver(frame).catch((error) => this.settings.log("frame_failed", { error: (error as Error).message }));
    }
  }

  /** Writes each viewer's newest part again, to viewers that are up to date and want a frame now. */
  private repeatLast(): void {
    const now = performance.now();
    for (const viewer of this.viewers) {
      const part = this.encoder.lastPart[viewer.tier];
      if (part && viewer.wantsFrame(now) && viewer.repeat(part)) this.repeated += 1;
    }
  }

  /** Decodes the frame, scores motion (and steps gaming), assigns channels, encodes once per channel some viewer wants now, offers it. */
  private async deliver(frame: Frame): Promise<void> {
    const now = performance.now();
    this.motion.update(toGreyThumb(await this.encoder.decode(frame)));
    this.gaming.step(this.motion.lastChange);
    this.assign();
    const wanting = new Map<Channel, Viewer[]>();
    for (const viewer of this.viewers) {
      if (!viewer.wantsFrame(now)) continue;
      const list = wanting.get(viewer.tier) ?? [];
      list.push(viewer);
      wanting.set(viewer.tier, list);
    }
    await Promise.all(
      [...wanting].map(async ([tier, list]) => {
        const part = await this.encoder.partFor(frame, tier);
        for (const viewer of list) viewer.offer(part);
      }),
    );
  }
}

/** The channel a new viewer starts on, until the policy assigns it: auto starts on auto (low under a budget), motion on medium. */
function toFirstChannel(mode: ViewerMode): Channel {
  return mode === "auto" ? "auto" : mode === "motion" ? "medium" : mode;
}
