// The agent's control API (Elysia): health, roles, live figures, telemetry, Prometheus metrics and the status page.
import { Elysia, t } from "elysia";
import { staticPlugin } from "@elysiajs/static";
import { arch, cpus, freemem, hostname, totalmem } from "node:os";
import { checkRequest, type AuthMode, type GateRules } from "../auth";
import { CHART_JS } from "../native/chart-js";
import { readEventLoopLag } from "./event-loop";
import { FleetError } from "../errors";
import { answerErrorsAsJson } from "../http";
import { createMetricsExporter } from "./prometheus";
import type { Supervisor } from "./supervisor";
import { ClockReading, StartRoleRequest, type Health } from "../wire";
import type { LogRing } from "../logs";
import { WEB_DIR } from "../native/web-assets";
import { TelemetrySampler } from "../telemetry";

/** What the control API needs from its agent. */
export interface ControlSettings {
  agent: string;
  version: string;
  /** Bearer token every call but health and the page's files needs; none = open. */
  token?: string;
  /** How the API is guarded (agent/auth.ts `chooseAuthMode`); default `token` with a token, else `loopback`. */
  mode?: AuthMode;
  supervisor: Supervisor;
  /** The box's telemetry (for /v1/telemetry, /v1/health and /metrics); default a sampler of this machine started with the app. */
  telemetry?: TelemetrySampler;
  /** The agent's recent log lines (GET /v1/logs); none = the call answers an empty list. */
  logs?: LogRing;
}


/** `GET /v1/logs` query: lines numbered above `after` (default 0: from the oldest kept), at most `lines` of them, the newest (default 100, at most 1000). */
const LogQuery = t.Object(
  {
    after: t.Optional(t.Numeric({ minimum: 0, multipleOf: 1 })),
    lines: t.Optional(t.Numeric({ minimum: 1, maximum: 1000, multipleOf: 1 })),
  },
  { additionalProperties: false },
);

/** Paths anyone may read: the health probe and the status page's own files (the page then asks for the token). */
function isPublic(path: string): boolean {
  return path === "/v1/health" || path === "/" || path === "/vendor/chart.js" || /^\/[\w.-]+\.(html|js|css|svg)$/.test(path);
}

/**
 * The control API's gate: the token (header only) when set, browsers' cross-site calls
 * refused, JSON-only mutating calls (no HTML form can send JSON), and in loopback mode only
 * loopback Host names (DNS rebinding).
 */
function toGateRules(token: string | undefined, mode: AuthMode): GateRules {
  return {
    token,
    isPublic,
    takesQueryToken: () => false,
    sameOriginOnly: true,
    jsonOnly: true,
    loopbackHostOnly: mode === "loopback",
    hint: "send Authorization: Bearer TOKEN (the agent's --token-file or AGENT_TOKEN)",
  };
}

/**
 * The last frame of role `id`, when its handle keeps one (receivers).
 * @throws FleetError NO_SUCH_ROLE (404), NO_FRAME (404) before the first image or for roles without frames.
 */
function readLastFrame(supervisor: Supervisor, id: string): Uint8Array {
  const frame = supervisor.lastFrame(id);
  if (!frame) throw new FleetError("NO_FRAME", `role "${id}" has no saved frame yet`, 404);
  return frame;
}

/** This agent's wall clock for one `GET /v1/clock` exchange; a fixed, tiny answer, so the endpoint costs nothing to call. */
function readClock(): ClockReading {
  const received = Date.now();
  return { received_at_ms: received, sent_at_ms: Date.now() };
}

/**
 * Builds the control API (docs/api.md), guarded by `checkRequest` (agent/auth.ts): a
 * foreign Origin gets 403, a mutating call without a JSON body 415, and with a token set
 * every call but `GET /v1/health` and the page's files answers 401 without
 * `Authorization: Bearer TOKEN`.
 */
export async function createControlApp(settings: ControlSettings) {
  const { supervisor } = settings;
  const mode = settings.mode ?? (settings.token ? "token" : "loopback");
  const gate = toGateRules(settings.token, mode);
  const startedAt = Date.now();
  readEventLoopLag(); // starts the watcher, so the first health call has a second of samples
  const telemetry = settings.telemetry ?? new TelemetrySampler().start();
  const metrics = createMetricsExporter({ agent: settings.agent, version: settings.version, listRoles: () => supervisor.list(), durations: supervisor.durations, telemetry });
  const health = (): Health => ({
    agent: settings.agent,
    version: settings.version,
    host: hostname(),
    arch: arch(),
    cpus: cpus().length,
    memory: { total: totalmem(), free: freemem(), rss: process.memoryUsage.rss() },
    uptime_s: Math.round((Date.now() - startedAt) / 1000),
    roles: supervisor.list().length,
    auth: mode,
    event_loop_lag_ms: readEventLoopLag(),
    telemetry: telemetry.latest(),
  });
  return answerErrorsAsJson(new Elysia({ normalize: false }))
    .onRequest(({ request }) => checkRequest(request, gate))
    .get("/v1/health", health)
    .get("/v1/telemetry", ({ query }) => ({ samples: telemetry.since(query.since ?? 0) }), { query: t.Object({ since: t.Optional(t.Numeric({ minimum: 0 })) }) })
    .get("/v1/logs", ({ query }) => settings.logs?.read(query.after ?? 0, query.lines ?? 100) ?? { lines: [], next: 0 }, { query: LogQuery })
    .get("/v1/clock", readClock, { response: ClockReading })
    .get("/v1/roles", () => supervisor.list())
    .post(
      "/v1/roles",
      async ({ body, set }) => {
        const info = await supervisor.start(body.role, body.options ?? {}, "api", body.impair);
        set.status = 201;
        return info;
      },
      { body: StartRoleRequest },
    )
    .get("/v1/roles/:id", ({ params }) => supervisor.get(params.id))
    .get("/v1/roles/:id/stats", ({ params }) => supervisor.get(params.id).stats)
    .get("/v1/roles/:id/frame.jpg", ({ params }) => {
      const frame = readLastFrame(supervisor, params.id);
      return new Response(frame, { headers: { "content-type": "image/jpeg", "cache-control": "no-store" } });
    })
    .delete("/v1/roles/:id", ({ params }) => supervisor.stop(params.id))
    .get("/vendor/chart.js", () => new Response(CHART_JS, { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "max-age=3600" } }))
    .get("/metrics", async ({ set }) => {
      set.headers["content-type"] = metrics.contentType;
      return await metrics.render();
    })
    .use(await staticPlugin({ assets: WEB_DIR, prefix: "/", indexHTML: true, alwaysStatic: false }))
    .all("/v1/*", () => {
      throw new FleetError("NOT_FOUND", "no such control API path", 404);
    });
}
