// Runs one scenario's points and repeats on agents: sinks first, then workers, then senders; stop in reverse; figures per run.
import { rm } from "node:fs/promises";
import type { ControlClient } from "../agent/client";
import { describeError, FleetError } from "../agent/errors";
import { checkRole } from "../agent/wire";
import { selectOkRuns, summarizeRunResults, type RunResult, type ScenarioResult } from "./results";
import { POLL_MS, startAll, waitForEnded } from "./_started";
import { isStreamPoint, runStreamOnce } from "./_stream-run";
import type { RolePlan, Scenario } from "./scenarios";
import type { SweepPoint } from "./sweep";
import { measureWindow, type Started } from "./window";

/** How a run is carried out. */
export interface RunSettings {
  /** Relative folder (inside each agent's data dir) receivers write into; runs get subfolders. */
  imagesDir: string;
  /** Folder that `imagesDir` resolves to on this machine in local mode, for clean-up; undefined for remote agents. */
  localImagesDir?: string;
  /** Keep received images after a run (else a local run deletes them once counted). */
  keepImages: boolean;
  /** Called after each run with the scenario, point and run (failed runs included). */
  onRun(scenario: Scenario, point: SweepPoint, run: RunResult): void;
  /** The NATS server `controller run --local` started for scenarios with `broker = "nats"`. */
  localBroker?: string;
}

/**
 * The broker URL of one point (its sweep's `broker`, else the scenario's), undefined for TCP.
 * @throws FleetError NO_LOCAL_BROKER (422) for `nats` when no local server was started (a remote run names nats://HOST:PORT).
 */
export function toBrokerUrl(scenario: Scenario, point: SweepPoint, settings: Pick<RunSettings, "localBroker">): string | undefined {
  const broker = (point.params.broker as string | undefined) ?? scenario.broker ?? "tcp";
  if (broker === "tcp") return undefined;
  if (broker !== "nats") return broker;
  if (!settings.localBroker) throw new FleetError("NO_LOCAL_BROKER", `scenario ${scenario.name}: broker = "nats" is the server controller run --local starts; a remote run names its broker as nats://HOST:PORT`, 422);
  return settings.localBroker;
}

/** A run that could not finish: the error, and zero figures so nothing partial is mistaken for a measurement. */
function toFailedRun(repeat: number, error: unknown): RunResult {
  return {
    repeat,
    status: "failed",
    error: describeError(error),
    images_per_s: 0,
    mbit_per_s: 0,
    sent: 0,
    saved: 0,
    lost: 0,
    failed: 0,
    duration_s: 0,
    latency_ms: { p50: 0, p99: 0 },
    senders: [],
    receivers: [],
  };
}

/** The host of an agent's control URL, where its roles' ports are reached. */
function hostOf(entry: Started): string {
  return new URL(entry.client.baseUrl).hostname;
}

/**
 * The targets of one sender: every sink (`targets = "all"`, the default), or with
 * `targets = "paired"` only the sink at the sender's own index in its plan (sender i to
 * receiver i, the original's independent pipelines; counts were checked with the file).
 */
export function toSenderTargets(plan: RolePlan, agent: string, sinks: string[]): string[] {
  if (plan.targets !== "paired") return sinks;
  return [sinks[plan.agents.indexOf(agent)]!];
}

/** How long workers get to say hello to their manager before the load starts (ms). */
const WORKERS_JOIN_MS = 10_000;

/** Waits until each manager counts every worker started for the run (or the time is up: the warm-up covers stragglers). */
async function waitForWorkers(managers: Started[], workers: number): Promise<void> {
  const deadline = Date.now() + WORKERS_JOIN_MS;
  while (workers > 0 && Date.now() < deadline) {
    const infos = await Promise.all(managers.map((manager) => manager.client.getRole(manager.info.id)));
    if (infos.every((info) => checkRole(info, "manager").stats.workers >= workers)) return;
    await Bun.sleep(POLL_MS / 5);
  }
}

/**
 * One repeat at one point, started in stages and stopped in reverse: sinks (receivers on
 * `/upload`, managers on `/jobs?wait=1`) on free ports, then workers dialling the first
 * manager, then senders aimed at every sink (or, paired, at their own) for warm-up + duration.
 */
