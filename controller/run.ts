// Runs one scenario's repeats on agents: receivers first, then senders; stop in reverse; figures per run.
import { rm } from "node:fs/promises";
import type { ControlClient } from "../agent/client";
import { round2 } from "../agent/metrics";
import type { RoleInfo } from "../agent/wire";
import { summarizeRunResults, type RunResult, type ScenarioResult } from "./results";
import type { Scenario } from "./scenarios";

/** How a run is carried out. */
export interface RunSettings {
  /** Relative folder (inside each agent's data dir) receivers write into; runs get subfolders. */
  imagesDir: string;
  /** Folder that `imagesDir` resolves to on this machine in local mode, for clean-up; undefined for remote agents. */
  localImagesDir?: string;
  /** Keep received images after a run (else a local run deletes them once counted). */
  keepImages: boolean;
  /** Called with a line of progress after each run. */
  onProgress(line: string): void;
}

/** How often a run polls its senders to see whether they are done (ms). */
const POLL_MS = 250;
/** Extra time senders get beyond their duration before they are stopped anyway (ms). */
const GRACE_MS = 15_000;

interface Started {
  client: ControlClient;
  info: RoleInfo;
}

function sum(infos: RoleInfo[], field: string): number {
  return infos.reduce((total, info) => total + (Number(info.stats[field]) || 0), 0);
}

function maxLatency(infos: RoleInfo[], quantile: "p50" | "p99"): number {
  return Math.max(0, ...infos.map((info) => (info.stats.latency_ms as { p50: number; p99: number } | undefined)?.[quantile] ?? 0));
}

/** The figures of one run from the final stats of its senders and receivers. */
function toRunResult(repeat: number, durationMs: number, senders: Started[], receivers: Started[]): RunResult {
  const senderInfos = senders.map((started) => started.info);
  const receiverInfos = receivers.map((started) => started.info);
  const sent = sum(senderInfos, "sent");
  const saved = sum(receiverInfos, "saved");
  const label = (started: Started) => ({ agent: started.client.name, ...started.info.stats });
  return {
    repeat,
    images_per_s: round2(sum(receiverInfos, "images_per_s")),
    mbit_per_s: round2(sum(receiverInfos, "mbit_per_s")),
    sent,
    saved,
    lost: Math.max(sent - saved, 0),
    failed: sum(senderInfos, "failed"),
    duration_s: durationMs / 1000,
    latency_ms: { p50: maxLatency(senderInfos, "p50"), p99: maxLatency(senderInfos, "p99") },
    senders: senders.map(label),
    receivers: receivers.map(label),
  };
}

/** Starts `role` on each of `agentNames` in parallel with per-agent options. */
async function startAll(
  clients: Map<string, ControlClient>,
  agentNames: string[],
  role: string,
  optionsFor: (agent: string) => Record<string, unknown>,
  started: Started[],
): Promise<Started[]> {
  return Promise.all(
    agentNames.map(async (agent) => {
      const client = clients.get(agent)!;
      const entry = { client, info: await client.startRole(role, optionsFor(agent)) };
      started.push(entry);
      return entry;
    }),
  );
}

/** Waits until every sender has ended by itself, or its duration plus a grace period has passed. */
async function waitForSenders(senders: Started[], durationMs: number): Promise<void> {
  const deadline = Date.now() + durationMs + GRACE_MS;
  while (Date.now() < deadline) {
    const infos = await Promise.all(senders.map((sender) => sender.client.getRole(sender.info.id)));
    if (infos.every((info) => info.state !== "running")) return;
    await Bun.sleep(POLL_MS);
  }
}

/** Runs repeat `repeat` of `scenario`: receivers up, senders for the duration, then everything stopped in reverse order. */
async function runOnce(scenario: Scenario, repeat: number, clients: Map<string, ControlClient>, settings: RunSettings): Promise<RunResult> {
  const started: Started[] = [];
  const runDir = `${settings.imagesDir}/${scenario.name}/run-${repeat}`;
  try {
    const receivers: Started[] = [];
    const targets: string[] = [];
    for (const plan of scenario.roles.filter((entry) => entry.role === "receiver")) {
      const entries = await startAll(clients, plan.agents, "receiver", (agent) => ({ ...plan.options, port: 0, out: `${runDir}/${agent}` }), started);
      for (const entry of entries) {
        receivers.push(entry);
        targets.push(`http://${new URL(entry.client.baseUrl).hostname}:${entry.info.stats.port}/upload`);
      }
    }
    const senders: Started[] = [];
    for (const plan of scenario.roles.filter((entry) => entry.role === "sender")) {
      const options = () => ({ target: targets, ...plan.options, duration: `${scenario.durationMs}ms` });
      senders.push(...(await startAll(clients, plan.agents, "sender", options, started)));
    }
    await waitForSenders(senders, scenario.durationMs);
    for (const entry of [...started].reverse()) entry.info = await entry.client.stopRole(entry.info.id);
    started.length = 0;
    return toRunResult(repeat, scenario.durationMs, senders, receivers);
  } finally {
    await Promise.allSettled([...started].reverse().map((entry) => entry.client.stopRole(entry.info.id)));
    if (settings.localImagesDir && !settings.keepImages)
      await rm(`${settings.localImagesDir}/${scenario.name}/run-${repeat}`, { recursive: true, force: true });
  }
}

/** Runs every repeat of a scenario one after another and summarizes them (mean, std, 95% CI). */
export async function runScenario(scenario: Scenario, clients: Map<string, ControlClient>, settings: RunSettings): Promise<ScenarioResult> {
  const runs: RunResult[] = [];
  for (let repeat = 1; repeat <= scenario.repeat; repeat += 1) {
    const run = await runOnce(scenario, repeat, clients, settings);
    runs.push(run);
    settings.onProgress(
      `${scenario.name} run ${repeat}/${scenario.repeat}: ${run.images_per_s} images/s, ${run.mbit_per_s} Mbit/s, sent ${run.sent}, saved ${run.saved}, lost ${run.lost}`,
    );
  }
  const params = Object.fromEntries(
    scenario.roles.map((plan) => [plan.role, { agents: plan.agents, ...plan.options }]),
  );
  return { name: scenario.name, description: scenario.description, params: { ...params, duration_s: scenario.durationMs / 1000 }, runs, summary: summarizeRunResults(runs) };
}
