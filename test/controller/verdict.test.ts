// Bottleneck verdicts in constructed cases: a slow sender board, a slow receiver board, a capped link, and an idle fps-capped run.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { judgeRun } from "../../controller/verdict";
import { FIXTURES, makeTempDir, runController } from "../helpers";

const CASES = [
  ["sender-board", "", 'impair = { cpu = 0.1 }'],
  ["receiver-board", 'impair = { cpu = 0.05 }', ""],
  ["capped-link", "", 'impair = { rate = "20Mbit" }'],
  ["idle", "", ""],
] as const;

/**
 * One scenario per case: 1 sender (real photos) to 1 receiver that decodes each frame; the
 * idle one sends 5 frames a second. The slow sender posts each frame once (JSON: its base64
 * body is the board's work) with 16 requests allowed in flight, so its board, not its
 * window of requests, is what it waits on.
 */
function scenarioFile(): string {
  const scenarios = CASES.map(
    ([name, receiverImpair, senderImpair]) => `
[[scenario]]
name = "${name}"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  options = { verify = "decode" }
  ${receiverImpair}
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${FIXTURES}", ${name === "sender-board" ? 'format = "json", concurrency = 16, multiply = 1' : 'format = "binary", concurrency = 4'}${name === "idle" ? ", fps = 5" : ""} }
  ${senderImpair}`,
  );
  return `duration = "3s"\nwarmup = "1s"\n[agents]\npi1 = "http://pi1:7700"\nworker1 = "http://worker1:7700"\n${scenarios.join("\n")}\n`;
}

describe("bottleneck verdicts", () => {
  test("a run names the resource closest to its limit: sender board, receiver board, link; an idle run names none", async () => {
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "scenarios.toml"), scenarioFile());
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const results = await Bun.file(join(out, "results.json")).json();
    const verdicts = Object.fromEntries(results.scenarios.map((entry: any) => [entry.name, [entry.runs[0].verdict.bottleneck, entry.verdict.text]]));
    expect(Object.fromEntries(Object.entries(verdicts).map(([name, [bottleneck]]) => [name, bottleneck]))).toEqual({
      "sender-board": "emulated-cpu pi1",
      "receiver-board": "emulated-cpu worker1",
      "capped-link": "link pi1",
      idle: null,
    });
    expect(verdicts.idle![1]).toStartWith("no resource near its limit");
    const telemetry = results.scenarios[0].runs[0].telemetry;
    expect(Object.keys(telemetry).sort()).toEqual(["pi1", "worker1"]);
    expect(typeof telemetry.pi1.process_cpu_cores).toBe("number");
  });

  test("judgeRun on given figures: the highest load wins from 80% of its limit; a 503 share of 5% saturates a receiver's queue", () => {
    const receiver = (received: number, rejected: number) => ({ agent: "w1", lifeMs: 1000, info: { id: "r", role: "receiver", state: "ended", started_at: "", options: {}, stats: { received, rejected } } as any });
    expect(judgeRun([receiver(95, 5)], [])).toMatchObject({ bottleneck: "queue w1", text: "receiver w1 save queue full: 503 to 5% of requests" });
    expect(judgeRun([receiver(1000, 30)], [])).toMatchObject({ bottleneck: null, text: "no resource near its limit (highest: receiver w1 save queue full: 503 to 3% of requests)" });
    expect(judgeRun([], [])).toEqual({ bottleneck: null, text: "no resource near its limit", loads: [] });
  });

  test("judgeRun: two senders at 9.5 of their 20 Mbit/s tbf uplinks into one receiver's 20 Mbit/s downlink: the receiver's link is named", () => {
    const run = (agent: string, role: string, mbit: number) => ({ agent, lifeMs: 1000, info: { id: agent, role, state: "ended", started_at: "", options: {}, stats: { mbit_per_s: mbit, received: 10, rejected: 0 } } as any });
    const caps = { pi1: 20e6, pi2: 20e6, worker1: 20e6 };
    const verdict = judgeRun([run("pi1", "sender", 9.5), run("pi2", "sender", 9.5), run("worker1", "receiver", 19)], [], caps);
    expect([verdict.bottleneck, verdict.text]).toEqual(["link worker1", "link worker1 in 19 of 20 Mbit/s (tbf)"]);
  });
});