async function runOnce(scenario: Scenario, point: SweepPoint, repeat: number, clients: Map<string, ControlClient>, settings: RunSettings): Promise<RunResult> {
  if (isStreamPoint(point)) return runStreamOnce(scenario, point, repeat, clients).catch((error) => toFailedRun(repeat, error));
  const started: Started[] = [];
  const folder = [scenario.name, point.label.replace(/[^A-Za-z0-9._=-]/g, "_"), `run-${repeat}`].filter(Boolean).join("/");
  const runMs = scenario.warmupMs + scenario.durationMs;
  const plansOf = (...names: string[]) => point.roles.filter((entry) => names.includes(entry.role));
  try {
    const sinks: Started[] = [];
    const targets: string[] = [];
    for (const plan of plansOf("receiver")) {
      const entries = await startAll(clients, plan, (agent) => ({ ...plan.options, port: 0, out: `${settings.imagesDir}/${folder}/${agent}` }), started);
      sinks.push(...entries);
      targets.push(...entries.map((entry) => `http://${hostOf(entry)}:${checkRole(entry.info, "receiver").stats.port}/upload`));
    }
    // With a broker, managers share it and every worker pulls from it; without, workers dial the first manager.
    const broker = toBrokerUrl(scenario, point, settings);
    const managers: Started[] = [];
    for (const plan of plansOf("manager")) managers.push(...(await startAll(clients, plan, () => ({ ...plan.options, port: 0, workerPort: 0, ...(broker ? { broker } : {}) }), started)));
    sinks.push(...managers);
    targets.push(...managers.map((entry) => `http://${hostOf(entry)}:${checkRole(entry.info, "manager").stats.port}/jobs?wait=1`));
    let workers = 0;
    for (const plan of plansOf("grayscale-worker", "recognition-worker")) {
      const address = `${hostOf(managers[0]!)}:${checkRole(managers[0]!.info, "manager").stats.worker_port}`;
      workers += (await startAll(clients, plan, () => ({ ...plan.options, ...(broker ? { broker } : { manager: address }) }), started)).length;
    }
    await waitForWorkers(managers, workers);
    const senders: Started[] = [];
    for (const plan of plansOf("sender"))
      senders.push(...(await startAll(clients, plan, (agent) => ({ target: toSenderTargets(plan, agent, targets), ...plan.options, duration: `${runMs}ms` }), started)));
    await waitForEnded(senders, runMs);
    for (const entry of [...started].reverse()) entry.info = await entry.client.stopRole(entry.info.id);
    started.length = 0;
    return { repeat, status: "ok", ...measureWindow(senders, sinks, scenario.warmupMs, scenario.durationMs) };
  } catch (error) {
    return toFailedRun(repeat, error);
  } finally {
    await Promise.allSettled([...started].reverse().map((entry) => entry.client.stopRole(entry.info.id)));
    if (settings.localImagesDir && !settings.keepImages) await rm(`${settings.localImagesDir}/${folder}`, { recursive: true, force: true });
  }
}

/** A plan as the results' params show it: agents, options, targets, impairment (with the agents it hits). */
function toParams(plan: RolePlan): Record<string, unknown> {
  const impair = plan.impair ? { impair: { ...plan.impair, ...(plan.impairAgents ? { agents: plan.impairAgents } : {}) } } : {};
  return { agents: plan.agents, ...plan.options, ...(plan.targets ? { targets: plan.targets } : {}), ...impair };
}

/**
 * Runs every point of a scenario, each `repeat` times, and summarizes each point over its
 * runs that did not fail (mean, std, 95% CI). A failed run is reported and the next one goes on.
 */
export async function runScenario(scenario: Scenario, clients: Map<string, ControlClient>, settings: RunSettings): Promise<ScenarioResult[]> {
  const results: ScenarioResult[] = [];
  for (const point of scenario.points) {
    const runs: RunResult[] = [];
    for (let repeat = 1; repeat <= scenario.repeat; repeat += 1) {
      const run = await runOnce(scenario, point, repeat, clients, settings);
      runs.push(run);
      settings.onRun(scenario, point, run);
    }
    const okRuns = selectOkRuns(runs);
    const fixed = Object.fromEntries(point.roles.map((plan) => [plan.role, toParams(plan)]));
    results.push({
      name: scenario.name,
      description: scenario.description,
      point: point.label,
      swept: scenario.swept,
      ...(scenario.medium ? { medium: scenario.medium } : {}),
      emulated: point.roles.some((plan) => plan.impair !== undefined && Object.keys(plan.impair).length > 0),
      params: { ...point.params, ...fixed, duration_s: scenario.durationMs / 1000, warmup_s: scenario.warmupMs / 1000 },
      runs,
      summary: okRuns.length > 0 ? summarizeRunResults(okRuns) : {},
    });
  }
  return results;
}
