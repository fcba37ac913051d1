// The controller's --ui page: a live view of a run on 127.0.0.1:PORT; agents are asked with the controller's token and relayed.
import { Elysia } from "elysia";
import { join } from "node:path";
import { CHART_JS } from "../agent/native/chart-js";
import type { ControlClient } from "../agent/client";
import { FleetError, describeError } from "../agent/errors";
import { isRole, type RoleInfo } from "../agent/wire";
import type { Progress } from "./progress";
import { RunUiState, type UiAgent, type UiRole, type UiState } from "./ui-state";
import { WEB_DIR } from "../agent/native/web-assets";

/** The page's files: URL path -> [file, content type]. */
const FILES: Record<string, [string, string]> = {
  "/": [join(WEB_DIR, "run.html"), "text/html; charset=utf-8"],
  "/run.js": [join(WEB_DIR, "run.js"), "text/javascript; charset=utf-8"],
  "/dom.js": [join(WEB_DIR, "dom.js"), "text/javascript; charset=utf-8"],
  "/throughput.js": [join(WEB_DIR, "throughput.js"), "text/javascript; charset=utf-8"],
  "/status.css": [join(WEB_DIR, "status.css"), "text/css; charset=utf-8"],
};
/** How long one agent may take to answer the page's questions (ms); a slow agent shows as down, not as a stuck page. */
const AGENT_TIMEOUT_MS = 2_000;
/** Answers about the agents younger than this are reused (ms), so several open pages ask each agent once. */
const AGENTS_TTL_MS = 500;
/** At the end, how long the server waits for an open page's last poll before it stops (ms). */
const LAST_POLL_WAIT_MS = 2_000;

/** A Progress that forwards every call to each of `all` in turn (the terminal's and the page's). */
export function combineProgress(...all: Progress[]): Progress {
  return {
    begin: (scenario) => all.forEach((progress) => progress.begin(scenario)),
    step: (scenario, point, run) => all.forEach((progress) => progress.step(scenario, point, run)),
    end: () => all.forEach((progress) => progress.end()),
  };
}

/** Rejects after `ms` unless `promise` settles first. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: Timer | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Health and roles of one agent, or the reason it could not be asked. */
async function askAgent(client: ControlClient): Promise<UiAgent<RoleInfo>> {
  try {
    const [health, roles] = await withTimeout(Promise.all([client.health(), client.listRoles()]), AGENT_TIMEOUT_MS, `agent ${client.name}`);
    return { name: client.name, url: client.baseUrl, health, roles };
  } catch (error) {
    return { name: client.name, url: client.baseUrl, roles: [], error: describeError(error) };
  }
}

/** The running receivers summed (images/s over 5 s, per-second series); the agents' roles without their series. */
function splitLive(agents: UiAgent<RoleInfo>[]): Pick<UiState, "agents" | "live"> {
  const sums = new Map<number, [number, number, number]>();
  let imagesPerS = 0;
  for (const info of agents.flatMap((agent) => agent.roles)) {
    if (!isRole(info, "receiver") || info.state !== "running") continue;
    imagesPerS += info.stats.rate_5s ?? 0;
    for (const [second, images, bytes] of info.stats.series ?? []) {
      const sum = sums.get(second) ?? [second, 0, 0];
      sums.set(second, [second, sum[1] + images, sum[2] + bytes]);
    }
  }
  const withoutSeries = (info: RoleInfo): UiRole => ({ ...info, stats: Object.fromEntries(Object.entries(info.stats).filter(([key]) => key !== "series")) });
  return {
    agents: agents.map((agent) => ({ ...agent, roles: agent.roles.map(withoutSeries) })),
    live: { images_per_s: Math.round(imagesPerS * 100) / 100, series: [...sums.values()].sort((a, b) => a[0] - b[0]) },
  };
}

/** The page of a running controller: its address, the progress the run loop drives, and stop. */
export interface RunUi {
  url: string;
  progress: RunUiState;
  /** Marks the run finished, lets an open page fetch that once (up to 2 s), then stops serving. */
  stop(): Promise<void>;
}

/**
 * Serves the run's page on 127.0.0.1:`port` (0 = any free port): `GET /` the page,
 * `GET /api/state` the run's state with every agent asked at that moment.
 * @throws FleetError PORT_UNAVAILABLE (409) when the port is taken.
 */
export function startRunUi(port: number, clients: Map<string, ControlClient>, totalRuns: number): RunUi {
  const progress = new RunUiState(totalRuns);
  let agents: Promise<UiAgent<RoleInfo>[]> | undefined;
  let askedAt = 0;
  let lastPollAt = 0;
  let onPoll: (() => void) | undefined;
  const askAgents = (): Promise<UiAgent<RoleInfo>[]> => {
    if (!agents || Date.now() - askedAt > AGENTS_TTL_MS) {
      askedAt = Date.now();
      agents = Promise.all([...clients.values()].sort((a, b) => a.name.localeCompare(b.name)).map(askAgent));
    }
    return agents;
  };
  const readState = async (): Promise<UiState> => {
    const state = { started_at: progress.startedAt, progress: progress.toProgress(), ...progress.toResults(), ...splitLive(await askAgents()), now: Date.now() };
    lastPollAt = Date.now();
    onPoll?.();
    return state;
  };
  const app = new Elysia().get("/api/state", readState);
  for (const [path, [file, type]] of Object.entries(FILES))
    app.get(path, () => new Response(Bun.file(file), { headers: { "content-type": type, "cache-control": "no-cache" } }));
  app.get("/vendor/chart.js", () => new Response(CHART_JS, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=3600" } }));
  try {
    app.listen({ port, hostname: "127.0.0.1" });
  } catch (error) {
    throw new FleetError("PORT_UNAVAILABLE", `--ui ${port}: ${(error as Error).message}`, 409, { cause: error });
  }
  return {
    url: `http://127.0.0.1:${app.server?.port}/`,
    progress,
    async stop() {
      progress.finish();
      if (Date.now() - lastPollAt < LAST_POLL_WAIT_MS * 2)
        await withTimeout(new Promise<void>((resolve) => (onPoll = resolve)), LAST_POLL_WAIT_MS, "last poll").catch(() => undefined);
      await app.stop();
    },
  };
}
