// Motion mode: a still scene settles on the low tier at a lower frame rate, a moving one climbs to high; the score is in /stats.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { MOVING_SCORE, STILL_SCORE } from "../../agent/roles/streamer/motion";
import { FIXTURES, startRole } from "../helpers";
import { openViewer, readStats, waitForStats } from "./_streamer";

async function watchInMotionMode(source: string) {
  await using streamer = await startRole("streamer", { port: 0, source, fps: 30 });
  const port = streamer.stats().port as number;
  await using viewer = await openViewer(port, "motion");
  await viewer.waitForFrames(1);
  const first = await readStats(port);
  // Settled: the smoothed score has had 40 more frames to converge.
  const settled = await waitForStats(port, (stats) => stats.source.frames >= first.source.frames + 40);
  return { first: first.viewers[0]!, settled };
}

describe("motion mode", () => {
  test("a still scene (one photo, repeated) settles on the low tier", async () => {
    const { first, settled } = await watchInMotionMode(`files:${join(FIXTURES, "chelsea-480p.jpg")}`);
    expect(first.mode).toBe("motion");
    expect(settled.motion).toBeLessThan(STILL_SCORE);
    expect(settled.viewers[0]).toMatchObject({ mode: "motion", tier: "low" });
    expect(settled.tiers.low.viewers).toBe(1);
    // A still scene also gets fewer frames: a quarter of the source rate on low, half on medium.
    expect(settled.viewers[0]!.delivered - first.delivered).toBeLessThan(0.6 * 40);
  });

  test("a moving scene (the synthetic square) climbs to the high tier", async () => {
    const { first, settled } = await watchInMotionMode("synthetic:320x240");
    expect(first.mode).toBe("motion");
    expect(settled.motion).toBeGreaterThanOrEqual(MOVING_SCORE);
    expect(settled.viewers[0]).toMatchObject({ mode: "motion", tier: "high" });
  });
});
