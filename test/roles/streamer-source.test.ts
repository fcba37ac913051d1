// A source that dies: viewers keep the last frame, /stats says the source is down, and it recovers when the source returns.
import { describe, expect, test } from "bun:test";
import { startRole } from "../helpers";
import { serveMjpeg } from "./_mjpeg-server";
import { openViewer, readStats, waitForStats } from "./_streamer";

describe("source down and back", () => {
  test("an mjpeg-url source that dies and returns", async () => {
    const upstream = serveMjpeg(0, 30);
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
    const seen = viewer.frames;
    await viewer.waitForFrames(seen + 10);
    expect(up.source.restarts).toBe(1);
    expect((await readStats(port)).source.up).toBe(true);
  });
});
