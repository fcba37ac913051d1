// Encodes source frames per channel (tier, auto, gaming), once each: one decode per frame shared by the channels, the encode under way shared by whoever asks.
import { RateSeries } from "../../metrics";
import type { Frame } from "../../sources";
import { decodeFrame, encodeForTier, type DecodedFrame } from "./_encode";
import { CHANNELS, type Channel, type TierSettings } from "./tiers";
import { toPart, type Part } from "./viewer";

/** Running totals of one channel. */
export interface TierCounts {
  encodes: number;
  /** Bytes of the JPEGs encoded. */
  bytes: number;
  series: RateSeries;
  /** Bytes of the last JPEG encoded for the channel, undefined before the first. */
  lastBytes?: number;
}

/**
 * The per-channel encodes of a stream. A frame is decoded at most once and encoded at most
 * once per channel, however many callers ask for it at the same time; a channel's settings
 * are read when its encode starts (auto and gaming change quality between frames). Memory:
 * the pixels of the newest decoded frame and the newest part of each channel.
 */
export class TierEncoder {
  readonly counts = Object.fromEntries(CHANNELS.map((channel) => [channel, { encodes: 0, bytes: 0, series: new RateSeries() }])) as Record<Channel, TierCounts>;
  /** The newest part of each channel. */
  readonly lastPart: Partial<Record<Channel, Part>> = {};
  private readonly encoding = new Map<Channel, { seq: number; part: Promise<Part> }>();
  private decoded: { seq: number; pixels: Promise<DecodedFrame> } | undefined;

  constructor(private readonly settingsOf: (channel: Channel) => TierSettings) {}

  /** The pixels of `frame`, decoded once whoever asks. @throws Error from sharp when it does not decode. */
  decode(frame: Frame): Promise<DecodedFrame> {
    if (this.decoded?.seq !== frame.seq) this.decoded = { seq: frame.seq, pixels: decodeFrame(frame.data) };
    return this.decoded.pixels;
  }

  /**
   * The part of `frame` for `tier`: the newest one when it is that frame's, the encode
   * under way for it, or a new encode (counted in `counts`).
   * @throws Error from sharp when the frame does not decode.
   */
  partFor(frame: Frame, tier: Channel): Promise<Part> {
    const last = this.lastPart[tier];
    if (last?.seq === frame.seq) return Promise.resolve(last);
    const running = this.encoding.get(tier);
    if (running?.seq === frame.seq) return running.part;
    const part = this.decode(frame)
      .then((pixels) => encodeForTier(pixels, this.settingsOf(tier)))
      .then((jpeg) => {
        const counts = this.counts[tier];
        counts.encodes += 1;
        counts.bytes += jpeg.length;
        counts.lastBytes = jpeg.length;
        counts.series.add(1, jpeg.length);
        const encoded = toPart(tier, frame.seq, jpeg);
        if ((this.lastPart[tier]?.seq ?? -1) < frame.seq) this.lastPart[tier] = encoded;
        return encoded;
      })
      .finally(() => {
        if (this.encoding.get(tier)?.seq === frame.seq) this.encoding.delete(tier);
      });
    this.encoding.set(tier, { seq: frame.seq, part });
    return part;
  }
}
