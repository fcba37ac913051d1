// The stream-viewers experiment: scenarios.toml's block parses into its four points, and a short sweep runs end to end in local mode.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseScenarios, readScenarios } from "../../controller/scenarios";
import { FIXTURES, REPO, makeTempDir, runController } from "../helpers";

describe("stream-viewers experiment", () => {
  test("scenarios.toml sweeps 1, 10, 50 and 100 viewers of one streamer", async () => {
    const set = await readScenarios(join(REPO, "scenarios.toml"));
    const scenario = set.scenarios.find((entry) => entry.name === "stream-viewers")!;
    expect(scenario.points.map((point) => point.label)).toEqual(["viewers.count=1", "viewers.count=10", "viewers.count=50", "viewers.count=100"]);
    expect(scenario.points[3]!.roles.map((plan) => [plan.role, plan.options.count])).toEqual([["streamer", undefined], ["viewers", 100]]);
  });

  test("a streamer scenario without a viewers role is refused, with every other problem", () => {
    const text = `[agents]
pi1 = "http://pi1.local:7700"
[[scenario]]
name = "no-load"
  [[scenario.roles]]
  role = "streamer"
  agents = ["pi1"]
[[scenario]]
name = "unknown-agent"
  [[scenario.roles]]
  role = "streamer"
  agents = ["pi9"]
  [[scenario.roles]]
  role = "viewers"
  agents = ["pi1"]
`;
    expect(() => parseScenarios(text)).toThrow(
      [
        "scenarios.toml:",
        '  scenario no-load: a streamer scenario needs a "viewers" role to measure it',
        '  scenario unknown-agent: roles[0].agents: "pi9" is not in [agents]',
      ].join("\n"),
    );
  });

  test("controller run --local gives fps per viewer, p99 gap, encodes/s and CPU per point; encodes/s do not grow with viewers", async () => {
    using dir = makeTempDir();
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `duration = "1500ms"
warmup = "500ms"
[agents]
pi1 = "http://pi1.local:7700"
worker1 = "http://worker1.local:7700"
[[scenario]]
name = "tiny-stream"
  [scenario.sweep]
  viewers.count = [1, 20]
  [[scenario.roles]]
  role = "streamer"
  agents = ["pi1"]
  options = { source = "files:${join(FIXTURES, "chelsea-480p.jpg")}", fps = 20 }
  [[scenario.roles]]
  role = "viewers"
  agents = ["worker1"]
  options = { quality = "medium" }
`,
    );
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    const runs = results.scenarios.map((scenario: { runs: Record<string, number>[] }) => scenario.runs[0]!);
    expect(runs.map((run: Record<string, number>) => run.viewers)).toEqual([1, 20]);
    for (const run of runs) {
      expect(run.fps_per_viewer).toBeGreaterThan(0);
      expect(run.gap_p99_ms).toBeGreaterThan(0);
      expect(run.cpu_pct).toBeGreaterThan(0);
      expect(run.encodes_per_s).toBeGreaterThan(0);
    }
    // One tier: at most one encode per source frame (20 fps) whether 1 or 20 viewers watch.
    for (const run of runs) expect(run.encodes_per_s).toBeLessThanOrEqual(20 * 1.25);
    expect(results.scenarios[1].summary.fps_per_viewer.n).toBe(1);
  });
});
