// Runs one scenario's points and repeats on agents: sinks first, then workers, then senders; stop in reverse; figures per run.
import { rm } from "node:fs/promises";
import type { ControlClient } from "../agent/client";
import { describeError, FleetError } from "../agent/errors";
import { checkRole } from "../agent/wire";
import { selectOkRuns, summarizeRunResults, type RunResult, type ScenarioResult } from "./results";
import { POLL_MS, startAll, waitForEnded } from "./_started";
import { measureClockOffsets, warnOfSkew, type ClockOffset } from "./clock";
import { isStreamPoint, runStreamOnce } from "./_stream-run";
import { searchSaturation, type Saturation } from "./saturation";
import type { RolePlan, Scenario } from "./scenarios";
import { withValue, type SweepPoint } from "./sweep";
import { measureBatch, measureWindow, type Started } from "./window";
import { parseRate } from "../agent/impair/rate";
import { judgePoint, judgeRun, type AgentTelemetry, type Verdict } from "./verdict";

/** How a run is carried out. */
export interface RunSettings {
  /** Relative folder (inside each agent's data dir) receivers write into; runs get subfolders. */
  imagesDir: string;
  /** Folder that `imagesDir` resolves to on this machine in local mode, for clean-up; undefined for remote agents. */
  localImagesDir?: string;
  /** Keep received images after a run (else a local run deletes them once counted). */
  keepImages: boolean;
  /**
   * With an emulated fleet (`--netns`): sets an agent's link to its medium's rate in the
   * kernel (tbf) before each run, undefined for none; the rate then is not emulated by the
   * agents themselves (delay, jitter and loss still are).
   */
  shapeLink?(agent: string, rate: string | undefined): void;
  /** Called after each run with the scenario, point and run (failed runs included). */
  onRun(scenario: Scenario, point: SweepPoint, run: RunResult): void;
  /** Called with each warning of a run (a clock skew larger than the latencies it distorts); default: a line on stderr. */
  onWarning?(scenario: Scenario, warning: string): void;
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
 * The point as its agents run it, and the link caps the kernel enforces (bit/s by agent):
 * with `settings.shapeLink` (`--netns`) each agent's link is set to its medium's rate by tbf
 * and the rate leaves the agents' own impairment; without, the point as given and no caps.
 */
function applyLinks(point: SweepPoint, settings: RunSettings): { point: SweepPoint; linkCaps: Record<string, number> } {
  if (!settings.shapeLink) return { point, linkCaps: {} };
  const linkCaps: Record<string, number> = {};
  for (const plan of point.roles)
    for (const agent of plan.agents) {
      settings.shapeLink(agent, plan.link?.rate);
      if (plan.link?.rate) linkCaps[agent] = parseRate(plan.link.rate, "medium rate");
    }
  const roles = point.roles.map((plan) => {
    if (!plan.link?.rate) return plan;
    const { rate: _kernel, ...link } = plan.link;
    return { ...plan, link };
  });
  return { point: { ...point, roles }, linkCaps };
}

/** True when every sender of the point sends a batch (`images`), so a run ends when they have, not at a duration. */
export function isBatchPoint(point: SweepPoint): boolean {
  const senders = point.roles.filter((plan) => plan.role === "sender");
  return senders.length > 0 && senders.every((plan) => Number(plan.options.images) > 0);
}

/**
 * One repeat at one point, started in stages and stopped in reverse: sinks (receivers on
 * `/upload`, managers on `/jobs?wait=1`) on free ports, then workers dialling the first
 * manager, then senders aimed at every sink (or, paired, at their own) for warm-up +
 * duration; or, for a batch (`isBatchPoint`), until every sender has sent its images
 * (duration then bounds how long a batch may take).
 */
async function runOnce(scenario: Scenario, given: SweepPoint, repeat: number, clients: Map<string, ControlClient>, settings: RunSettings): Promise<RunResult> {
  const { point, linkCaps } = applyLinks(given, settings);
  if (isStreamPoint(point)) return runStreamOnce(scenario, point, repeat, clients).catch((error) => toFailedRun(repeat, error));
  const started: Started[] = [];
  const folder = [scenario.name, point.label.replace(/[^A-Za-z0-9._=-]/g, "_"), `run-${repeat}`].filter(Boolean).join("/");
  const runMs = scenario.warmupMs + scenario.durationMs;
  const plansOf = (...names: string[]) => point.roles.filter((entry) => names.includes(entry.role));
  let clocks: Record<string, ClockOffset> = {};
  try {
    clocks = await measureClockOffsets(clients, [...new Set(point.roles.flatMap((plan) => plan.agents))]);
    const clockOf = (agent: string) => (clocks[agent] ? { clockOffsetMs: clocks[agent].offset_ms } : {});
    const sinks: Started[] = [];
    const targets: string[] = [];
    for (const plan of plansOf("receiver")) {
      const entries = await startAll(clients, plan, (agent) => ({ ...plan.options, port: 0, out: `${settings.imagesDir}/${folder}/${agent}`, ...clockOf(agent) }), started, clocks);
      sinks.push(...entries);
      targets.push(...entries.map((entry) => `http://${hostOf(entry)}:${checkRole(entry.info, "receiver").stats.port}/upload`));
    }
    // With a broker, managers share it and every worker pulls from it; without, workers dial the first manager.
    const broker = toBrokerUrl(scenario, point, settings);
    const managers: Started[] = [];
    for (const plan of plansOf("manager")) managers.push(...(await startAll(clients, plan, () => ({ ...plan.options, port: 0, workerPort: 0, ...(broker ? { broker } : {}) }), started, clocks)));
    sinks.push(...managers);
    targets.push(...managers.map((entry) => `http://${hostOf(entry)}:${checkRole(entry.info, "manager").stats.port}/jobs?wait=1`));
    let workers = 0;
    for (const plan of plansOf("grayscale-worker", "recognition-worker")) {
      const address = `${hostOf(managers[0]!)}:${checkRole(managers[0]!.info, "manager").stats.worker_port}`;
      workers += (await startAll(clients, plan, () => ({ ...plan.options, ...(broker ? { broker } : { manager: address }) }), started)).length;
    }
    await waitForWorkers(managers, workers);
    const senders: Started[] = [];
    const batch = isBatchPoint(point);
    for (const plan of plansOf("sender"))
      senders.push(...(await startAll(clients, plan, (agent) => ({ target: toSenderTargets(plan, agent, targets), ...plan.options, duration: `${runMs}ms`, warmup: `${scenario.warmupMs}ms`, ...clockOf(agent) }), started, clocks)));
    await waitForEnded(senders, runMs);
    for (const entry of [...started].reverse()) {
      entry.info = await entry.client.stopRole(entry.info.id);
      entry.stoppedAt = Date.now();
    }
    const roles = [...started];
    started.length = 0;
    const figures = batch ? measureBatch(senders, sinks) : measureWindow(senders, sinks, scenario.warmupMs, scenario.durationMs);
    const warnings = warnOfSkew(clocks, toSkewPairs(senders, sinks));
    return { repeat, status: "ok", ...figures, clocks, ...(warnings.length > 0 ? { warnings } : {}), ...(await judge(roles, linkCaps, clocks)) };
  } catch (error) {
    return { ...toFailedRun(repeat, error), ...(Object.keys(clocks).length > 0 ? { clocks } : {}) };
  } finally {
    await Promise.allSettled([...started].reverse().map((entry) => entry.client.stopRole(entry.info.id)));
    if (settings.localImagesDir && !settings.keepImages) await rm(`${settings.localImagesDir}/${folder}`, { recursive: true, force: true });
  }
}

/**
 * The telemetry of each agent that ran a role, over the run (from its first role's start to
 * its last stop, on its own clock: shifted by its measured offset, else by its `started_at`
 * against the controller's start time); an agent whose telemetry cannot be read is left out.
 */
async function readTelemetry(roles: Started[], clocks: Record<string, ClockOffset>): Promise<AgentTelemetry[]> {
  const byAgent = Map.groupBy(roles, (entry) => entry.client);
  const read = [...byAgent].map(async ([client, entries]): Promise<AgentTelemetry | null> => {
    const offset = clocks[client.name]?.offset_ms ?? Date.parse(entries[0]!.info.started_at) - entries[0]!.startedAt;
    const from = Math.min(...entries.map((entry) => entry.startedAt)) + offset;
    const to = Math.max(...entries.map((entry) => entry.stoppedAt ?? Date.now())) + offset;
    try {
      const [health, samples] = await Promise.all([client.health(), client.telemetry(from)]);
      return { agent: client.name, host: health.host, cores: health.cpus, samples: samples.filter((sample) => sample.t <= to + 1000) };
    } catch {
      return null;
    }
  });
  return (await Promise.all(read)).filter((entry): entry is AgentTelemetry => entry !== null);
}

/** How long a role worked (ms): its own `elapsed_s` where it reports one (a sender ends by itself before the controller stops it), else from its start to its stop. */
function toLifeMs(entry: Started): number {
  const stats = entry.info.stats;
  return "elapsed_s" in stats ? stats.elapsed_s * 1000 : (entry.stoppedAt ?? Date.now()) - entry.startedAt;
}

/** The run's verdict and each agent's telemetry summary: mean CPU (box and agent process), hottest temperature, slowest clock, throttling flags that held. */
async function judge(roles: Started[], linkCaps: Record<string, number>, clocks: Record<string, ClockOffset>): Promise<Pick<RunResult, "verdict" | "telemetry">> {
  const telemetry = await readTelemetry(roles, clocks);
  const verdict = judgeRun(
    roles.map((entry) => ({ agent: entry.client.name, info: entry.info, lifeMs: toLifeMs(entry) })),
    telemetry,
    linkCaps,
  );
  return { verdict, telemetry: Object.fromEntries(telemetry.map((agent) => [agent.agent, summarizeTelemetry(agent)])) };
}

/** One agent's telemetry over a run, summarized for results.json (null where no sample had the figure), with its per-second CPU series (t in s since its first sample). */
function summarizeTelemetry({ host, cores, samples }: AgentTelemetry): NonNullable<RunResult["telemetry"]>[string] {
  const numbers = (read: (sample: (typeof samples)[number]) => number | null | undefined) => samples.slice(1).map(read).filter((value): value is number => typeof value === "number");
  const meanOf = (values: number[]) => (values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 100) / 100 : null);
  const flags = new Set(samples.flatMap((sample) => Object.entries(sample.throttled ?? {}).filter(([name, value]) => value === true && !name.endsWith("_occurred")).map(([name]) => name)));
  return {
    host,
    cores,
    cpu_total_pct: meanOf(numbers((sample) => sample.cpu_total_pct)),
    process_cpu_cores: meanOf(numbers((sample) => sample.process.cpu_cores)),
    temp_c_max: numbers((sample) => sample.temp_c).reduce<number | null>((max, value) => (max === null || value > max ? value : max), null),
    freq_mhz_min: numbers((sample) => sample.freq_mhz).reduce<number | null>((min, value) => (min === null || value < min ? value : min), null),
    throttled: [...flags],
    series: {
      t: samples.slice(1).map((sample) => Math.round((sample.t - samples[0]!.t) / 100) / 10),
      box_busy_cores: samples.slice(1).map((sample) => (sample.cpu_total_pct === null ? null : Math.round(sample.cpu_total_pct * cores) / 100)),
      process_cpu_cores: samples.slice(1).map((sample) => sample.process.cpu_cores),
    },
  };
}

