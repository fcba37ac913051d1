// The streamer role: a frame source to many browsers as MJPEG, encoded once per quality tier, with a viewer page and live figures.
import { Elysia } from "elysia";
import { Type as t } from "@sinclair/typebox";
import { join } from "node:path";
import { parseRate } from "../../impair/rate";
import { FleetError } from "../../errors";
import { answerErrorsAsJson, jsonResponse } from "../../http";
import { loadSharp } from "../../native/sharp";
import { openSource, parseSourceSpec } from "../../sources";
import { StreamHub } from "./hub";
import { readClientStats, readStreamerStats, type StreamerStats } from "./stats";
import { MODES, TIERS, isViewerMode, type Tier, type TierSettings } from "./tiers";
import { BOUNDARY, type StreamWriter } from "./viewer";
import { parseDuration } from "../../units";
import { checkRequest, holdsToken, type GateRules } from "../../auth";
import type { LastFrame, Role, RoleHandle } from "../types";
import { WEB_DIR } from "../../native/web-assets";

const quality = (value: number) => t.Integer({ minimum: 1, maximum: 100, default: value, description: "JPEG quality of the tier" });
const scale = (value: number) => t.Number({ minimum: 0.05, maximum: 1, default: value, description: "scale of the tier's width and height" });

const options = t.Object(
  {
    port: t.Integer({ minimum: 0, maximum: 65535, default: 8080, description: "HTTP port; 0 picks a free one" }),
    source: t.String({ default: "synthetic", description: "synthetic[:WxH], files:PATH, mjpeg-cmd:COMMAND, camera, mjpeg-url:URL" }),
    fps: t.Number({ minimum: 0, maximum: 240, default: 30, description: "frames per second taken from the source; 0 = as fast as it gives them" }),
    uplink: t.String({ default: "", description: "uplink budget auto viewers share, e.g. 20Mbit; empty = quality 100 / viewers" }),
    maxViewers: t.Integer({ minimum: 1, maximum: 100_000, default: 2000, description: "viewers at once; 503 past it" }),
    sourceStall: t.String({ default: "5s", description: "a source that sends nothing this long (or 10 frame intervals of --fps, if longer) is closed and reopened; 0 = never" }),
    highQuality: quality(80),
    highScale: scale(1),
    mediumQuality: quality(50),
    mediumScale: scale(1),
    lowQuality: quality(30),
    lowScale: scale(0.5),
    sourceQuality: t.Integer({ minimum: 1, maximum: 100, default: 90, description: "JPEG quality of synthetic source frames" }),
    viewerToken: t.Optional(
      t.String({ minLength: 8, maxLength: 256, description: "closes the page, /stream, /snapshot.jpg and /stats to viewers without it (?token= once; the page keeps it as a cookie); default open" }),
    ),
  },
  { additionalProperties: false },
);

const PAGE_FILES: Record<string, [string, string]> = {
  "/": ["viewer.html", "text/html; charset=utf-8"],
  "/viewer.js": ["viewer.js", "text/javascript; charset=utf-8"],
  "/viewer.css": ["viewer.css", "text/css; charset=utf-8"],
};
const STREAM_HEADERS = {
  "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
  "cache-control": "no-store, no-cache, must-revalidate",
  pragma: "no-cache",
  "x-accel-buffering": "no",
};

/** What POST /reactions answers the viewer who pressed the button: the original's Donate button's words. */
const DONATE_MESSAGE = "Donate Success!!";

/** Longest `?client=` name kept (64 characters). */
const MAX_CLIENT_NAME = 64;

/**
 * The streamer's rules: open by default (viewers are its users); with `--viewer-token` every
 * path needs it, as `?token=`, the page's cookie, or `Authorization: Bearer`.
 */
/** The cookie a streamer's viewer page keeps its `--viewer-token` in. */
const VIEWER_COOKIE = "framefleet_viewer";

function toGateRules(viewerToken: string | undefined): GateRules {
  return {
    token: viewerToken,
    isPublic: () => false,
    takesQueryToken: () => true,
    cookie: VIEWER_COOKIE,
    sameOriginOnly: false,
    hint: "open the page once as /?token=TOKEN (the streamer's --viewer-token); it keeps it as a cookie",
  };
}

/**
 * The cookie that keeps a viewer's token for the page's own requests (`<img src=/stream>`,
 * fetch /stats): HttpOnly, SameSite=Strict, for the whole server (RFC 6265).
 */
function toViewerCookie(token: string): string {
  return `${VIEWER_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`;
}

