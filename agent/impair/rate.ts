// The `rate` of an impairment: parsing "20Mbit" and the token bucket that paces bytes sent.
import { FleetError } from "../errors";

/** SI prefixes of a rate, as tc(8) spells them (1 kbit = 1000 bit/s). */
const PREFIX: Record<string, number> = { "": 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 };
const RATE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)bit(?:\/s)?$/i;

/**
 * Parses a rate such as `500kbit`, `20Mbit`, `1Gbit` (also `20Mbit/s`; SI prefixes,
 * case-insensitive, bits not bytes) into bits per second. tc's `bps` (bytes per second)
 * is refused rather than guessed at.
 * @throws FleetError BAD_RATE (422) naming `where`.
 */
export function parseRate(value: string, where: string): number {
  const match = RATE.exec(value.trim());
  const bitsPerSecond = match ? Number(match[1]) * PREFIX[match[2]!.toLowerCase()]! : NaN;
  if (!(bitsPerSecond > 0) || !Number.isFinite(bitsPerSecond))
    throw new FleetError("BAD_RATE", `${where}: "${value}" is not a rate (use 500kbit, 20Mbit, 1Gbit)`, 422);
  return bitsPerSecond;
}

/** How much of the rate the bucket holds when full (ms): a burst of 50 ms of line rate. */
const BUCKET_MS = 50;

/**
 * A token bucket (RFC 2697 section 3: tokens accrue at the rate up to the bucket's depth,
 * and the bucket starts full) counting bytes. A message of `bytes` takes that many tokens;
 * tokens may go negative, and the caller then waits until the debt is repaid, which is the
 * bucket's "wait until enough tokens" in the virtual-scheduling form (ITU-T I.371 GCRA):
 * callers that reserve at once are served in order without a queue of their own.
 * Depth: `BUCKET_MS` of the rate, or the largest message seen if that is larger.
 */
export class TokenBucket {
  private tokens: number;
  private depth: number;
  private updatedAt: number;

  /** A full bucket for `bitsPerSecond`; the `nowMs` arguments let tests drive the clock. */
  constructor(private readonly bitsPerSecond: number, nowMs = performance.now()) {
    this.depth = (bitsPerSecond / 8) * (BUCKET_MS / 1000);
    this.tokens = this.depth;
    this.updatedAt = nowMs;
  }

  /** Takes `bytes` tokens and answers how long (ms) the caller must wait before sending them. */
  reserve(bytes: number, nowMs = performance.now()): number {
    const bytesPerMs = this.bitsPerSecond / 8 / 1000;
    if (bytes > this.depth) this.depth = bytes;
    this.tokens = Math.min(this.depth, this.tokens + (nowMs - this.updatedAt) * bytesPerMs);
    this.updatedAt = nowMs;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : -this.tokens / bytesPerMs;
  }
}
