// Clock offsets: the NTP arithmetic, GET /v1/clock behind the token, and an agent under libfaketime measured and corrected.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ControlClient } from "../../agent/client";
import { createControlApp } from "../../agent/control/app";
import { Supervisor } from "../../agent/control/supervisor";
import { measureClockOffset, measureClockOffsets, toClockOffset, warnOfSkew } from "../../controller/clock";
import type { Results } from "../../controller/results";
import { findLibfaketime, testWith } from "../_requires";
import { FIXTURES, REPO, makeTempDir, quietContext, runController, spawnAgent, type AgentProcess } from "../helpers";

/** The clock shift the faked agent runs with (ms), as `faketime -f "+2s"` gives it. */
const SHIFT_MS = 2000;

describe("clock offsets", () => {
  test("offset and delay from the four timestamps (RFC 5905 section 8)", () => {
    // Agent 100 ms ahead; 4 ms out, 6 ms back, 1 ms inside the agent: ± half the round trip and one 1 ms tick.
    expect(toClockOffset(1000, 1104, 1105, 1011)).toEqual({ offset_ms: 99, error_ms: 6, rtt_ms: 10 });
  });

  test("a skew larger than the latency it would distort is warned of; a small one is not", () => {
    const offsets = { pi1: { offset_ms: 2000, error_ms: 0.2, rtt_ms: 0.4 }, pi2: { offset_ms: 0.3, error_ms: 0.2, rtt_ms: 0.4 }, worker1: { offset_ms: 0, error_ms: 0.1, rtt_ms: 0.2 } };
    const warnings = warnOfSkew(offsets, [
      { sender: "pi1", receiver: "worker1", latencyP50Ms: 3 },
      { sender: "pi2", receiver: "worker1", latencyP50Ms: 3 },
    ]);
    expect(warnings).toEqual([expect.stringContaining("the clock of pi1 is 2000 ± 0.3 ms ahead of worker1's")]);
  });

  test("an agent older than GET /v1/clock (404) is left out; an unreachable one fails the measurement", async () => {
    using old = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => Response.json({ error: "NOT_FOUND", message: "no such control API path" }, { status: 404 }) });
    const clients = new Map([["old", new ControlClient("old", `http://127.0.0.1:${old.port}`)], ["gone", new ControlClient("gone", "http://127.0.0.1:1")]]);
    expect(await measureClockOffsets(clients, ["old"])).toEqual({});
    await expect(measureClockOffsets(clients, ["gone"])).rejects.toThrow("agent gone");
  });

  test("GET /v1/clock needs the token and answers the agent's clock", async () => {
    using dir = makeTempDir();
    const app = await createControlApp({ agent: "t", version: "0", token: "tok", supervisor: new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path }) });
    const before = Date.now();
    const open = await app.handle(new Request("http://localhost/v1/clock"));
    const answer = await app.handle(new Request("http://localhost/v1/clock", { headers: { authorization: "Bearer tok" } }));
    const body = (await answer.json()) as { received_at_ms: number; sent_at_ms: number };
    expect({ open: open.status, status: answer.status, keys: Object.keys(body).sort(), inTime: body.received_at_ms >= before && body.sent_at_ms >= body.received_at_ms }).toEqual({
      open: 401,
      status: 200,
      keys: ["received_at_ms", "sent_at_ms"],
      inTime: true,
    });
  });
});

/** Starts an agent on loopback (its clock shifted by libfaketime, `FAKETIME="+2s"`, when `shifted`) and answers it with its control URL. */
async function startAgent(name: string, dataDir: string, shifted: boolean): Promise<{ agent: AgentProcess; url: string }> {
  const env = shifted ? { ...process.env, LD_PRELOAD: findLibfaketime(), FAKETIME: `+${SHIFT_MS / 1000}s` } : process.env;
  const args = ["--control-port", "0", "--host", "127.0.0.1", "--name", name, "--data-dir", dataDir, "--allow-files-anywhere"];
  const agent = spawnAgent(args, undefined, REPO, env);
  const listening = await agent.waitFor("control_listening");
  return { agent, url: `http://127.0.0.1:${listening.port}` };
}

/** One scenario: a sender on `sender` to a receiver on worker1, 20 binary frames/s for 2 s. */
function toScenario(name: string, sender: string): string {
  return `
[[scenario]]
name = "${name}"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["${sender}"]
  options = { source = "files:${FIXTURES}", multiply = 1, fps = 20 }
`;
}

describe("an agent with a shifted clock", () => {
  testWith("faketime")("is measured within its own error bound of the shift, and its corrected latency p50 far nearer an unshifted run's than the shift", async () => {
    using dir = makeTempDir();
    const shifted = await startAgent("pi1", dir.path, true);
    await using _shifted = shifted.agent;
    const plain = await startAgent("pi0", dir.path, false);
    await using _plain = plain.agent;
    const worker = await startAgent("worker1", dir.path, false);
    await using _worker = worker.agent;

    const measured = await measureClockOffset(new ControlClient("pi1", shifted.url));
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `duration = "2s"\n[agents]\npi0 = "${plain.url}"\npi1 = "${shifted.url}"\nworker1 = "${worker.url}"\n${toScenario("unshifted", "pi0")}${toScenario("shifted", "pi1")}`,
    );
    const { code, stderr } = await runController(["run", "scenarios.toml", "--out", "out"], dir.path);
    expect(code, stderr).toBe(0);
    const results = (await Bun.file(join(dir.path, "out", "results.json")).json()) as Results;
    const [unshifted, shiftedRun] = results.scenarios.map((entry) => entry.runs[0]!);
    const p50 = (run: typeof unshifted) => run!.save_latency_p50_ms!;
    const clocks = shiftedRun!.clocks!;
    const seen = { measured, inRun: clocks.pi1!, worker: clocks.worker1!, p50: p50(shiftedRun), baseline: p50(unshifted) };
    console.log(`clock offsets: ${JSON.stringify(seen)}; warnings: ${JSON.stringify(shiftedRun!.warnings)}`);
    // Each offset within the error bound the measurement gives itself (half its best round trip, RFC 5905), however loaded
    // the box; the corrected latency nowhere near the 2 s an uncorrected one would be off by.
    expect({
      measured: Math.abs(seen.measured.offset_ms - SHIFT_MS) <= seen.measured.error_ms,
      inRun: Math.abs(seen.inRun.offset_ms - SHIFT_MS) <= seen.inRun.error_ms,
      worker: Math.abs(seen.worker.offset_ms) <= seen.worker.error_ms,
      p50: Math.abs(seen.p50 - seen.baseline) < SHIFT_MS / 4,
      warned: shiftedRun!.warnings?.length === 1 && stderr.includes("warning: scenario shifted: the clock of pi1 is 2000"),
    }).toEqual({ measured: true, inRun: true, worker: true, p50: true, warned: true });
  });
});
