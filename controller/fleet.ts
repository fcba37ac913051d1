// The fleet's health at a glance: each agent's version (against the controller's), arch, uptime, throttling; the version-skew check before a run.
import type { ControlClient } from "../agent/client";
import { FleetError, describeError } from "../agent/errors";
import type { ThrottleFlags } from "../agent/telemetry/parse";
import type { Health } from "../agent/wire";

/** One agent's health, or why it could not be read. */
export interface AgentHealth {
  name: string;
  url: string;
  health?: Health;
  error?: string;
}

/** Asks every client for `GET /v1/health` at once; an unreachable agent comes back with its `error`. */
export async function readFleetHealth(clients: Iterable<ControlClient>): Promise<AgentHealth[]> {
  return Promise.all(
    [...clients].map(async (client) => {
      try {
        return { name: client.name, url: client.baseUrl, health: await client.health() };
      } catch (error) {
        return { name: client.name, url: client.baseUrl, error: describeError(error) };
      }
    }),
  );
}

/** The flags that hold now, then those that held since boot (`*_occurred`); "none" when clear, "unknown" off a Pi. */
export function formatThrottle(flags: ThrottleFlags | null | undefined): string {
  if (!flags) return "unknown";
  const set = Object.entries(flags).filter(([, value]) => value === true).map(([name]) => name);
  return set.length === 0 ? "none" : `${set.join(",")} (${flags.raw})`;
}

/** Seconds as `3d4h`, `2h5m`, `4m10s` or `12s`. */
export function formatUptime(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const [d, h, m] = [Math.floor(s / 86400), Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60)];
  if (d > 0) return `${d}d${h}h`;
  if (h > 0) return `${h}h${m}m`;
  if (m > 0) return `${m}m${s % 60}s`;
  return `${s}s`;
}

/** One line of `controller agents`: up with version (and whether it is `version`, the controller's), arch, cores, roles, uptime, throttling; or DOWN with the reason. */
export function formatAgentLine(agent: AgentHealth, version: string): string {
  if (!agent.health) return `${agent.name.padEnd(12)} DOWN  ${agent.url}  ${agent.error}`;
  const h = agent.health;
  const match = h.version === version ? "matches controller" : `SKEW: controller is v${version}`;
  return `${agent.name.padEnd(12)} up    ${agent.url}  v${h.version} (${match}) ${h.arch} ${h.cpus} cores, ${h.roles} roles, up ${formatUptime(h.uptime_s)}, throttled: ${formatThrottle(h.telemetry?.throttled)}`;
}

/**
 * Refuses a run on agents whose version is not `version` (the controller's): results of
 * mixed versions would not be comparable. Unreachable agents are left to the run (it
 * records their errors).
 * @throws FleetError VERSION_SKEW whose message has one line per differing agent and names `--allow-skew`.
 */
export function refuseSkew(fleet: AgentHealth[], version: string): void {
  const skewed = fleet.filter((agent) => agent.health && agent.health.version !== version);
  if (skewed.length === 0) return;
  const lines = skewed.map((agent) => `agent ${agent.name} (${agent.url}) runs v${agent.health!.version}, the controller v${version}`);
  throw new FleetError(
    "VERSION_SKEW",
    `${skewed.length} agent(s) run another version than this controller; deploy it (controller deploy) or give --allow-skew to run anyway:\n  ${lines.join("\n  ")}`,
  );
}
