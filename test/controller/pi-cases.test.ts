// The acceptance run: the five Raspberry Pi cases, 3 repeats each, end to end, and report.html drawn offline in Chromium.
import { describe, expect } from "bun:test";
import { join } from "node:path";
import { FIXTURES, REPO, makeTempDir } from "../helpers";
import { testWith } from "../_requires";
import { launchBrowser, openOffline } from "../web/chromium";

/** The parts of a browser canvas the check reads (the DOM library is not in this project's types). */
type Canvas = { width: number; height: number; getContext(kind: "2d"): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null };

const CASES = ["case1-1to1", "case2-2to1", "case3-3to1", "case4-2x2", "case5-3x3"];

describe("the five Raspberry Pi cases", () => {
  testWith("chromium")("repeat 3: results.json with mean, std and ci95 for every figure, results.csv, and a report drawn offline", async () => {
    using dir = makeTempDir();
    // The shipped file, run shorter so the suite stays quick: same agents, roles and options.
    const shipped = await Bun.file(join(REPO, "scenarios.toml")).text();
    const quick = shipped
      .replace(/^duration = .*$/m, 'duration = "700ms"')
      .replace(/^warmup = .*$/m, 'warmup = "300ms"')
      .replaceAll("files:test/fixtures", `files:${FIXTURES}`);
    await Bun.write(join(dir.path, "scenarios.toml"), quick);
    const out = join(dir.path, "out");
    const child = Bun.spawn([process.execPath, join(REPO, "controller", "main.ts"), "run", "scenarios.toml", "--local", "--only", CASES.join(","), "--repeat", "3", "--out", out], {
      cwd: dir.path,
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
    });
    const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text()]);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    expect(results.scenarios.map((entry: { name: string }) => entry.name)).toEqual(CASES);
    for (const entry of results.scenarios as { runs: { status: string; lost: number }[]; summary: Record<string, Record<string, unknown>> }[]) {
      expect(entry.runs.map((run) => [run.status, run.lost])).toEqual([["ok", 0], ["ok", 0], ["ok", 0]]);
      for (const summary of Object.values(entry.summary)) expect(Object.keys(summary).sort()).toEqual(["ci95", "mean", "n", "std"]);
    }
    expect((await Bun.file(join(out, "results.csv")).text()).trim().split("\r\n").length).toBe(1 + 15);

    await using browser = await launchBrowser();
    const { page, errors } = await openOffline(browser, join(out, "report.html"));
    const painted = await page.evaluate(() =>
      [...(globalThis as unknown as { document: { querySelectorAll(selector: string): Iterable<Canvas> } }).document.querySelectorAll("canvas")].map((canvas) => {
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        let opaque = 0;
        for (let at = 3; at < data.length; at += 4) if (data[at]! > 0) opaque += 1;
        return opaque > 0.02 * canvas.width * canvas.height;
      }),
    );
    // The summary (every case side by side), then per case a box plot over the repeats, a throughput-over-time chart and a CPU-over-time chart.
    expect({ charts: painted.length, drawn: painted.every(Boolean), errors }).toEqual({ charts: 1 + 15, drawn: true, errors: [] });
  });
});
