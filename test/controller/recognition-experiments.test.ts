// The four recognition experiments of scenarios.toml in local mode, as shipped (each run a batch of 5 images): results with intervals, one result per image under failures.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { REPO, makeTempDir, runController } from "../helpers";

// 1, 2 and 3 workers; then loss, delay and failure on 3 workers, each from a zero-impairment point at the same CPU.
const POINTS: Record<string, number> = { "recognition-workers": 3, "recognition-loss": 4, "recognition-delay": 4, "recognition-failure": 4 };

describe("recognition experiments (batches of 5 images as shipped, two repeats per point)", () => {
  const dir = makeTempDir();
  afterAll(() => dir[Symbol.dispose]());
  beforeAll(async () => {
    const shipped = await Bun.file(join(REPO, "scenarios.toml")).text();
    await Bun.write(join(dir.path, "scenarios.toml"), shipped.replaceAll("files:test/fixtures", `files:${join(REPO, "test", "fixtures")}`));
  });

  // One test per scenario: each is a controller run of its own (about 50 s quiet), so a slow machine cannot push four past one test's timeout.
  for (const [name, pointCount] of Object.entries(POINTS)) {
    test(`${name}: every point of the shipped sweep has a mean with a 95% interval${name === "recognition-failure" ? "; failures lose no image" : ""}`, async () => {
      const out = join(dir.path, name);
      const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--only", name, "--repeat", "2", "--out", out], dir.path);
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
      const results = await Bun.file(join(out, "results.json")).json();
      const points = results.scenarios.map((entry: any) => [entry.name, entry.summary.images_per_s.n, entry.summary.mbit_per_s.ci95.length]);
      expect(points).toEqual(Array(pointCount).fill([name, 2, 2]));
      // A batch: 5 images acknowledged per run, throughput over the batch's own time.
      const batches = results.scenarios.flatMap((entry: any) => entry.runs.map((run: any) => ({ ok: run.senders[0].ok, rate: Math.abs(run.images_per_s * run.duration_s - 5) < 0.1 })));
      expect(batches).toEqual(Array(pointCount * 2).fill({ ok: 5, rate: true }));
      if (name !== "recognition-failure") return;
      for (const entry of results.scenarios) {
        for (const run of entry.runs) expect({ lost: run.lost, failed: run.failed, jobs_failed: run.jobs_failed, some: run.saved > 0 }).toEqual({ lost: 0, failed: 0, jobs_failed: 0, some: true });
      }
    });
  }
});