/** Every sender agent with every receiver agent, and the receiver's latency p50 (X-Sent-At to save, ms), for `warnOfSkew`. */
function toSkewPairs(senders: Started[], sinks: Started[]): { sender: string; receiver: string; latencyP50Ms: number }[] {
  const receivers = sinks.filter((entry) => entry.info.role === "receiver");
  return senders.flatMap((sender) =>
    receivers.map((receiver) => ({ sender: sender.client.name, receiver: receiver.client.name, latencyP50Ms: checkRole(receiver.info, "receiver").stats.latency_ms.p50 })),
  );
}

/** A plan as the results' params show it: agents, options, targets, impairment (with the agents it hits). */
function toParams(plan: RolePlan): Record<string, unknown> {
  const impair = plan.impair ? { impair: { ...plan.impair, ...(plan.impairAgents ? { agents: plan.impairAgents } : {}) } } : {};
  return { agents: plan.agents, ...plan.options, ...(plan.targets ? { targets: plan.targets } : {}), ...impair };
}

function verdictOf(runs: RunResult[]): { verdict?: Verdict } {
  const verdict = judgePoint(runs.flatMap((run) => (run.verdict ? [run.verdict] : [])));
  return verdict ? { verdict } : {};
}

function warnOnStderr(scenario: Scenario, warning: string): void {
  process.stderr.write(`controller: warning: scenario ${scenario.name}: ${warning}\n`);
}

