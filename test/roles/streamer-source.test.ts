// A source that dies or goes quiet: viewers keep the last frame, /stats says the source is down, and it recovers when the source returns.
import { describe, expect, test } from "bun:test";
import { startRole } from "../helpers";
import { serveMjpeg } from "./mjpeg-server";
import { openViewer, readStats, waitForStats } from "./_streamer";

describe("source down and back", () => {
  test("an mjpeg-url source that dies and returns", async () => {
    await using upstream = serveMjpeg(0, 30);
    await using streamer = await startRole("streamer", { port: 0, source: `mjpeg-url:${upstream.url}`, fps: 30 });
    const port = streamer.stats().port as number;
    await using viewer = await openViewer(port, "low");
    await viewer.waitForFrames(5);

    await upstream.stop();
    const down = await waitForStats(port, (stats) => !stats.source.up);
    expect(down.source.error).toContain("mjpeg-url");
    expect(down.viewer_count).toBe(1); // the viewer stays connected, showing the last frame
    // A viewer arriving while the source is down still gets the last frame at once.
    await using late = await openViewer(port, "medium");
    await late.waitForFrames(1);
    expect((await fetch(`http://127.0.0.1:${port}/snapshot.jpg`)).status).toBe(200);

    await using back = serveMjpeg(upstream.port, 30);
    const up = await waitForStats(port, (stats) => stats.source.up && stats.source.restarts === 1);
    expect(up.source).not.toHaveProperty("error"); // the error is cleared once the source is back
    const seen = viewer.frames;
    await viewer.waitForFrames(seen + 10);
  });

  test("an upstream that goes quiet without closing is taken for stalled, closed and reopened", async () => {
    // The first stream sends 2 frames and then nothing, its connection left open; the next one is whole.
    // The reopen's stream is held until the test has seen the source down.
    const resume = Promise.withResolvers<void>();
    await using upstream = serveMjpeg(0, 30, true, { firstStreamFrames: 2, laterStreamsAfter: resume.promise });
    await using streamer = await startRole("streamer", { port: 0, source: `mjpeg-url:${upstream.url}`, fps: 30, sourceStall: "300ms" });
    const port = streamer.stats().port as number;
    await using viewer = await openViewer(port, "low");
    const down = await waitForStats(port, (stats) => !stats.source.up);
    expect(down.source.error).toBe("the source stalled: no frame for 0.33 s"); // 10 frame intervals at 30 fps, over 300 ms
    resume.resolve();
    await waitForStats(port, (stats) => stats.source.up && stats.source.restarts === 1);
    await viewer.waitForFrames(viewer.frames + 10); // the reopened stream reaches the viewer
    expect((await readStats(port)).source.frames).toBeGreaterThan(2 + 10);
  });

  test("stop() during a reopen of an upstream that never answers resolves at once", async () => {
    await using upstream = serveMjpeg(0, 30);
    await using streamer = await startRole("streamer", { port: 0, source: `mjpeg-url:${upstream.url}`, fps: 30 });
    const port = streamer.stats().port as number;
    await upstream.stop();
    // The same address now accepts and never answers: the reopen waits up to its 10 s timeout.
    const asked = Promise.withResolvers<void>();
    await using silent = Object.assign(Bun.serve({ port: upstream.port, hostname: "127.0.0.1", idleTimeout: 0, fetch: () => (asked.resolve(), new Promise<Response>(() => {})) }), {
      async [Symbol.asyncDispose]() {
        await silent.stop(true);
      },
    });
    await asked.promise;
    expect((await readStats(port)).source.up).toBe(false);
    // The reopen gives up after 10 s by itself: a stop that only waited for that would lose this race.
    const ended = await Promise.race([streamer.stop().then(() => "stopped"), Bun.sleep(8_000).then(() => "still stopping after 8 s")]);
    expect(ended).toBe("stopped");
  });
});
