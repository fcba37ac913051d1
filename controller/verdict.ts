// The bottleneck verdict of a run: every resource's load against its limit, from the roles' final figures and the agents' telemetry; the one closest to its limit is named.
import type { TelemetrySample } from "../agent/telemetry";
import { isRole, type RoleInfo } from "../agent/wire";

/** A load at or above this share of its limit is "near" it: named as the bottleneck. */
export const NEAR_LIMIT = 0.8;
/** A receiver answering 503 (queue full) to this share of requests is saturated (ratio 1): a share this high is no passing burst. */
const SATURATED_503_SHARE = 0.05;

/** One resource's load: `ratio` of its limit (1 = at it) and the sentence that names it. */
export interface Load {
  /** `cpu`, `emulated-cpu`, `host-cpu`, `box-cpu`, `link`, `queue`, `workers` or `disk`. */
  resource: string;
  /** The agent (or host) it belongs to. */
  where: string;
  ratio: number;
  text: string;
}

/** A run's verdict: the load closest to its limit when it is near (`NEAR_LIMIT`), else none, with every load measured. */
export interface Verdict {
  /** The bottleneck's resource and where, e.g. `emulated-cpu pi1`; null when nothing is near its limit. */
  bottleneck: string | null;
  text: string;
  loads: Load[];
}

/** A role of the run: its agent, its final info, and how long it ran (ms, the controller's clock). */
export interface RoleRun {
  agent: string;
  info: RoleInfo;
  lifeMs: number;
}

/** An agent's telemetry over the run: its host's name and cores, and its samples. */
export interface AgentTelemetry {
  agent: string;
  host: string;
  cores: number;
  samples: TelemetrySample[];
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((total, value) => total + value, 0) / values.length;
}

function pct(ratio: number): string {
  return `${Math.round(ratio * 100)}%`;
}

/** Emulated boards (`cpu` impairment): work plus imposed idle over the role's life; the throttle lays them on one timeline, so a busy board is at 1. */
function emulatedCpuLoads(roles: RoleRun[]): Load[] {
  return roles.flatMap(({ agent, info, lifeMs }) => {
    const impairment = "impairment" in info.stats ? info.stats.impairment : undefined;
    if (!impairment?.cpu || impairment.cpu >= 1 || lifeMs <= 0) return [];
    // idled = used x (1/cpu - 1), so used + idled = idled / (1 - cpu): agent/impair/cpu.ts. Idle still due when the role ended is not a busier board: at most 1.
    const ratio = Math.min(1, (impairment.idled_ms ?? 0) / (1 - impairment.cpu) / lifeMs);
    return [{ resource: "emulated-cpu", where: agent, ratio, text: `${info.role} ${agent} CPU ${pct(ratio)} (emulated board, cpu ${impairment.cpu})` }];
  });
}

/**
 * A role's Mbit/s while it was busy: the median of its series' whole seconds (the first and
 * last, partial, left out), so a warm-up or a drain does not dilute a saturated link; its
 * life's average when it has no whole second.
 */
function busyMbitPerS(stats: { mbit_per_s: number; series: [number, number, number][] }): number {
  const whole = [...stats.series].sort((a, b) => a[0] - b[0]).slice(1, -1);
  if (whole.length === 0) return stats.mbit_per_s;
  const rates = whole.map(([, , bytes]) => (bytes * 8) / 1e6).sort((a, b) => a - b);
  const middle = Math.floor(rates.length / 2);
  return rates.length % 2 === 1 ? rates[middle]! : (rates[middle - 1]! + rates[middle]!) / 2;
}

/**
 * Links with a known cap: senders' (their `rate` impairment, or `linkCaps` the kernel enforces)
 * by the bits they sent, and receivers' (`linkCaps`: the tbf shapes both ways) by the bits they
 * took in, each while busy (`busyMbitPerS`) against the cap. A receiver's link is the one cap where
 * several senders share one downlink.
 */
function linkLoads(roles: RoleRun[], linkCaps: Record<string, number>): Load[] {
  return roles.flatMap(({ agent, info }) => {
    if (isRole(info, "receiver") && linkCaps[agent]) {
      const mbit = busyMbitPerS({ mbit_per_s: info.stats.mbit_per_s, series: info.stats.series ?? [] });
      return [{ resource: "link", where: agent, ratio: (mbit * 1e6) / linkCaps[agent], text: `link ${agent} in ${Math.round(mbit)} of ${Math.round(linkCaps[agent] / 1e6)} Mbit/s (tbf)` }];
    }
    if (!isRole(info, "sender")) return [];
    const emulated = info.stats.impairment?.rate_bit_s;
    const cap = emulated ?? linkCaps[agent];
    if (!cap) return [];
    const mbit = busyMbitPerS({ mbit_per_s: info.stats.mbit_per_s, series: info.stats.series ?? [] });
    return [{ resource: "link", where: agent, ratio: (mbit * 1e6) / cap, text: `link ${agent} ${Math.round(mbit)} of ${Math.round(cap / 1e6)} Mbit/s${emulated ? "" : " (tbf)"}` }];
  });
}

/** Receivers' backpressure: the share of requests answered 503 because the save queue was full. */
function queueLoads(roles: RoleRun[]): Load[] {
  return roles.flatMap(({ agent, info }) => {
    if (!isRole(info, "receiver")) return [];
    const { received, rejected } = info.stats;
    const share = received + rejected > 0 ? rejected / (received + rejected) : 0;
    return [{ resource: "queue", where: agent, ratio: Math.min(1, share / SATURATED_503_SHARE), text: `receiver ${agent} save queue full: 503 to ${pct(share)} of requests` }];
  });
}

