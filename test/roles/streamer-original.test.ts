// The original MJPEG streamer's modes: auto at quality 100 / viewers (one shared encode), Gaming (quality -1 per frame, + while moving).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { GAMING_DECAY, GAMING_GAIN, GAMING_START_QUALITY, GamingQuality } from "../../agent/roles/streamer/gaming";
import { MotionMeter } from "../../agent/roles/streamer/motion";
import { FIXTURES, startRole } from "../helpers";
import { openViewer, readStats, waitForStats, type TestViewer } from "./_streamer";

describe("auto: quality 100 / viewers, one shared encode", () => {
  test("1, 2, 4 and 10 auto viewers get quality 100, 50, 25 and 10; auto encodes per source frame stay at most one", async () => {
    await using streamer = await startRole("streamer", { port: 0, source: "synthetic:320x240", fps: 30 });
    const port = streamer.stats().port as number;
    const viewers: TestViewer[] = [];
    const seen: Record<number, unknown> = {};
    try {
      for (const count of [1, 2, 4, 10]) {
        while (viewers.length < count) viewers.push(await openViewer(port, "auto"));
        await Promise.all(viewers.map((viewer) => viewer.waitForFrames(1)));
        const before = await waitForStats(port, (stats) => stats.viewer_count === count);
        // 20 more source frames: counted, not timed.
        const after = await waitForStats(port, (stats) => stats.source.frames >= before.source.frames + 20);
        const encodes = after.continuous.auto.encodes - before.continuous.auto.encodes;
        const frames = after.source.frames - before.source.frames;
        seen[count] = {
          quality: after.continuous.auto.quality,
          viewers: after.continuous.auto.viewers,
          qualities: [...new Set(after.viewers.map((viewer) => viewer.quality))],
          atMostOnePerFrame: encodes <= frames + 1,
          tierEncodes: TIER_NAMES.map((tier) => after.tiers[tier].encodes - before.tiers[tier].encodes),
        };
      }
    } finally {
      for (const viewer of viewers) viewer.close();
    }
    const expected = (quality: number, count: number) => ({ quality, viewers: count, qualities: [quality], atMostOnePerFrame: true, tierEncodes: [0, 0, 0] });
    expect(seen).toEqual({ 1: expected(100, 1), 2: expected(50, 2), 4: expected(25, 4), 10: expected(10, 10) });
  });
});

const TIER_NAMES = ["high", "medium", "low"] as const;

/** A 64x48 grey copy: a bright 16x16 square at x on a dark ground. */
function toSquareThumb(x: number): Uint8Array {
  const grey = new Uint8Array(64 * 48).fill(20);
  for (let row = 16; row < 32; row += 1) grey.fill(230, row * 64 + x, row * 64 + x + 16);
  return grey;
}

describe("gaming: quality -1 per frame, +points while the frame difference shows motion", () => {
  test("per frame (counted): a moving square raises it by GAIN - DECAY, a still one lowers it by DECAY, within 10..100", () => {
    const meter = new MotionMeter();
    const gaming = new GamingQuality();
    const run = (frames: number, moving: boolean) => {
      for (let frame = 0; frame < frames; frame += 1) {
        meter.update(toSquareThumb(moving ? (frame * 8) % 48 : 10));
        gaming.step(meter.lastChange);
      }
      return gaming.quality;
    };
    meter.update(toSquareThumb(10));
    const rose = run(5, true);
    const fell = run(6, false); // the first still frame still differs from the last moving one
    const floor = run(200, false);
    const top = run(100, true);
    expect({ rose, fell, floor, top }).toEqual({
      rose: GAMING_START_QUALITY + 5 * (GAMING_GAIN - GAMING_DECAY),
      fell: GAMING_START_QUALITY + 5 * (GAMING_GAIN - GAMING_DECAY) + (GAMING_GAIN - GAMING_DECAY) - 5 * GAMING_DECAY,
      floor: 10,
      top: 100,
    });
  });

  async function watchGaming(source: string): Promise<{ start: number; settled: number; viewer: unknown }> {
    await using streamer = await startRole("streamer", { port: 0, source, fps: 30 });
    const port = streamer.stats().port as number;
    await using viewer = await openViewer(port, "gaming");
    await viewer.waitForFrames(1);
    const first = await readStats(port);
    const settled = await waitForStats(port, (stats) => stats.source.frames >= first.source.frames + 30);
    return { start: first.continuous.gaming.quality, settled: settled.continuous.gaming.quality, viewer: settled.viewers[0] };
  }

  test("a moving synthetic scene raises the gaming quality over 30 frames", async () => {
    const { start, settled, viewer } = await watchGaming("synthetic:320x240");
    expect({ rose: settled > start, viewer }).toEqual({ rose: true, viewer: expect.objectContaining({ mode: "gaming", tier: "gaming" }) });
  });

  test("a still scene (one photo, repeated) lowers it over 30 frames", async () => {
    const { start, settled } = await watchGaming(`files:${join(FIXTURES, "chelsea-480p.jpg")}`);
    expect({ fell: settled < start, byAtLeast: start - settled >= 20 }).toEqual({ fell: true, byAtLeast: true });
  });
});
