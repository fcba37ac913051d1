// The sender role: frames from a source to receivers over HTTP, topics x multiply POSTs per frame.
import { Type as t } from "@sinclair/typebox";
import { closeSync, openSync } from "node:fs";
import { FleetError } from "../../errors";
import { NO_IMPAIRMENT, type Impairer } from "../../impair";
import { mbitPerSecond, perSecond, round2 } from "../../metrics";
import { Slots } from "../../slots";
import { openSource, parseSourceSpec, type Frame, type FrameSource } from "../../sources";
import { parseFrameSpec, reframeSource } from "../../sources/reframe";
import { parseDuration } from "../../units";
import { ClockOffsetMs, type SenderStats } from "../../wire";
import { Poster } from "./_post";
import { parseJobFields, toRequestBodies, type JobFields } from "./_request-body";
import type { Role, RoleHandle } from "../types";

const options = t.Object(
  {
    target: t.Array(t.String({ pattern: "^https?://" }), { minItems: 1, description: "receiver URLs, e.g. http://HOST:8000/upload" }),
    source: t.String({ default: "synthetic", description: "synthetic[:WxH], files:PATH, mjpeg-cmd:COMMAND, camera" }),
    frame: t.String({
      default: "",
      description: "WxH@Q: every source frame cover-resized and centre-cropped to WxH and encoded at JPEG quality Q once (as a Pi camera would), e.g. 640x480@95; empty = frames as the source gives them",
    }),
    topics: t.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    multiply: t.Integer({ minimum: 1, maximum: 10000, default: 20, description: "POSTs per frame and topic" }),
    duration: t.String({ default: "30s", description: "how long to send; 0 = until stopped" }),
    warmup: t.String({ default: "0s", description: "time at the start left out of frames_skipped (controller run passes the scenario's warmup)" }),
    images: t.Integer({ minimum: 0, default: 0, description: "POSTs to send in all (each topic x multiply copy counts), then stop by itself; 0 = no limit" }),
    fps: t.Number({ minimum: 0, maximum: 1000, default: 0, description: "frames per second taken from the source; 0 = as fast as sent" }),
    quality: t.Integer({ minimum: 1, maximum: 100, default: 95, description: "JPEG quality of synthetic frames" }),
    format: t.Union([t.Literal("binary"), t.Literal("json"), t.Literal("job")], {
      default: "binary",
      description: "binary (image/jpeg), json (the original's base64 body), job (multipart to a manager's /jobs?wait=1)",
    }),
    job: t.String({ default: "", description: "with --format job: the op and its parameters as form fields, `op=blur,sigma=8`" }),
    concurrency: t.Integer({ minimum: 1, maximum: 1024, default: 8, description: "requests in flight" }),
    timeout: t.String({ default: "10s", description: "per-request timeout" }),
    ackLog: t.String({ default: "", description: "file to append `TARGET ID` to for each acknowledged image (ID from the answer's `id`, `-` without one)" }),
    clockOffsetMs: ClockOffsetMs,
  },
  { additionalProperties: false },
);

type Options = (typeof options)["static"];

function checkTargets(targets: string[]): URL[] {
  return targets.map((target) => {
    try {
      return new URL(target);
    } catch (error) {
      throw new FleetError("BAD_TARGET", `--target ${target}: not a URL`, 422, { cause: error });
    }
  });
}

/** Opens `--source`, turned into `--frame` frames when given (checked before the source is opened). */
async function openFrames(opts: Options): Promise<FrameSource> {
  const frame = opts.frame === "" ? undefined : parseFrameSpec(opts.frame);
  const source = await openSource(parseSourceSpec(opts.source), { quality: opts.quality });
  if (!frame) return source;
  try {
    return await reframeSource(source, frame);
  } catch (error) {
    await source.close();
    throw error;
  }
}

/**
 * Frames due at --fps after the warm-up that the frame loop did not take in time because it
 * fell behind (a sender too slow for its rate skips them, as a camera's consumer would): the
 * slots due from the first one after the warm-up to its last frame, that one included, less
 * the frames it took for them; to 0.01 frame, so a loop half an interval late at its last
 * frame counts 0.5 and a short run shows an overload before whole frames are dropped.
 */
class SkipCount {
  private taken = 0;
  private lastTakenAt = 0;
  /** The first slot after the warm-up (performance.now() ms). */
  private readonly anchor: number;

  /** `startedAt` is the loop's start (performance.now() ms); the warm-up's slots are not counted. */
  constructor(private readonly fps: number, startedAt: number, warmupMs: number) {
    this.anchor = fps > 0 ? startedAt + Math.ceil((warmupMs * fps) / 1000) * (1000 / fps) : Infinity;
  }

  /** A frame was taken at `now` for the slot due at `slotAt` (both performance.now() ms). */
  take(slotAt: number, now: number): void {
    if (this.fps <= 0 || slotAt < this.anchor - 0.001) return;
    this.taken += 1;
    this.lastTakenAt = now;
  }

  /** The frames skipped so far; 0 without --fps or before a frame after the warm-up. */
  count(): number {
    if (this.fps <= 0 || this.taken === 0) return 0;
    const due = ((this.lastTakenAt - this.anchor) * this.fps) / 1000 + 1;
    return round2(Math.max(0, due - this.taken));
  }
}

/** The frame loop of one sender: takes frames at --fps, hands out their POSTs in turn over the targets, ends by itself at --duration or --images. */
class FrameLoop {
  private turn = 0;
  private readonly topicNames: string[];
  private readonly startedAt = Date.now();
  /** Frames the loop fell behind its --fps by (after --warmup). */
  readonly skipped: SkipCount;

