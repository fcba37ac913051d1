// The quality tiers of the streamer (high, medium, low) and the viewer modes that pick among them.

/** The three tiers, best first. */
export const TIERS = ["high", "medium", "low"] as const;
/** A quality tier: every viewer of a tier gets the same encoded bytes. */
export type Tier = (typeof TIERS)[number];
/** What a viewer asks for: a fixed tier, `auto` (an uplink share) or `motion` (follows the scene). */
export type ViewerMode = Tier | "auto" | "motion";
/** Every mode `?quality=` accepts. */
export const MODES: readonly ViewerMode[] = [...TIERS, "auto", "motion"];

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

/** The tier whose JPEG quality is nearest `quality` (the original's 100/N rule gives a quality, not a tier). */
export function nearestTier(quality: number, tiers: Record<Tier, TierSettings>): Tier {
  let best: Tier = "low";
  for (const tier of TIERS) if (Math.abs(tiers[tier].quality - quality) < Math.abs(tiers[best].quality - quality)) best = tier;
  return best;
}

/** Whether `value` is a mode `?quality=` accepts. */
export function isViewerMode(value: string): value is ViewerMode {
  return (MODES as readonly string[]).includes(value);
}
