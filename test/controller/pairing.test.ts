// Pairing of senders and receivers: case4-2x2 as the original's independent pipelines, case4-2x2-spread with every sender at every receiver.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseScenarios } from "../../controller/scenarios";
import { FIXTURES, REPO, makeTempDir, runController } from "../helpers";

type Role = { agent: string; port?: number; targets?: string[]; ok?: number; saved?: number };
type Entry = { name: string; runs: { status: string; senders: Role[]; receivers: Role[] }[] };

/** The shipped file, run short, plus a spread scenario whose two senders log each acknowledged image's receiver to files of their own. */
async function runPairedAndSpread(dir: string): Promise<Entry[]> {
  const shipped = await Bun.file(join(REPO, "scenarios.toml")).text();
  const extra = `
[[scenario]]
name = "spread-acks"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1", "worker2"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${FIXTURES}", multiply = 20, format = "json", ackLog = "acks-pi1.log" }
  [[scenario.roles]]
  role = "sender"
  agents = ["pi2"]
  options = { source = "files:${FIXTURES}", multiply = 20, format = "json", ackLog = "acks-pi2.log" }
`;
  const quick = `${shipped
    .replace(/^duration = .*$/m, 'duration = "700ms"')
    .replace(/^warmup = .*$/m, 'warmup = "300ms"')
    .replace(/^repeat = .*$/m, "repeat = 1")
    .replaceAll("files:test/fixtures", `files:${FIXTURES}`)}${extra}`;
  await Bun.write(join(dir, "scenarios.toml"), quick);
  const out = join(dir, "out");
  const run = await runController(["run", "scenarios.toml", "--local", "--only", "case4-2x2,case4-2x2-spread,spread-acks", "--out", out], dir);
  expect({ code: run.code, stderr: run.code === 0 ? "" : run.stderr }).toEqual({ code: 0, stderr: "" });
  return (await Bun.file(join(out, "results.json")).json()).scenarios;
}

/** Per receiver agent: the sender agents whose resolved targets name its port. */
function toSendersByReceiver(run: Entry["runs"][number]): Record<string, string[]> {
  return Object.fromEntries(
    run.receivers.map((receiver) => [
      receiver.agent,
      run.senders.filter((sender) => sender.targets!.some((target) => new URL(target).port === String(receiver.port))).map((sender) => sender.agent),
    ]),
  );
}

describe("pairing", () => {
  test('"paired" with unequal counts is a config error naming the scenario, reported with the other problems', () => {
    const text = `
[agents]
a = "http://a:7700"
b = "http://b:7700"
c = "http://c:7700"
[[scenario]]
name = "lopsided"
  [[scenario.roles]]
  role = "receiver"
  agents = ["a"]
  targets = "paired"
  [[scenario.roles]]
  role = "sender"
  agents = ["b", "c"]
  targets = "paired"
  impair = { loss = 0.1, agents = ["a"] }
`;
    let message = "";
    try {
      parseScenarios(text, "test.toml");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n").slice(1).map((line) => line.trim())).toEqual([
      "scenario lopsided: roles[0] (receiver): targets is for senders only",
      'scenario lopsided: roles[1] (sender): targets = "paired" needs as many senders as receivers (2 senders, 1 receivers)',
      'scenario lopsided: roles[1] (sender): impair.agents: "a" does not run this role (b, c)',
    ]);
  });

  test("case4-2x2: each receiver saves exactly one sender's images; case4-2x2-spread: both senders reach both receivers", async () => {
    using dir = makeTempDir();
    const entries = await runPairedAndSpread(dir.path);
    const byName = Object.fromEntries(entries.map((entry) => [entry.name, entry.runs[0]!]));
    const paired = byName["case4-2x2"]!;
    expect(paired.status).toBe("ok");
    expect(toSendersByReceiver(paired)).toEqual({ worker1: ["pi1"], worker2: ["pi2"] });
    // Every image a receiver saved was acknowledged to its own sender, and to no other.
    const okOf = (agent: string) => paired.senders.find((sender) => sender.agent === agent)!.ok!;
    const savedOf = (agent: string) => paired.receivers.find((receiver) => receiver.agent === agent)!.saved!;
    expect([savedOf("worker1"), savedOf("worker2")]).toEqual([okOf("pi1"), okOf("pi2")]);
    expect(Math.min(okOf("pi1"), okOf("pi2"))).toBeGreaterThan(0);

    const spread = byName["case4-2x2-spread"]!;
    expect(toSendersByReceiver(spread)).toEqual({ worker1: ["pi1", "pi2"], worker2: ["pi1", "pi2"] });
    expect(spread.receivers.map((receiver) => receiver.saved! > 0)).toEqual([true, true]);

    // Direct evidence, per sender: the receivers that acknowledged its images (one line per image: TARGET ID; in the data dir, --out).
    const ports = (log: string) => [...new Set(log.trim().split("\n").map((line) => new URL(line.split(" ")[0]!).port))].length;
    const logs = await Promise.all(["acks-pi1.log", "acks-pi2.log"].map((name) => Bun.file(join(dir.path, "out", name)).text()));
    expect(logs.map(ports)).toEqual([2, 2]);
  });
});
