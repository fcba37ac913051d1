// The controller runs a manager experiment in local mode: jobs posted by a sender, workers swept 1..2, timing figures and speedup.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, makeTempDir, runController } from "../helpers";

describe("controller run --local with a manager", () => {
  test("a worker sweep: every job posted is done, each run carries send/process/receive times, the table shows speedup", async () => {
    using dir = makeTempDir();
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `duration = "1500ms"
warmup = "500ms"
[agents]
pi1 = "http://pi1.local:7700"
boss = "http://boss.local:7700"
w1 = "http://w1.local:7700"
w2 = "http://w2.local:7700"
[[scenario]]
name = "tiny-speedup"
  [scenario.sweep]
  grayscale-worker.agents = [["w1"], ["w1", "w2"]]
  [[scenario.roles]]
  role = "manager"
  agents = ["boss"]
  [[scenario.roles]]
  role = "grayscale-worker"
  agents = ["w1"]
  options = { concurrency = 1 }
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${join(FIXTURES, "coffee-480p.jpg")}", format = "job", job = "op=blur,sigma=2", multiply = 1, concurrency = 2 }
`,
    );
    const out = join(dir.path, "out");
    const { code, stdout, stderr } = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    const runs = results.scenarios.map((entry: { runs: Record<string, number>[] }) => entry.runs[0]!);
    for (const run of runs) {
      expect(run.sent).toBeGreaterThan(0);
      expect({ saved: run.saved, lost: run.lost, failed: run.failed, jobs_failed: run.jobs_failed }).toEqual({ saved: run.sent, lost: 0, failed: 0, jobs_failed: 0 });
      expect([run.process_ms > 0, run.job_ms >= run.process_ms, run.send_ms >= 0, run.receive_ms >= 0]).toEqual([true, true, true, true]);
    }
    // One worker: every job goes whole, as its file, and is decoded there; the manager decodes none.
    expect(runs[0].decode_ms).toBe(0);
    expect(results.scenarios.map((entry: { scaling: { count: number } }) => entry.scaling.count)).toEqual([1, 2]);
    expect(stdout).toContain("process ms");
    expect(stdout).toContain("speedup [95% CI]");
  });
});
