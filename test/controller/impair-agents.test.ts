// impair.agents: an impairment's faults reach only the named agents of a role; cpu stays on all of them.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { readScenarios, toAgentImpairment } from "../../controller/scenarios";
import { FIXTURES, REPO, makeTempDir, runController } from "../helpers";

describe("impair.agents", () => {
  test("the shipped recognition sweeps run on 3 workers at cpu 0.25 with a zero point; fail hits worker3 alone", async () => {
    const set = await readScenarios(join(REPO, "scenarios.toml"));
    const sweeps = ["recognition-loss", "recognition-delay", "recognition-failure"].map((name) => set.scenarios.find((scenario) => scenario.name === name)!);
    const workersOf = (point: (typeof sweeps)[number]["points"][number]) => point.roles.find((plan) => plan.role === "recognition-worker")!;
    expect(sweeps.map((scenario) => scenario.points.map((point) => [workersOf(point).agents.length, workersOf(point).impair!.cpu, Object.values(point.params)[0]]))).toEqual([
      [[3, 0.25, 0], [3, 0.25, 0.05], [3, 0.25, 0.1], [3, 0.25, 0.15]],
      [[3, 0.25, "0ms"], [3, 0.25, "100ms"], [3, 0.25, "300ms"], [3, 0.25, "500ms"]],
      [[3, 0.25, 0], [3, 0.25, 0.1], [3, 0.25, 0.3], [3, 0.25, 0.5]],
    ]);
    const failing = workersOf(sweeps[2]!.points[3]!);
    expect(failing.agents.map((agent) => toAgentImpairment(failing, agent))).toEqual([
      { cpu: 0.25 },
      { cpu: 0.25 },
      { cpu: 0.25, fail: 0.5, downtime: "1s" },
    ]);
  });

  test("a local run: only the named receiver reports the impairment in its final stats", async () => {
    using dir = makeTempDir();
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `duration = "600ms"
warmup = "200ms"
[agents]
pi1 = "http://pi1:7700"
worker1 = "http://worker1:7700"
worker2 = "http://worker2:7700"
worker3 = "http://worker3:7700"
[[scenario]]
name = "one-impaired"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1", "worker2", "worker3"]
  impair = { delay = "2ms", seed = 7, agents = ["worker3"] }
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${FIXTURES}", multiply = 2, format = "json", concurrency = 4 }
`,
    );
    const out = join(dir.path, "out");
    const run = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
    expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
    const [entry] = (await Bun.file(join(out, "results.json")).json()).scenarios;
    const receivers = entry.runs[0].receivers as { agent: string; saved: number; impairment?: { delay_ms?: number } }[];
    expect(receivers.map((receiver) => [receiver.agent, receiver.saved > 0, receiver.impairment?.delay_ms])).toEqual([
      ["worker1", true, undefined],
      ["worker2", true, undefined],
      ["worker3", true, 2],
    ]);
    expect(entry.params.receiver.impair).toEqual({ delay: "2ms", seed: 7, agents: ["worker3"] });
  });
});
