// The auto and motion policies: the original's 100/N rule (a continuous quality), an uplink budget shared out tier by tier, motion thresholds.
import { describe, expect, test } from "bun:test";
import { AUTO_MIN_QUALITY, assignTiers, estimateBytes, toAutoQuality, toMotionTier, type PolicyInput } from "../../agent/roles/streamer/policy";
import { DEFAULT_TIERS, type ViewerMode } from "../../agent/roles/streamer/tiers";
import { Viewer } from "../../agent/roles/streamer/viewer";

const viewersOf = (...modes: ViewerMode[]) => modes.map((mode, index) => new Viewer(index + 1, mode, mode === "auto" || mode === "motion" ? "low" : mode, ""));
const input = (overrides: Partial<PolicyInput> = {}): PolicyInput => ({
  tiers: DEFAULT_TIERS,
  uplinkBps: undefined,
  fps: 10,
  motion: 0,
  bytesPerFrame: { high: 100_000, medium: 50_000, low: 10_000 },
  ...overrides,
});

describe("auto without a budget: quality = 100 / viewers, one shared auto channel", () => {
  test.each([
    [1, 100],
    [2, 50],
    [3, 33],
    [4, 25],
    [10, 10],
    [20, AUTO_MIN_QUALITY],
  ])("%i viewer(s) -> quality %i", (count, quality) => {
    const viewers = viewersOf(...Array<ViewerMode>(count).fill("auto"));
    const autoQuality = assignTiers(viewers, input());
    expect({ channels: [...new Set(viewers.map((viewer): string => viewer.tier))], autoQuality, rule: toAutoQuality(count) }).toEqual({ channels: ["auto"], autoQuality: quality, rule: quality });
  });

  test("every viewer counts, whatever its mode; the clamp is 10", () => {
    const viewers = viewersOf("high", "auto", "gaming", "motion");
    expect({ quality: assignTiers(viewers, input()), tiers: viewers.map((viewer) => viewer.tier), clamp: AUTO_MIN_QUALITY }).toEqual({
      quality: 25,
      tiers: ["high", "auto", "gaming", "low"],
      clamp: 10,
    });
  });
});

describe("auto with an uplink budget", () => {
  test("every auto viewer starts on low and is raised one at a time while the budget allows", () => {
    // At 10 fps: low 0.8 Mbit/s, medium 4, high 8. Budget 14 Mbit/s for 3 auto viewers.
    const viewers = viewersOf("auto", "auto", "auto");
    assignTiers(viewers, input({ uplinkBps: 14e6 }));
    // 3 x low = 2.4; all to medium = 12; first to high = 16 > 14: stays.
    expect(viewers.map((viewer) => viewer.tier)).toEqual(["medium", "medium", "medium"]);
    assignTiers(viewers, input({ uplinkBps: 20e6 }));
    expect(viewers.map((viewer) => viewer.tier)).toEqual(["high", "high", "medium"]);
  });

  test("fixed viewers use the budget first; a budget too small for all on low leaves them on low", () => {
    const viewers = viewersOf("high", "auto", "auto");
    assignTiers(viewers, input({ uplinkBps: 10e6 }));
    expect(viewers.map((viewer) => viewer.tier)).toEqual(["high", "low", "low"]);
    assignTiers(viewers, input({ uplinkBps: 1e6 }));
    expect(viewers.map((viewer) => viewer.tier)).toEqual(["high", "low", "low"]);
  });

  test("tiers not encoded yet are estimated from a measured one", () => {
    const estimate = estimateBytes({ low: 10_000 }, DEFAULT_TIERS, 0);
    expect(estimate.low).toBe(10_000);
    expect(estimate.high).toBeGreaterThan(estimate.medium);
    expect(estimate.medium).toBeGreaterThan(estimate.low);
  });
});

describe("motion", () => {
  test("the score picks the tier, and a still scene gets a quarter of the frame rate", () => {
    expect([toMotionTier(0), toMotionTier(0.02), toMotionTier(0.5)]).toEqual(["low", "medium", "high"]);
    const [viewer] = viewersOf("motion");
    assignTiers([viewer!], input({ motion: 0 }));
    expect({ tier: viewer!.tier, minIntervalMs: viewer!.minIntervalMs }).toEqual({ tier: "low", minIntervalMs: 400 });
    assignTiers([viewer!], input({ motion: 0.5 }));
    expect({ tier: viewer!.tier, minIntervalMs: viewer!.minIntervalMs }).toEqual({ tier: "high", minIntervalMs: 0 });
    assignTiers([viewer!], input({ motion: undefined }));
    expect(viewer!.tier).toBe("medium");
  });
});