export default {
  name: "streamer",
  summary: "live MJPEG to many browsers: encoded once per quality tier, slow viewers skip to the newest frame",
  options,
  async start(opts, context): Promise<RoleHandle & LastFrame> {
    const uplinkBps = opts.uplink === "" ? undefined : parseRate(opts.uplink, "--uplink");
    const stallMs = Math.max(parseDuration(opts.sourceStall, "--source-stall") || Infinity, opts.fps > 0 ? 10_000 / opts.fps : 0);
    loadSharp(); // now rather than on the first viewer's first frame (about 100 ms)
    const spec = parseSourceSpec(opts.source);
    const open = () => openSource(spec, { quality: opts.sourceQuality });
    const tiers = Object.fromEntries(
      TIERS.map((tier) => [tier, { quality: opts[`${tier}Quality`], scale: opts[`${tier}Scale`] }]),
    ) as Record<Tier, TierSettings>;
    const hub = new StreamHub(await open(), open, { fps: opts.fps, tiers, uplinkBps, maxViewers: opts.maxViewers, stallMs, log: context.log });
    const startedAt = Date.now();
    const reactions = { count: 0 };
    let stoppedAt = 0;
    let final: StreamerStats | undefined;

    const stream = (query: Record<string, string | undefined>): Response => {
      const mode = query.quality ?? "auto";
      if (!isViewerMode(mode))
        throw new FleetError("BAD_QUALITY", `quality "${mode}" is not one of ${MODES.join(", ")}`, 400);
      const viewer = hub.addViewer(mode, (query.client ?? "").slice(0, MAX_CLIENT_NAME));
      const body = new ReadableStream({
        type: "direct",
        pull(controller: StreamWriter) {
          viewer.attach(controller);
          return viewer.closed;
        },
        cancel: () => hub.removeViewer(viewer),
      });
      return new Response(body, { headers: STREAM_HEADERS });
    };

    const stats = (): StreamerStats =>
      final ?? readStreamerStats(hub, { port: boundPort, startedAt, reactions: reactions.count, uplinkBps, spec: opts.source, now: Date.now() });

    const { viewerToken } = opts;
    const app = answerErrorsAsJson(new Elysia())
      .onRequest(({ request }) => checkRequest(request, toGateRules(viewerToken)))
      .get("/stream", ({ query }) => stream(query))
      .get("/snapshot.jpg", () => {
        const frame = hub.latest;
        if (!frame) throw new FleetError("NO_FRAME", "the source has not given a frame yet", 503);
        return new Response(frame.data, { headers: { "content-type": "image/jpeg", "cache-control": "no-store" } });
      })
      .get("/stats", ({ query }) => (query.client === undefined ? stats() : readClientStats(hub, query.client.slice(0, MAX_CLIENT_NAME), reactions.count)))
      // The original's Donate button: the count is shared live, the thanks go to whoever pressed it.
      .post("/reactions", () => jsonResponse({ reactions: ++reactions.count, message: DONATE_MESSAGE }, 201))
      .get("/*", ({ path, query }) => {
        const file = PAGE_FILES[path];
        if (!file) throw new FleetError("NOT_FOUND", `no page ${path}`, 404);
        // A page opened with a valid ?token= keeps it as a cookie for its own requests.
        const keep = viewerToken !== undefined && holdsToken(viewerToken, [query.token]) ? { "set-cookie": toViewerCookie(viewerToken) } : {};
        return new Response(Bun.file(join(WEB_DIR, file[0])), { headers: { "content-type": file[1], ...keep } });
      });
    try {
      app.listen({ port: opts.port, hostname: context.host, idleTimeout: 0 });
    } catch (error) {
      await hub.stop();
      throw new FleetError("PORT_UNAVAILABLE", `--port ${opts.port}: ${(error as Error).message}`, 409, { cause: error });
    }
    const boundPort = app.server?.port ?? opts.port;
    hub.start();
    context.log("streamer_listening", { port: boundPort, source: opts.source });

    return {
      stats,
      lastFrame: () => hub.latest?.data,
      async stop() {
        if (stoppedAt) return;
        stoppedAt = Date.now();
        // Reverse order of start, each part always: HTTP first (every stream ends, no new viewers), then the hub and its source.
        const outcomes: PromiseSettledResult<unknown>[] = await Promise.allSettled([app.stop(true)]);
        outcomes.push(...(await Promise.allSettled([hub.stop()])));
        final = readStreamerStats(hub, { port: boundPort, startedAt, reactions: reactions.count, uplinkBps, spec: opts.source, now: stoppedAt });
        const failures = outcomes.filter((outcome) => outcome.status === "rejected").map((outcome) => outcome.reason);
        if (failures.length > 0) throw new AggregateError(failures, "streamer: stop failed");
      },
    };
  },
} satisfies Role<typeof options>;
