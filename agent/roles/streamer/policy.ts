// Chooses the channel (and frame rate) of auto, motion and gaming viewers: the original's 100/N quality or an uplink budget shared out; motion follows the scene.
import { MOVING_SCORE, STILL_SCORE } from "./motion";
import { TIERS, isTier, type Tier, type TierSettings } from "./tiers";
import type { Viewer } from "./viewer";

/** What the policy knows of the stream. */
export interface PolicyInput {
  tiers: Record<Tier, TierSettings>;
  /** Uplink budget in bit/s; undefined = the original rule, quality = 100 / viewers. */
  uplinkBps: number | undefined;
  /** Frames per second the source delivers (the target rate when not measured yet). */
  fps: number;
  /** Smoothed motion score 0..1, undefined while not known yet (motion viewers then get medium). */
  motion: number | undefined;
  /** Estimated bytes of one frame per tier (measured where a tier was encoded, else modelled). */
  bytesPerFrame: Record<Tier, number>;
}

/**
 * The lowest JPEG quality the auto channel goes to (10). From about 11 viewers on, 100 / N
 * would go below it: there, 8x8 blocks make the picture unreadable while bytes per frame
 * hardly shrink any more (JPEG headers and DC terms stay), so more viewers share quality 10.
 */
export const AUTO_MIN_QUALITY = 10;

/** The original's automatic quality: 100 / viewers as a continuous JPEG quality, rounded, clamped to AUTO_MIN_QUALITY..100. */
export function toAutoQuality(viewers: number): number {
  return Math.min(100, Math.max(AUTO_MIN_QUALITY, Math.round(100 / Math.max(1, viewers))));
}

/** Share of the source frame rate a motion viewer gets on each tier: full while moving, a quarter while still. */
const MOTION_RATE: Record<Tier, number> = { high: 1, medium: 0.5, low: 0.25 };

/** A rough JPEG size model for tiers not encoded yet: bytes grow with the pixel count and with quality. */
function modelSize(settings: TierSettings): number {
  return settings.scale * settings.scale * (0.25 + 0.75 * (settings.quality / 100) ** 1.5);
}

/**
 * Bytes per frame for each tier: measured sizes where known; the others scaled from a
 * measured tier (or from the source frame, taken as quality 90 at full size) by modelSize.
 */
export function estimateBytes(measured: Partial<Record<Tier, number>>, tiers: Record<Tier, TierSettings>, sourceBytes: number): Record<Tier, number> {
  const known = TIERS.find((tier) => measured[tier] !== undefined);
  const base = known ? measured[known]! / modelSize(tiers[known]) : sourceBytes / modelSize({ quality: 90, scale: 1 });
  return Object.fromEntries(TIERS.map((tier) => [tier, measured[tier] ?? base * modelSize(tiers[tier])])) as Record<Tier, number>;
}

/** The tier motion asks for: high above MOVING_SCORE, low below STILL_SCORE, medium between. */
export function toMotionTier(score: number): Tier {
  return score >= MOVING_SCORE ? "high" : score < STILL_SCORE ? "low" : "medium";
}

/**
 * Sets `tier` (and `minIntervalMs`) of every auto, motion and gaming viewer; answers the
 * auto channel's quality. Motion viewers follow the motion score; gaming viewers share the
 * gaming channel. Auto viewers: without a budget every one gets the auto channel, encoded
 * once at quality toAutoQuality(number of viewers); with a budget they all start on low and
 * are raised one viewer at a time (lowest id first), to medium and then high, while the
 * estimated total bit rate of all viewers stays within the budget (gaming counted as high).
 */
export function assignTiers(viewers: Iterable<Viewer>, input: PolicyInput): number {
  const all = [...viewers];
  const autoQuality = toAutoQuality(all.length);
  const bits = (tier: Tier) => input.bytesPerFrame[tier] * 8 * input.fps;
  const motionTier = input.motion === undefined ? "medium" : toMotionTier(input.motion);
  const autos: Viewer[] = [];
  let used = 0;
  for (const viewer of all) {
    if (viewer.mode === "motion") {
      viewer.tier = motionTier;
      viewer.minIntervalMs = MOTION_RATE[motionTier] >= 1 ? 0 : 1000 / Math.max(1, input.fps * MOTION_RATE[motionTier]);
    }
    if (viewer.mode === "gaming") viewer.tier = "gaming";
    if (viewer.mode === "auto") autos.push(viewer);
    else used += bits(isTier(viewer.tier) ? viewer.tier : "high") * (viewer.minIntervalMs > 0 ? Math.min(1, 1000 / viewer.minIntervalMs / input.fps) : 1);
  }
  if (autos.length === 0) return autoQuality;
  if (input.uplinkBps === undefined) {
    for (const viewer of autos) viewer.tier = "auto";
    return autoQuality;
  }
  autos.sort((a, b) => a.id - b.id);
  for (const viewer of autos) viewer.tier = "low";
  used += autos.length * bits("low");
  for (const tier of ["medium", "high"] as const) {
    for (const viewer of autos) {
      const extra = bits(tier) - bits(viewer.tier as Tier);
      if (used + extra > input.uplinkBps) return autoQuality;
      used += extra;
      viewer.tier = tier;
    }
  }
  return autoQuality;
}