/** One point's entry of the results: its parameters, its runs and their summary over those that did not fail. */
function toScenarioResult(scenario: Scenario, point: SweepPoint, runs: RunResult[]): ScenarioResult {
  const okRuns = selectOkRuns(runs);
  const fixed = Object.fromEntries(point.roles.map((plan) => [plan.role, toParams(plan)]));
  return {
    name: scenario.name,
    description: scenario.description,
    point: point.label,
    swept: scenario.swept,
    ...(point.medium ? { medium: point.medium } : {}),
    emulated: point.roles.some((plan) => Object.keys({ ...plan.link, ...plan.impair }).length > 0),
    params: { ...point.params, ...fixed, duration_s: scenario.durationMs / 1000, warmup_s: scenario.warmupMs / 1000 },
    runs,
    summary: okRuns.length > 0 ? summarizeRunResults(okRuns) : {},
    ...verdictOf(okRuns),
  };
}

/** Runs one point and repeat, then tells `settings` of its warnings and of the run. */
async function runAndReport(scenario: Scenario, point: SweepPoint, repeat: number, clients: Map<string, ControlClient>, settings: RunSettings): Promise<RunResult> {
  const run = await runOnce(scenario, point, repeat, clients, settings);
  for (const warning of run.warnings ?? []) (settings.onWarning ?? warnOnStderr)(scenario, warning);
  settings.onRun(scenario, point, run);
  return run;
}

