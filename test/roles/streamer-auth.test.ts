// The streamer with --viewer-token: every route answers 401 without it; ?token= opens one request, the page keeps it as a cookie for the stream and the figures.
import { describe, expect, test } from "bun:test";
import { startRole } from "../helpers";
import { openViewer } from "./_streamer";

const TOKEN = "viewer-token-7d21";

async function startStreamer(options: Record<string, unknown> = {}) {
  const handle = await startRole("streamer", { port: 0, source: "synthetic:160x120", fps: 30, ...options });
  return Object.assign(handle, { base: `http://127.0.0.1:${handle.stats().port as number}`, port: handle.stats().port as number });
}

async function answer(response: Response): Promise<{ status: number; error?: unknown }> {
  const text = await response.text();
  return { status: response.status, error: text.startsWith("{") ? JSON.parse(text).error : undefined };
}

describe("streamer viewer token", () => {
  test("with --viewer-token every route answers 401 UNAUTHORIZED without it or with a wrong one", async () => {
    await using streamer = await startStreamer({ viewerToken: TOKEN });
    const paths = ["/", "/viewer.js", "/stream?quality=low", "/snapshot.jpg", "/stats", "/stream?quality=low&token=wrong-token", "/stats?token=wrong"];
    const answers = await Promise.all(paths.map(async (path) => answer(await fetch(`${streamer.base}${path}`))));
    expect(answers).toEqual(paths.map(() => ({ status: 401, error: "UNAUTHORIZED" })));
    const refused = await fetch(`${streamer.base}/stats`, { headers: { cookie: "framefleet_viewer=wrong" } });
    expect(refused.status).toBe(401);
  });

  test("?token= opens the page, which keeps it as a cookie that opens /stats, /snapshot.jpg and /stream", async () => {
    await using streamer = await startStreamer({ viewerToken: TOKEN });
    const page = await fetch(`${streamer.base}/?token=${TOKEN}`);
    const cookie = page.headers.get("set-cookie") ?? "";
    const jar = { cookie: cookie.split(";")[0]! };
    const stats = await fetch(`${streamer.base}/stats`, { headers: jar });
    await using viewer = await openViewer(streamer.port, "low", `&token=${TOKEN}`);
    await viewer.waitForFrames(2);
    const snapshot = await fetch(`${streamer.base}/snapshot.jpg`, { headers: jar });
    expect({
      page: [page.status, page.headers.get("content-type")],
      cookie: cookie.replace(TOKEN, "TOKEN"),
      stats: [stats.status, ((await stats.json()) as { role: string }).role],
      snapshot: [snapshot.status, snapshot.headers.get("content-type")],
    }).toEqual({
      page: [200, "text/html; charset=utf-8"],
      cookie: "framefleet_viewer=TOKEN; Path=/; HttpOnly; SameSite=Strict",
      stats: [200, "streamer"],
      snapshot: [200, "image/jpeg"],
    });
  });

  test("without --viewer-token the page, the stream and the figures stay open", async () => {
    await using streamer = await startStreamer();
    await using viewer = await openViewer(streamer.port, "low");
    await viewer.waitForFrames(1);
    const statuses = await Promise.all(["/", "/stats"].map(async (path) => (await fetch(`${streamer.base}${path}`)).status));
    expect(statuses).toEqual([200, 200]);
  });
});
