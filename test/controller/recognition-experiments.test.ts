// The four recognition experiments of scenarios.toml, shortened, in local mode: results with intervals, and one result per image under failures.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO, makeTempDir, runController } from "../helpers";

const NAMES = ["recognition-workers", "recognition-loss", "recognition-delay", "recognition-failure"];

describe("recognition experiments", () => {
  test("run twice per point from the shipped file (runs shortened); every point has a mean with a 95% interval; failures lose no image", async () => {
    using dir = makeTempDir();
    const shipped = await Bun.file(join(REPO, "scenarios.toml")).text();
    const short = shipped.replace(/^duration = "[^"]+"/gm, 'duration = "2s"').replace(/^warmup = "[^"]+"/gm, 'warmup = "1s"').replaceAll("files:test/fixtures", `files:${join(REPO, "test", "fixtures")}`);
    await Bun.write(join(dir.path, "scenarios.toml"), short);
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--only", NAMES.join(","), "--repeat", "2", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    const points = results.scenarios.map((entry: any) => [entry.name, entry.point, entry.summary.images_per_s.n, entry.summary.mbit_per_s.ci95.length]);
    // 1, 2 and 3 workers; then loss, delay and failure on 3 workers, each from a zero-impairment point at the same CPU.
    const perScenario: Record<string, number> = { "recognition-workers": 3, "recognition-loss": 4, "recognition-delay": 4, "recognition-failure": 4 };
    expect(points.map((point: unknown[]) => point[0])).toEqual(NAMES.flatMap((name) => Array(perScenario[name]).fill(name)));
    for (const point of points) expect(point.slice(2)).toEqual([2, 2]);
    for (const entry of results.scenarios.filter((scenario: any) => scenario.name === "recognition-failure")) {
      for (const run of entry.runs) expect({ lost: run.lost, failed: run.failed, jobs_failed: run.jobs_failed, some: run.saved > 0 }).toEqual({ lost: 0, failed: 0, jobs_failed: 0, some: true });
    }
  });
});
