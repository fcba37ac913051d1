// Encodes source frames per tier, once each: one decode per frame shared by the tiers, the encode under way shared by whoever asks.
import { RateSeries } from "../../metrics";
import type { Frame } from "../../sources";
import { decodeFrame, encodeForTier, type DecodedFrame } from "./_encode";
import type { Tier, TierSettings } from "./tiers";
import { toPart, type Part } from "./viewer";

/** Running totals of one tier. */
export interface TierCounts {
  encodes: number;
  /** Bytes of the JPEGs encoded. */
  bytes: number;
  series: RateSeries;
  /** Bytes of the last JPEG encoded for the tier, undefined before the first. */
  lastBytes?: number;
}

/**
 * The per-tier encodes of a stream. A frame is decoded at most once and encoded at most
 * once per tier, however many callers ask for it at the same time. Memory: the pixels of
 * the newest decoded frame and the newest part of each tier.
 */
export class TierEncoder {
  readonly counts: Record<Tier, TierCounts> = {
    high: { encodes: 0, bytes: 0, series: new RateSeries() },
    medium: { encodes: 0, bytes: 0, series: new RateSeries() },
    low: { encodes: 0, bytes: 0, series: new RateSeries() },
  };
  /** The newest part of each tier. */
  readonly lastPart: Partial<Record<Tier, Part>> = {};
  private readonly encoding = new Map<Tier, { seq: number; part: Promise<Part> }>();
  private decoded: { seq: number; pixels: Promise<DecodedFrame> } | undefined;

  constructor(private readonly tiers: Record<Tier, TierSettings>) {}

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
  partFor(frame: Frame, tier: Tier): Promise<Part> {
    const last = this.lastPart[tier];
    if (last?.seq === frame.seq) return Promise.resolve(last);
    const running = this.encoding.get(tier);
    if (running?.seq === frame.seq) return running.part;
    const part = this.decode(frame)
      .then((pixels) => encodeForTier(pixels, this.tiers[tier]))
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
