// case4-2x2 with every agent in its own network namespace: capped by 100 Mbit/s tbf links ("wifi"), then over bare veths ("ethernet").
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, REPO, makeTempDir, spawnAgent } from "../helpers";
import { testWith } from "../_requires";
import { createFleet, type Fleet } from "./netns-fleet";

/*
 * Topology: pi1, pi2, worker1, worker2 each in a namespace with one veth to a bridge in a
 * hub namespace; one more veth joins the hub to the root namespace, where the controller
 * runs. Addresses come from a 10.213.X.0/24 that no root route uses; no namespace has a
 * default route, so nothing leaves the machine.
 *
 * Shaping: the images flow pi -> worker, each Pi spreading its requests over both workers
 * in turn. Only the Pis' links are shaped (both ends, so 100 Mbit/s each way, as a Pi's
 * Wi-Fi link); the workers' links stay bare, as wired workers'. Each flow then crosses one
 * bottleneck, and the cap is the two Pi uplinks: 2 x 100 Mbit/s on the wire. Shaping every
 * veth would add the workers' downlinks as a second bottleneck at exactly full load (each
 * gets half of each Pi), where any unevenness between the workers costs throughput, so the
 * cap would no longer be one number. Per-link tbf emulates each station's link rate, not
 * Wi-Fi's shared airtime (two Pis on one access point would share one ~100 Mbit/s).
 *
 * What the controller counts is JPEG bytes saved. tbf counts whole frames: 1514 bytes on
 * the veth carry 1448 bytes of TCP payload (MTU 1500, TCP timestamps on), so the payload cap
 * is 2 x 100 x 1448/1514 = 191.3 Mbit/s. HTTP request headers (~300 bytes per ~95 KB photo,
 * 0.3%) and the Pis' ACKs of the 202 answers share the uplink; they fit in the 15%
 * allowed, and so does the controller's window: it takes the edge seconds pro rata, which
 * reads a 3 s window a few percent low (180-188 measured while whole seconds read 188-193).
 *
 * burst 64kb (5 ms at the rate) rather than 32kbit (4 KB, 0.3 ms): a token bucket that
 * small holds under 3 full frames and loses tokens whenever the qdisc's timer fires late on
 * a busy 2-core box; 64 KB over a 3 s window adds 0.2 Mbit/s. Here both measured
 * the same: 95.6-95.9 Mbit/s of payload for a bulk TCP stream through one link (95.6
 * expected), 180-184 Mbit/s for this test with 32kbit. latency 50ms bounds the queue
 * (625 KB); the Pi's own qdisc pushes back on its sockets, so TCP rarely sees a drop.
 */
const LINK = { rate: "100mbit", burst: "64kb", latency: "50ms" };
const CAP_MBIT = 2 * 100 * (1448 / 1514);
const SENDERS = ["pi1", "pi2"];
const RECEIVERS = ["worker1", "worker2"];
const CONTROL_PORT = 7700;


