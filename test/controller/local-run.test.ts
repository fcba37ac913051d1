// The controller end to end in local mode: agents as processes, a short scenario twice, results files and the table.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, makeTempDir, runController, spawnAgent } from "../helpers";

describe("controller run --local", () => {
  test("runs a 2-to-1 case twice and writes results.json, results.csv with mean, std and ci95", async () => {
    using dir = makeTempDir();
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `duration = "800ms"
[agents]
pi1 = "http://pi1.local:7700"
pi2 = "http://pi2.local:7700"
worker1 = "http://worker1.local:7700"
[[scenario]]
name = "tiny-2to1"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1", "pi2"]
  options = { source = "files:${FIXTURES}", multiply = 2, fps = 20 }
`,
    );
    const out = join(dir.path, "out");
    const { code, stdout, stderr } = await runController(["run", "scenarios.toml", "--local", "--repeat", "2", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    const scenario = results.scenarios[0];
    expect(scenario.name).toBe("tiny-2to1");
    expect(scenario.runs.length).toBe(2);
    for (const run of scenario.runs) {
      expect(run.sent).toBeGreaterThan(0);
      expect({ saved: run.saved, lost: run.lost }).toEqual({ saved: run.sent, lost: 0 });
      expect(run.senders.map((sender: { agent: string }) => sender.agent).sort()).toEqual(["pi1", "pi2"]);
    }
    const summary = scenario.summary.images_per_s;
    expect(Object.keys(summary).sort()).toEqual(["ci95", "mean", "n", "std"]);
    expect(summary.n).toBe(2);
    expect(summary.ci95[0]).toBeLessThanOrEqual(summary.mean);
    expect(stdout).toContain("tiny-2to1");
    expect((await Bun.file(join(out, "results.csv")).text()).split("\n")[0]).toContain("images_per_s");
    expect(existsSync(join(out, "images", "tiny-2to1"))).toBe(true);
    expect(existsSync(join(out, "images", "tiny-2to1", "run-1"))).toBe(false);
  });

  test("a bad scenarios file: every problem listed, exit code 3, no stack trace", async () => {
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "bad.toml"), `[agents]\na = "http://a:1"\n[[scenario]]\nname = "x"\n  [[scenario.roles]]\n  role = "sender"\n  agents = ["b"]\n  options = { fps = -1 }\n`);
    const { code, stderr } = await runController(["run", "bad.toml", "--local"], dir.path);
    expect({ code, agents: stderr.includes('"b" is not in [agents]'), fps: stderr.includes("options.fps"), stack: /\n\s+at /.test(stderr) }).toEqual({
      code: 3,
      agents: true,
      fps: true,
      stack: false,
    });
  });

  test("a sweep with a warm-up: one entry per point with its params, figures from the window, series per second", async () => {
    using dir = makeTempDir();
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `[agents]
pi1 = "http://pi1.local:7700"
worker1 = "http://worker1.local:7700"
[[scenario]]
name = "case1-1to1"
duration = "2s"
warmup = "1s"
medium = "loopback"
  [scenario.sweep]
  multiply = [1, 3]
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${FIXTURES}", fps = 20 }
`,
    );
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    const points = results.scenarios.map((entry: { name: string; point: string; params: { multiply: number }; medium: string; swept: string[] }) => [
      entry.name,
      entry.point,
      entry.params.multiply,
      entry.medium,
      entry.swept,
    ]);
    expect(points).toEqual([
      ["case1-1to1", "multiply=1", 1, "loopback", ["multiply"]],
      ["case1-1to1", "multiply=3", 3, "loopback", ["multiply"]],
    ]);
    type Run = { images_per_s: number; series: { t: number[] }; senders: { sent: number; frames: number }[] };
    const [low, high] = results.scenarios.map((entry: { runs: Run[] }) => entry.runs[0]) as [Run, Run];
    // multiply 3 sends each frame 3 times, multiply 1 once: counts from the sender's own figures, which no load can skew
    // (a rate is the bench's business).
    const imagesPerFrame = (run: Run) => run.senders[0]!.sent / run.senders[0]!.frames;
    expect({ low: imagesPerFrame(low), high: imagesPerFrame(high), measured: low.images_per_s > 0 && high.images_per_s > 0 }).toEqual({ low: 1, high: 3, measured: true });
    expect(low.series.t.length).toBeGreaterThanOrEqual(3);
  });

  test("an unreachable agent fails its run, the others are torn down, the next scenario runs, exit code 1", async () => {
    using dir = makeTempDir();
    await using pi1 = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--name", "pi1"]);
    await using worker1 = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--name", "worker1", "--data-dir", dir.path]);
    const [piPort, workerPort] = [Number((await pi1.waitFor("control_listening")).port), Number((await worker1.waitFor("control_listening")).port)];
    const scenario = (name: string, receiver: string) => `
[[scenario]]
name = "${name}"
  [[scenario.roles]]
  role = "receiver"
  agents = ["${receiver}"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${FIXTURES}", fps = 10, multiply = 1 }
`;
    await Bun.write(
      join(dir.path, "remote.toml"),
      `duration = "500ms"\n[agents]\npi1 = "http://127.0.0.1:${piPort}"\nworker1 = "http://127.0.0.1:${workerPort}"\nghost = "http://127.0.0.1:1"\n${scenario("to-ghost", "ghost")}${scenario("to-worker", "worker1")}`,
    );
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "remote.toml", "--out", out], dir.path);
    const results = await Bun.file(join(out, "results.json")).json();
    const runs = results.scenarios.map((entry: { name: string; runs: { status: string; error?: string; saved: number }[] }) => [
      entry.name,
      entry.runs[0]!.status,
      entry.runs[0]!.status === "failed" ? entry.runs[0]!.error!.startsWith("AGENT_UNREACHABLE: agent ghost") : entry.runs[0]!.saved > 0,
    ]);
    expect({ code, runs, reported: stderr.includes("to-ghost run 1/1: FAILED AGENT_UNREACHABLE") }).toEqual({
      code: 1,
      runs: [
        ["to-ghost", "failed", true],
        ["to-worker", "ok", true],
      ],
      reported: true,
    });
    const left = (await (await fetch(`http://127.0.0.1:${piPort}/v1/roles`)).json()) as unknown[];
    expect(left).toEqual([]);
  });
});