/**
 * A saturated scenario (`[scenario.saturate]`): its point run at the rates the search picks
 * (controller/saturation.ts), `repeat` searches. The entry's runs are each repeat's run at its
 * maximum sustainable rate, so its summary is the figures there; `saturation` holds every step.
 */
async function runSaturation(scenario: Scenario, saturation: Saturation, clients: Map<string, ControlClient>, settings: RunSettings): Promise<ScenarioResult> {
  const base = scenario.points[0]!;
  const { result, runs } = await searchSaturation(saturation, scenario.repeat, (rate, repeat) =>
    runAndReport(scenario, withValue(base, saturation.option, rate), repeat, clients, settings),
  );
  return { ...toScenarioResult(scenario, base, runs), saturation: result };
}

/**
 * Runs every point of a scenario, each `repeat` times, and summarizes each point over its
 * runs that did not fail (mean, std, 95% CI). A failed run is reported and the next one goes on.
 * A saturated scenario runs its search instead (`runSaturation`).
 */
export async function runScenario(scenario: Scenario, clients: Map<string, ControlClient>, settings: RunSettings): Promise<ScenarioResult[]> {
  if (scenario.saturate) return [await runSaturation(scenario, scenario.saturate, clients, settings)];
  const results: ScenarioResult[] = [];
  for (const point of scenario.points) {
    const runs: RunResult[] = [];
    for (let repeat = 1; repeat <= scenario.repeat; repeat += 1) runs.push(await runAndReport(scenario, point, repeat, clients, settings));
    results.push(toScenarioResult(scenario, point, runs));
  }
  return results;
}
