// The viewers role: a load for a streamer, N MJPEG viewers for a set time, counting whole frames (the stream-viewers experiment).
import { Type as t } from "@sinclair/typebox";
import { FleetError } from "../../errors";
import { runViewerLoad, type LoadFigures } from "../streamer/load";
import { MODES } from "../streamer/tiers";
import { RateSpan } from "../../metrics";
import { parseDuration } from "../../units";
import type { ViewersStats } from "../../wire";
import type { Role, RoleHandle } from "../types";

const options = t.Object(
  {
    target: t.String({ pattern: "^http://", description: "a streamer's stream, e.g. http://HOST:8080/stream" }),
    count: t.Integer({ minimum: 1, maximum: 10_000, default: 10, description: "viewers opened at once" }),
    quality: t.Union(MODES.map((mode) => t.Literal(mode)), { default: "low", description: "the ?quality= every viewer asks for" }),
    duration: t.String({ default: "10s", description: "how long to watch, warm-up included" }),
    warmup: t.String({ default: "0s", description: "frames before this are not counted in fps and gaps" }),
  },
  { additionalProperties: false },
);

/** The stream URL with `?quality=` set unless the target already names one. @throws FleetError BAD_TARGET (422). */
function toStreamUrl(target: string, quality: string): string {
  let url: URL;
  try {
    url = new URL(target);
  } catch (error) {
    throw new FleetError("BAD_TARGET", `--target ${target}: not a URL`, 422, { cause: error });
  }
  if (!url.searchParams.has("quality")) url.searchParams.set("quality", quality);
  return url.href;
}

export default {
  name: "viewers",
  summary: "a streamer load: N MJPEG viewers on raw sockets, whole frames counted, p99 gap and first-frame time",
  options,
  async start(opts, context): Promise<RoleHandle> {
    const url = toStreamUrl(opts.target, opts.quality);
    const durationMs = parseDuration(opts.duration, "--duration");
    const warmupMs = parseDuration(opts.warmup, "--warmup");
    if (durationMs === 0 || warmupMs >= durationMs)
      throw new FleetError("BAD_DURATION", `--duration ${opts.duration} must be longer than --warmup ${opts.warmup}`, 422);
    const abort = new AbortController();
    const span = new RateSpan();
    let figures: LoadFigures | undefined;
    context.log("viewers_started", { url, count: opts.count });
    const ended = runViewerLoad({ url, viewers: opts.count, durationMs, warmupMs, signal: abort.signal, observe: context.observe }).then(
      (result) => void (figures = result),
      (error) => context.log("viewers_failed", { error: (error as Error).message }),
    );
    return {
      ended,
      stats: (): ViewersStats => ({ role: "viewers", target: url, count: opts.count, elapsed_s: span.elapsedMs() / 1000, done: figures !== undefined, ...figures }),
      async stop() {
        abort.abort();
        await ended;
      },
    };
  },
} satisfies Role<typeof options>;
