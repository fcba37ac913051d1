// Chooses the tier (and frame rate) of auto and motion viewers: an uplink budget shared out, or the original's 100/N rule; motion follows the scene.
import { MOVING_SCORE, STILL_SCORE } from "./motion";
import { TIERS, nearestTier, type Tier, type TierSettings } from "./tiers";
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
 * Sets `tier` (and `minIntervalMs`) of every auto and motion viewer. Motion viewers follow
 * the motion score. Auto viewers: without a budget every one gets the tier nearest quality
 * 100 / (number of viewers); with a budget they all start on low and are raised one
 * viewer at a time (lowest id first), to medium and then high, while the estimated total
 * bit rate of all viewers stays within the budget.
 */
export function assignTiers(viewers: Iterable<Viewer>, input: PolicyInput): void {
  const all = [...viewers];
  const bits = (tier: Tier) => input.bytesPerFrame[tier] * 8 * input.fps;
  const motionTier = input.motion === undefined ? "medium" : toMotionTier(input.motion);
  const autos: Viewer[] = [];
  let used = 0;
  for (const viewer of all) {
    if (viewer.mode === "motion") {
      viewer.tier = motionTier;
      viewer.minIntervalMs = MOTION_RATE[motionTier] >= 1 ? 0 : 1000 / Math.max(1, input.fps * MOTION_RATE[motionTier]);
    }
    if (viewer.mode === "auto") autos.push(viewer);
    else used += bits(viewer.tier) * (viewer.minIntervalMs > 0 ? Math.min(1, 1000 / viewer.minIntervalMs / input.fps) : 1);
  }
  if (autos.length === 0) return;
  if (input.uplinkBps === undefined) {
    const tier = nearestTier(100 / all.length, input.tiers);
    for (const viewer of autos) viewer.tier = tier;
    return;
  }
  autos.sort((a, b) => a.id - b.id);
  for (const viewer of autos) viewer.tier = "low";
  used += autos.length * bits("low");
  for (const tier of ["medium", "high"] as const) {
    for (const viewer of autos) {
      const extra = bits(tier) - bits(viewer.tier);
      if (used + extra > input.uplinkBps) return;
      used += extra;
      viewer.tier = tier;
    }
  }
}
