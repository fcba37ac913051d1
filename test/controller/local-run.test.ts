// The controller end to end in local mode: agents as processes, a short scenario twice, results files and the table.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, REPO, makeTempDir } from "../helpers";

async function runController(args: string[], cwd: string) {
  const child = Bun.spawn([process.execPath, join(REPO, "controller", "main.ts"), ...args], { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

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
});