/** Workers: time spent on tasks over the role's life times the tasks it may run at once (its `concurrency`). */
function workerLoads(roles: RoleRun[]): Load[] {
  return roles.flatMap(({ agent, info, lifeMs }) => {
    if (!isRole(info, "grayscale-worker", "recognition-worker") || lifeMs <= 0) return [];
    const slots = Number(info.options.concurrency) || 1;
    const ratio = info.stats.busy_ms / (lifeMs * slots);
    return [{ resource: "workers", where: agent, ratio, text: `${info.role} ${agent} busy ${pct(ratio)} of its ${slots} slot${slots === 1 ? "" : "s"}` }];
  });
}

/**
 * CPU from telemetry: each agent's process against one core (its JavaScript runs on one
 * thread; sharp's threads can take it past 1); per host the agents' processes together
 * against the host's cores (what the fleet used), and the box's own busy share (/proc/stat,
 * every process) where the agents are at least half of it; disks by their busy share.
 */
function telemetryLoads(agents: AgentTelemetry[], roles: RoleRun[]): Load[] {
  const loads: Load[] = [];
  const byHost = new Map<string, { cores: number; used: number; agents: string[]; disks: Map<string, number[]>; busy: number[] }>();
  for (const agent of agents) {
    const samples = agent.samples.slice(1); // the first sample's rates reach back before the run
    if (samples.length === 0) continue;
    const cores = mean(samples.map((sample) => sample.process.cpu_cores));
    const roleNames = [...new Set(roles.filter((role) => role.agent === agent.agent).map((role) => role.info.role))].join("+") || "agent";
    loads.push({ resource: "cpu", where: agent.agent, ratio: cores, text: `${roleNames} ${agent.agent} CPU ${cores.toFixed(2)} cores (its JavaScript thread is one)` });
    const host = byHost.get(agent.host) ?? { cores: agent.cores, used: 0, agents: [] as string[], disks: new Map<string, number[]>(), busy: [] as number[] };
    host.used += cores;
    host.agents.push(agent.agent);
    for (const sample of samples) for (const [disk, figures] of Object.entries(sample.disk ?? {})) host.disks.set(disk, [...(host.disks.get(disk) ?? []), figures.busy_pct]);
    for (const sample of samples) if (sample.cpu_total_pct !== null) host.busy.push(sample.cpu_total_pct);
    byHost.set(agent.host, host);
  }
  for (const [name, host] of byHost) {
    // The box's own busy share counts only when the agents are most of what keeps it busy: a box busy with
    // other programs (a build beside the run) starves the agents only where they wanted more than they got.
    const busyCores = (mean(host.busy) / 100) * host.cores;
    if (host.busy.length > 0 && host.used >= busyCores / 2) {
      const ratio = busyCores / host.cores;
      loads.push({ resource: "box-cpu", where: name, ratio, text: `box ${name} CPU ${pct(ratio)} busy (the agents used ${host.used.toFixed(2)} of its ${host.cores} cores)` });
    }
    if (host.agents.length > 1) loads.push({ resource: "host-cpu", where: name, ratio: host.used / host.cores, text: `host ${name} CPU: its agents (${host.agents.join(", ")}) used ${host.used.toFixed(2)} of ${host.cores} cores` });
    for (const [disk, busy] of host.disks) {
      const ratio = mean(busy) / 100;
      if (ratio > 0) loads.push({ resource: "disk", where: name, ratio, text: `disk ${disk} on ${name} busy ${pct(ratio)}` });
    }
  }
  return loads;
}

/**
 * Judges a run: every load (emulated boards, links with a known rate (`linkCaps`: bit/s by
 * agent, the kernel's tbf under --netns), receivers' 503s,
 * workers' slots, agents' and hosts' CPU, disks), the highest named when it is at least
 * NEAR_LIMIT of its limit.
 */
export function judgeRun(roles: RoleRun[], telemetry: AgentTelemetry[], linkCaps: Record<string, number> = {}): Verdict {
  const loads = [...emulatedCpuLoads(roles), ...linkLoads(roles, linkCaps), ...queueLoads(roles), ...workerLoads(roles), ...telemetryLoads(telemetry, roles)]
    .map((load) => ({ ...load, ratio: Math.round(load.ratio * 100) / 100 }))
    .sort((a, b) => b.ratio - a.ratio);
  const top = loads[0];
  if (!top || top.ratio < NEAR_LIMIT) return { bottleneck: null, text: `no resource near its limit${top ? ` (highest: ${top.text})` : ""}`, loads };
  return { bottleneck: `${top.resource} ${top.where}`, text: top.text, loads };
}

/**
 * A scenario point's verdict over its runs: the bottleneck most runs name (ties: the first
 * run's), with that run's sentence; none when most runs name none.
 */
export function judgePoint(verdicts: Verdict[]): Verdict | undefined {
  if (verdicts.length === 0) return undefined;
  const counts = new Map<string | null, number>();
  for (const verdict of verdicts) counts.set(verdict.bottleneck, (counts.get(verdict.bottleneck) ?? 0) + 1);
  const [winner] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]!;
  return verdicts.find((verdict) => verdict.bottleneck === winner);
}
