// case4-2x2 with every agent in its own network namespace: capped by 100 Mbit/s tbf links ("wifi"), then over bare veths ("ethernet").
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, REPO, makeTempDir, runController as runControllerIn, spawnAgent } from "../helpers";
import { testWith } from "../_requires";
import { NetnsFleet } from "../../controller/netns";

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
 * The tbf's burst and latency are NetnsFleet's (controller/netns.ts: 5 ms of the rate, at
 * least 64 KiB; 50 ms): measured 95.6-95.9 Mbit/s of payload for a bulk TCP stream through
 * one link (95.6 expected).
 */
const LINK_RATE = "100Mbit";
const CAP_MBIT = 2 * 100 * (1448 / 1514);
const SENDERS = ["pi1", "pi2"];
const RECEIVERS = ["worker1", "worker2"];
const CONTROL_PORT = 7700;


/** Starts one agent inside each host's namespace on the fixed control port, with `token`; killed on dispose. */
async function startAgents(fleet: NetnsFleet, dataDir: string, token: string) {
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

function writeScenarios(fleet: NetnsFleet, medium: string): string {
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
async function runController(fleet: NetnsFleet, dir: string, medium: string, token: string) {
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
  // No rate is asserted but the cap's own ceiling (load can only lower a rate): the tbf's overlimits show it was what held the senders back.
  testWith("netns")("case4-2x2: 100 Mbit/s tbf links hold it under 1.15x their cap and held packets back for the rate; bare veths carry it unshaped", async () => {
    using dir = makeTempDir();
    await using fleet = NetnsFleet.create([...SENDERS, ...RECEIVERS]);
    const token = randomBytes(18).toString("base64url");
    await using _agents = await startAgents(fleet, dir.path, token);

    for (const name of SENDERS) fleet.shape(name, LINK_RATE);
    const wifi = await runController(fleet, dir.path, "wifi", token);
    const shapers = SENDERS.map((name) => fleet.readShaper(name));
    const shapedBytes = shapers.reduce((total, shaper) => total + shaper.bytes, 0);
    for (const name of SENDERS) fleet.shape(name, undefined);
    const ethernet = await runController(fleet, dir.path, "ethernet", token);
    const unshaped = SENDERS.map((name) => fleet.readShaper(name).bytes);
    console.log(`netns case4-2x2: wifi ${wifi.run.mbit_per_s} Mbit/s (cap ${CAP_MBIT.toFixed(1)}), ethernet ${ethernet.run.mbit_per_s} Mbit/s`);

    const receivedBytes = wifi.run.receivers.reduce((total, receiver) => total + receiver.bytes, 0);
    expect({
      wifi: summarize(wifi),
      ethernet: summarize(ethernet),
      imagesCrossedTheTbf: shapedBytes > receivedBytes,
      tbfHeldPacketsBack: shapers.map((shaper) => shaper.overlimits > 0),
      underTheCap: wifi.run.mbit_per_s < CAP_MBIT * 1.15,
      ethernetUnshaped: unshaped,
    }).toEqual({
      wifi: { code: 0, medium: "wifi", status: "ok", error: undefined, lost: 0 },
      ethernet: { code: 0, medium: "ethernet", status: "ok", error: undefined, lost: 0 },
      imagesCrossedTheTbf: true,
      tbfHeldPacketsBack: SENDERS.map(() => true),
      underTheCap: true,
      ethernetUnshaped: SENDERS.map(() => 0),
    });
  });

  /** Every namespace and every root-namespace interface, to see that a run leaves none of its own behind. */
  const listNetworkObjects = () => {
    const text = (args: string[]) => Bun.spawnSync(["ip", ...args], { stdout: "pipe" }).stdout.toString();
    return [...text(["netns", "list"]).split("\n"), ...text(["-o", "link", "show"]).split("\n").map((line) => line.split(": ")[1] ?? "")].filter(Boolean).sort();
  };

  // As the media test, the Wi-Fi rate is lowered (to 20 Mbit/s) so that a loaded 2-core box is bound by the links, not its CPU.
  testWith("netns")("controller run --local --netns: medium-wifi-vs-ethernet at most 10% over the receiver's Wi-Fi link, Ethernet not judged link-bound, a 50 Mbit/s tbf named as the bottleneck, nothing left behind", async () => {
    using dir = makeTempDir();
    const shipped = await Bun.file(join(REPO, "scenarios.toml")).text();
    const tbf50 = `
[[scenario]]
name = "tbf-50"
medium = "capped"
duration = "3s"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker2"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi3"]
  options = { source = "files:test/fixtures", format = "binary", multiply = 1, concurrency = 8 }
`;
    const file = shipped.replace('wifi-5ghz = { rate = "100Mbit"', 'wifi-5ghz = { rate = "20Mbit"').replace("ethernet-1g = {", 'capped = { rate = "50Mbit" }\nethernet-1g = {') + tbf50;
    await Bun.write(join(dir.path, "scenarios.toml"), file.replaceAll("files:test/fixtures", `files:${FIXTURES}`));
    const before = listNetworkObjects();
    const out = join(dir.path, "out");
    const { code, stderr } = await runControllerIn(["run", "scenarios.toml", "--local", "--netns", "--only", "medium-wifi-vs-ethernet,tbf-50", "--repeat", "1", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    expect(listNetworkObjects()).toEqual(before);
    const [wifi, ethernet, capped] = (await Bun.file(join(out, "results.json")).json()).scenarios;
    // Both Pis send into worker1, whose 20 Mbit/s downlink is the one cap: tbf counts whole frames (1448 bytes of payload in 1514).
    // The ceiling only (load can lower a rate, never raise it); that a tbf binds is the first test's (its overlimits) and tbf-50's verdict.
    expect(wifi.runs[0].sent_mbit_per_s / (20 * (1448 / 1514))).toBeLessThanOrEqual(1.1);
    expect(ethernet.runs[0].verdict.bottleneck?.startsWith("link") ?? false).toBe(false);
    // One 50 Mbit/s path: pi3's uplink and worker2's downlink carry the same bytes, and either may read the closer to its cap.
    expect(["link pi3", "link worker2"]).toContain(capped.runs[0].verdict.bottleneck);
    expect(capped.runs[0].verdict.text).toEndWith("of 50 Mbit/s (tbf)");
  });
});