/** Starts one agent inside each host's namespace on the fixed control port, with `token`; killed on dispose. */
async function startAgents(fleet: Fleet, dataDir: string, token: string) {
  const agents = [...fleet.hosts.values()].map((host) => {
    const dir = join(dataDir, host.name);
    mkdirSync(dir);
    // spawnAgent clears AGENT_TOKEN (its agents run open); `env` sets it again inside the namespace.
    const command = ["ip", "netns", "exec", host.ns, "env", `AGENT_TOKEN=${token}`, process.execPath, join(REPO, "agent", "main.ts")];
    return spawnAgent(["--control-port", String(CONTROL_PORT), "--host", "0.0.0.0", "--name", host.name, "--data-dir", dir], command);
  });
  const stopAll = async () => void (await Promise.allSettled(agents.map((agent) => agent[Symbol.asyncDispose]())));
  try {
    await Promise.all(agents.map((agent) => agent.waitFor("control_listening")));
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { [Symbol.asyncDispose]: stopAll };
}

function writeScenarios(fleet: Fleet, medium: string): string {
  const agents = [...fleet.hosts.values()].map((host) => `${host.name} = "http://${host.address}:${CONTROL_PORT}"`).join("\n");
  return `duration = "3s"
warmup = "500ms"
medium = "${medium}"

[agents]
${agents}

[[scenario]]
name = "case4-2x2"
description = "2 Pis send to 2 receivers across namespaces, requests spread over both in turn"
  [[scenario.roles]]
  role = "receiver"
  agents = ${JSON.stringify(RECEIVERS)}
  [[scenario.roles]]
  role = "sender"
  agents = ${JSON.stringify(SENDERS)}
  options = { source = "files:${FIXTURES}", multiply = 20, topics = 1, format = "binary", concurrency = 8 }
`;
}

interface Run {
  status: string;
  error?: string;
  mbit_per_s: number;
  sent: number;
  saved: number;
  lost: number;
  receivers: { agent: string; bytes: number }[];
}

/** Runs the controller (remote mode) on a scenarios file for `medium`; answers its exit code, stderr and the one run. */
async function runController(fleet: Fleet, dir: string, medium: string, token: string) {
  const file = join(dir, `${medium}.toml`);
  const out = join(dir, `out-${medium}`);
  await Bun.write(file, writeScenarios(fleet, medium));
  const child = Bun.spawn([process.execPath, join(REPO, "controller", "main.ts"), "run", file, "--out", out], {
    cwd: dir,
    env: { ...process.env, AGENT_TOKEN: token },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [code, stderr] = await Promise.all([child.exited, new Response(child.stderr).text(), new Response(child.stdout).text()]);
  const results = await Bun.file(join(out, "results.json")).json();
  return { code, stderr, medium: results.scenarios[0].medium as string, run: results.scenarios[0].runs[0] as Run };
}

const summarize = (result: Awaited<ReturnType<typeof runController>>) => ({
  code: result.code,
  medium: result.medium,
  status: result.run.status,
  error: result.run.error,
  lost: result.run.lost,
});

describe("Across real network hops", () => {
  testWith("netns")("case4-2x2: 100 Mbit/s tbf links cap it within 15%, bare veths run clearly faster", async () => {
    using dir = makeTempDir();
    await using fleet = createFleet([...SENDERS, ...RECEIVERS]);
    const token = randomBytes(18).toString("base64url");
    await using _agents = await startAgents(fleet, dir.path, token);

    fleet.shape(SENDERS, LINK);
    const wifi = await runController(fleet, dir.path, "wifi", token);
    const shapedBytes = SENDERS.reduce((total, name) => total + fleet.readShapedBytes(name), 0);
    fleet.unshape();
    const ethernet = await runController(fleet, dir.path, "ethernet", token);
    console.log(`netns case4-2x2: wifi ${wifi.run.mbit_per_s} Mbit/s (cap ${CAP_MBIT.toFixed(1)}), ethernet ${ethernet.run.mbit_per_s} Mbit/s`);

    const receivedBytes = wifi.run.receivers.reduce((total, receiver) => total + receiver.bytes, 0);
    expect({ wifi: summarize(wifi), ethernet: summarize(ethernet), imagesCrossedTheTbf: shapedBytes > receivedBytes }).toEqual({
      wifi: { code: 0, medium: "wifi", status: "ok", error: undefined, lost: 0 },
      ethernet: { code: 0, medium: "ethernet", status: "ok", error: undefined, lost: 0 },
      imagesCrossedTheTbf: true,
    });
    expect(wifi.run.mbit_per_s).toBeGreaterThan(CAP_MBIT * 0.85);
    expect(wifi.run.mbit_per_s).toBeLessThan(CAP_MBIT * 1.15);
    expect(ethernet.run.mbit_per_s).toBeGreaterThan(CAP_MBIT * 2);
  });
});
