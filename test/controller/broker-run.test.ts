// controller run --local with broker = "nats": the controller starts a nats-server for the run (the agents' token), managers and workers meet through it, and it is gone after.
import { expect } from "bun:test";
import { join } from "node:path";
import { testWith } from "../_requires";
import { FIXTURES, makeTempDir, runController } from "../helpers";

testWith("nats-server")("a broker sweep (tcp, nats) with 2 workers, then 2 managers sharing them through the broker: every job posted is done", async () => {
  using dir = makeTempDir();
  const roles = (managers: string) => `
  [[scenario.roles]]
  role = "manager"
  agents = ${managers}
  [[scenario.roles]]
  role = "grayscale-worker"
  agents = ["w1", "w2"]
  options = { concurrency = 1 }
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${join(FIXTURES, "coffee-480p.jpg")}", format = "job", job = "op=blur,sigma=2", multiply = 1, concurrency = 2 }
`;
  await Bun.write(
    join(dir.path, "scenarios.toml"),
    `duration = "1500ms"
warmup = "500ms"
[agents]
pi1 = "http://pi1.local:7700"
m1 = "http://m1.local:7700"
m2 = "http://m2.local:7700"
w1 = "http://w1.local:7700"
w2 = "http://w2.local:7700"
[[scenario]]
name = "tiny-broker-vs-tcp"
  [scenario.sweep]
  broker = ["tcp", "nats"]
${roles('["m1"]')}
[[scenario]]
name = "tiny-two-managers"
broker = "nats"
${roles('["m1", "m2"]')}
`,
  );
  const out = join(dir.path, "out");
  const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
  expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
  const results = await Bun.file(join(out, "results.json")).json();
  const runs = results.scenarios.map((entry: { point: string; runs: Record<string, number>[] }) => {
    const run = entry.runs[0]!;
    return { point: entry.point, done: (run.sent ?? 0) > 0 && run.saved === run.sent, lost: run.lost, failed: run.failed, jobs_failed: run.jobs_failed };
  });
  expect(runs).toEqual([
    { point: "broker=tcp", done: true, lost: 0, failed: 0, jobs_failed: 0 },
    { point: "broker=nats", done: true, lost: 0, failed: 0, jobs_failed: 0 },
    { point: "", done: true, lost: 0, failed: 0, jobs_failed: 0 },
  ]);
});
