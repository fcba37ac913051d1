// The quality tiers of the streamer (high, medium, low), the continuous channels (auto, gaming) and the viewer modes that pick among them.

/** The three tiers, best first. */
export const TIERS = ["high", "medium", "low"] as const;
/** A quality tier: every viewer of a tier gets the same encoded bytes. */
export type Tier = (typeof TIERS)[number];
/**
 * What a viewer gets encoded frames of: a tier, or one of the original's continuous-quality
 * channels (`auto`: quality 100 / viewers; `gaming`: quality that follows motion). Each
 * channel is one shared encode per frame, as a tier is.
 */
export type Channel = Tier | "auto" | "gaming";
/** The continuous channels. */
export const CONTINUOUS = ["auto", "gaming"] as const;
/** Every channel: the tiers, then the continuous ones. */
export const CHANNELS: readonly Channel[] = [...TIERS, ...CONTINUOUS];
/**
 * What a viewer asks for: a fixed tier (the original's Home mode), `auto` (quality 100 /
 * viewers, or an uplink share with --uplink), `motion` (our tier that follows the scene)
 * or `gaming` (the original's Gaming mode).
 */
export type ViewerMode = Tier | "auto" | "motion" | "gaming";
/** Every mode `?quality=` accepts. */
export const MODES: readonly ViewerMode[] = [...TIERS, "auto", "motion", "gaming"];

/** How a tier is encoded: JPEG quality (1-100) and scale of the source's width and height (0.05-1). */
export interface TierSettings {
  quality: number;
  scale: number;
}

/** Default tiers: high q80 at full size, medium q50 at full size, low q30 at half size. */
export const DEFAULT_TIERS: Record<Tier, TierSettings> = {
  high: { quality: 80, scale: 1 },
  medium: { quality: 50, scale: 1 },
  low: { quality: 30, scale: 0.5 },
};

/** The tier one step better (`up`) or worse than `tier`, staying at the ends. */
export function stepTier(tier: Tier, direction: "up" | "down"): Tier {
  const index = TIERS.indexOf(tier) + (direction === "up" ? -1 : 1);
  return TIERS[Math.min(TIERS.length - 1, Math.max(0, index))]!;
}

/** Whether a channel is one of the three tiers. */
export function isTier(channel: Channel): channel is Tier {
  return (TIERS as readonly string[]).includes(channel);
}

/** Whether `value` is a mode `?quality=` accepts. */
export function isViewerMode(value: string): value is ViewerMode {
  return (MODES as readonly string[]).includes(value);
}
