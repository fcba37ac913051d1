// Roles started for one run: starting a plan's role on each of its agents, and waiting for loads to end by themselves.
import type { ControlClient } from "../agent/client";
import type { ClockOffset } from "./clock";
import { toAgentImpairment } from "./scenarios";
import type { SweepPoint } from "./sweep";
import type { Started } from "./window";

/** How often a run polls its loads (senders, viewers) to see whether they are done (ms). */
export const POLL_MS = 250;
/** Extra time loads get beyond their duration before they are stopped anyway (ms). */
const GRACE_MS = 15_000;

/**
 * Starts the plan's role on each of its agents in parallel, each with its own impairment
 * (`toAgentImpairment`: faults only where `impair.agents` names it); every started role is
 * pushed to `started` for clean-up. A `target` option given is kept as the entry's `targets`;
 * the agent's measured clock offset, when `clocks` has it, as its `clockOffsetMs`.
 */
export async function startAll(
  clients: Map<string, ControlClient>,
  plan: SweepPoint["roles"][number],
  options: (agent: string) => Record<string, unknown>,
  started: Started[],
  clocks: Record<string, ClockOffset> = {},
): Promise<Started[]> {
  return Promise.all(
    plan.agents.map(async (agent) => {
      const client = clients.get(agent)!;
      const given = options(agent);
      const targets = Array.isArray(given.target) ? (given.target as string[]) : undefined;
      const info = await client.startRole(plan.role, given, toAgentImpairment(plan, agent));
      const clock = clocks[agent] ? { clockOffsetMs: clocks[agent].offset_ms } : {};
      const entry: Started = { client, info, startedAt: Date.now(), ...(targets ? { targets } : {}), ...clock };
      started.push(entry);
      return entry;
    }),
  );
}

/** Waits until every load has ended by itself, or `runMs` plus a grace period has passed. Throws if an agent is gone. */
export async function waitForEnded(loads: Started[], runMs: number): Promise<void> {
  const deadline = Date.now() + runMs + GRACE_MS;
  while (Date.now() < deadline) {
    const infos = await Promise.all(loads.map((load) => load.client.getRole(load.info.id)));
    if (infos.every((info) => info.state === "ended" || info.state === "failed")) return;
    await Bun.sleep(POLL_MS);
  }
}
