// A viewer whose socket takes nothing (a connection that died silently) is closed after the drain timeout, freeing its slot.
import { describe, expect, test } from "bun:test";
import { openSource, parseSourceSpec } from "../../agent/sources";
import { StreamHub } from "../../agent/roles/streamer/hub";
import { readStreamerStats } from "../../agent/roles/streamer/stats";
import { toPart, Viewer, type StreamWriter } from "../../agent/roles/streamer/viewer";

/** A socket writer whose writes are never taken (a peer that vanished without FIN or RST). */
const deadWriter: StreamWriter = { write: () => new Promise<number>(() => {}), flush: () => new Promise<number>(() => {}) };
const tiers = { high: { quality: 80, scale: 1 }, medium: { quality: 50, scale: 1 }, low: { quality: 30, scale: 0.5 } };

describe("a viewer whose socket takes nothing", () => {
  test("is closed once a part waited drainTimeoutMs; a viewer whose socket drains is not", async () => {
    const jpeg = Uint8Array.of(0xff, 0xd8, 0xff, 0xd9);
    // The draining viewer's parts go out first: were its timer left running, it would close before the dead one.
    const alive = new Viewer(1, "low", "low", "", 50);
    alive.attach({ write: async (data) => data.length, flush: async () => 0 });
    alive.offer(toPart("low", 0, jpeg));
    alive.offer(toPart("low", 1, jpeg));
    const dead = new Viewer(2, "low", "low", "", 50);
    dead.attach(deadWriter);
    dead.offer(toPart("low", 0, jpeg));
    await dead.closed;
    expect({ dead: [dead.isOpen, dead.timedOut, dead.delivered], alive: [alive.isOpen, alive.timedOut, alive.delivered] }).toEqual({
      dead: [false, true, 1],
      alive: [true, false, 2],
    });
    alive.close();
  });

  test("the hub frees its slot and counts it in viewers_timed_out", async () => {
    const source = await openSource(parseSourceSpec("synthetic:64x48"));
    const hub = new StreamHub(source, () => openSource(parseSourceSpec("synthetic:64x48")), { fps: 30, tiers, maxViewers: 1, drainTimeoutMs: 50, log: () => {} });
    try {
      hub.start();
      const viewer = hub.addViewer("low", "dead");
      viewer.attach(deadWriter);
      await viewer.closed;
      const stats = readStreamerStats(hub, { port: 0, startedAt: Date.now(), reactions: 0, uplinkBps: undefined, spec: "synthetic", now: Date.now() });
      expect({ count: stats.viewer_count, total: stats.viewers_total, timedOut: stats.viewers_timed_out }).toEqual({ count: 0, total: 1, timedOut: 1 });
      expect(hub.addViewer("low", "next").isOpen).toBe(true); // the one slot is free again
    } finally {
      await hub.stop();
    }
  });
});