  constructor(
    private readonly opts: Options,
    private readonly parts: { targets: URL[]; source: FrameSource; poster: Poster; slots: Slots; impair: Impairer },
    private readonly bodyFormat: "binary" | "json" | JobFields,
    private readonly times: { durationMs: number; warmupMs: number },
  ) {
    this.topicNames = Array.from({ length: opts.topics }, (_, index) => `topic-${index}`);
    this.skipped = new SkipCount(opts.fps, performance.now(), times.warmupMs);
  }

  /** Takes frames until stopped, the duration is over or every image is sent. */
  async run(): Promise<void> {
    const intervalMs = this.opts.fps > 0 ? 1000 / this.opts.fps : 0;
    let nextAt = performance.now();
    while (this.goesOn()) {
      const slotAt = nextAt;
      if (intervalMs > 0) {
        const wait = nextAt - performance.now();
        if (wait > 0) await this.parts.poster.sleep(wait);
        nextAt = Math.max(nextAt + intervalMs, performance.now() - intervalMs);
        if (this.parts.poster.stopping) break;
      }
      const frame = await this.parts.source.next();
      this.parts.poster.totals.frames += 1;
      this.skipped.take(slotAt, performance.now());
      // Under `cpu` impairment, a frame's bodies and POSTs are one unit of work.
      await this.parts.impair.runUnit(() => this.sendFrame(frame));
    }
  }

  private goesOn(): boolean {
    const { poster } = this.parts;
    const { durationMs } = this.times;
    return !poster.stopping && poster.isSending && (durationMs === 0 || Date.now() - this.startedAt < durationMs) && !this.allSent();
  }

  private allSent(): boolean {
    return this.opts.images > 0 && this.parts.poster.totals.sent >= this.opts.images;
  }

  /** Posts each topic's body `multiply` times, spread over the targets, as slots free up. */
  private async sendFrame(frame: Frame): Promise<void> {
    const { poster, slots, targets } = this.parts;
    for (const body of toRequestBodies(frame, this.topicNames, this.bodyFormat)) {
      for (let copy = 0; copy < this.opts.multiply && !poster.stopping && !this.allSent(); copy += 1) {
        if (!(await slots.acquire())) return;
        poster.totals.sent += 1;
        const target = targets[this.turn++ % targets.length]!;
        void poster.post(target, body).finally(() => slots.release());
      }
    }
  }
}

/**
 * The figures of a sender. Rates are over the time from start to stop; with --images, over
 * the time from the first request to the last answer, so that bytes / elapsed_s is the
 * batch's throughput (the recognition original's total bytes / total time).
 */
function readStats(poster: Poster, slots: Slots, batch: boolean, times: { startedAt: number; stoppedAt: number }, framesSkipped: number): SenderStats {
  const end = times.stoppedAt || Date.now();
  const elapsed = batch && poster.firstRequestAt ? (poster.lastAnswerAt || end) - poster.firstRequestAt : end - times.startedAt;
  const { totals, series } = poster;
  return {
    role: "sender",
    ...totals,
    in_flight: slots.inUse,
    frames_skipped: framesSkipped,
    images_per_s: perSecond(totals.ok, elapsed),
    mbit_per_s: mbitPerSecond(totals.bytes, elapsed),
    rate_5s: series.rate(5),
    elapsed_s: elapsed / 1000,
    latency_ms: poster.latency.summary(),
    errors: poster.errors,
    series: series.points(),
  };
}

export default {
  name: "sender",
  summary: "frames from a source to receivers over HTTP at a set rate",
  options,
  async start(opts, context): Promise<RoleHandle> {
    const targets = checkTargets(opts.target);
    const jobFields = opts.format === "job" ? parseJobFields(opts.job) : undefined;
    const durationMs = parseDuration(opts.duration, "--duration");
    const warmupMs = parseDuration(opts.warmup, "--warmup");
    const timeoutMs = parseDuration(opts.timeout, "--timeout");
    const source = await openFrames(opts);
    const impair = context.impair ?? NO_IMPAIRMENT;
    const slots = new Slots(opts.concurrency);
    const ackLog = opts.ackLog ? openSync(opts.ackLog, "a") : undefined;
    // Jobs go to a manager, whose /jobs takes the agent's token; uploads to receivers carry none.
    const authorization: Record<string, string> = jobFields && context.token ? { authorization: `Bearer ${context.token}` } : {};
    const poster = new Poster({ timeoutMs, impair, authorization, ackLog, clockOffsetMs: opts.clockOffsetMs, onLatency: (ms) => context.observe?.("sender_request", ms) });
    const times = { startedAt: Date.now(), stoppedAt: 0 };
    // The end of --duration also frees slots held by images waiting out a backoff, so the frame loop can see it.
    const durationTimer = durationMs > 0 ? setTimeout(() => poster.endSending(), durationMs) : undefined;
    const loop = new FrameLoop(opts, { targets, source, poster, slots, impair }, jobFields ?? (opts.format as "binary" | "json"), { durationMs, warmupMs });

    const ended = loop
      .run()
      .catch((error) => context.log("sender_failed", { error: (error as Error).message }))
      .then(() => {
        clearTimeout(durationTimer);
        poster.endSending();
        return slots.idle();
      })
      .then(async () => {
        times.stoppedAt = Date.now();
        if (ackLog !== undefined) closeSync(ackLog);
        await source.close();
      });

    const stats = (): SenderStats => ({ ...readStats(poster, slots, opts.images > 0, times, loop.skipped.count()), impairment: impair.describe() });
    return {
      stats,
      ended,
      async stop() {
        poster.stop();
        slots.close();
        await ended;
      },
    };
  },
} satisfies Role<typeof options>;
