// The viewer load client: streams that connect after it was aborted are closed at once, so the load ends without waiting for the server.
import { describe, expect, test } from "bun:test";
import { runViewerLoad } from "../../agent/roles/streamer/load";
import { startRole } from "../helpers";

describe("viewer load", () => {
  test("aborted while its streams connect, it ends at once rather than at the end of its window", async () => {
    await using streamer = await startRole("streamer", { port: 0, source: "synthetic:64x48", fps: 30 });
    const abort = new AbortController();
    // A one-hour window: only the abort can end the load before the test's deadline.
    const load = runViewerLoad({ url: `http://127.0.0.1:${streamer.stats().port}/stream?quality=low`, viewers: 5, durationMs: 3_600_000, signal: abort.signal });
    abort.abort(); // before any socket has connected
    const figures = await Promise.race([load, Bun.sleep(60_000).then(() => "still running after 60 s" as const)]);
    expect(figures).toMatchObject({ viewers: 5, frames: 0 });
  });

  test("a signal aborted before the load starts ends it at once", async () => {
    await using streamer = await startRole("streamer", { port: 0, source: "synthetic:64x48", fps: 30 });
    const figures = await runViewerLoad({ url: `http://127.0.0.1:${streamer.stats().port}/stream`, viewers: 2, durationMs: 60_000, signal: AbortSignal.abort() });
    expect({ viewers: figures.viewers, failed: figures.failed }).toEqual({ viewers: 2, failed: 2 });
  });
});
