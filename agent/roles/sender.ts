// The sender role: frames from a source to receivers over HTTP, topics x multiply POSTs per frame.
import { Type as t } from "@sinclair/typebox";
import { FleetError } from "../errors";
import { NO_IMPAIRMENT, type ImpairmentReport } from "../impair";
import { LatencyHistogram, RateSeries, mbitPerSecond, perSecond } from "../metrics";
import { Slots } from "../slots";
import { openSource, parseSourceSpec } from "../sources";
import { parseDuration } from "../units";
import type { SenderStats } from "../wire";
import { parseJobFields, toRequestBodies, type RequestBody } from "./_request-body";
import type { Role, RoleHandle } from "./types";

const options = t.Object(
  {
    target: t.Array(t.String({ pattern: "^https?://" }), { minItems: 1, description: "receiver URLs, e.g. http://HOST:8000/upload" }),
    source: t.String({ default: "synthetic", description: "synthetic[:WxH], files:PATH, mjpeg-cmd:COMMAND, camera" }),
    topics: t.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    multiply: t.Integer({ minimum: 1, maximum: 10000, default: 20, description: "POSTs per frame and topic" }),
    duration: t.String({ default: "30s", description: "how long to send; 0 = until stopped" }),
    fps: t.Number({ minimum: 0, maximum: 1000, default: 0, description: "frames per second taken from the source; 0 = as fast as sent" }),
    quality: t.Integer({ minimum: 1, maximum: 100, default: 95, description: "JPEG quality of synthetic frames" }),
    format: t.Union([t.Literal("binary"), t.Literal("json"), t.Literal("job")], {
      default: "binary",
      description: "binary (image/jpeg), json (the original's base64 body), job (multipart to a manager's /jobs?wait=1)",
    }),
    job: t.String({ default: "", description: "with --format job: the op and its parameters as form fields, `op=blur,sigma=8`" }),
    concurrency: t.Integer({ minimum: 1, maximum: 1024, default: 8, description: "requests in flight" }),
    timeout: t.String({ default: "10s", description: "per-request timeout" }),
  },
  { additionalProperties: false },
);

/** The longest a 503's Retry-After is honoured, so a stop is never held up for long. */
const MAX_RETRY_WAIT_MS = 5000;

/** Reads Retry-After in seconds (RFC 9110 section 10.2.3; the HTTP-date form falls back to 1 s), capped. */
function readRetryAfter(response: Response): number {
  const seconds = Number(response.headers.get("retry-after"));
  return Math.min(Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000, MAX_RETRY_WAIT_MS);
}

function checkTargets(targets: string[]): URL[] {
  return targets.map((target) => {
    try {
      return new URL(target);
    } catch (error) {
      throw new FleetError("BAD_TARGET", `--target ${target}: not a URL`, 422, { cause: error });
    }
  });
}

export default {
  name: "sender",
  summary: "frames from a source to receivers over HTTP at a set rate",
  options,
  async start(opts, context): Promise<RoleHandle> {
    const targets = checkTargets(opts.target);
    const jobFields = opts.format === "job" ? parseJobFields(opts.job) : undefined;
    const bodyFormat = jobFields ?? (opts.format as "binary" | "json");
    const durationMs = parseDuration(opts.duration, "--duration");
    const timeoutMs = parseDuration(opts.timeout, "--timeout");
    const source = await openSource(parseSourceSpec(opts.source), { quality: opts.quality });
    const impair = context.impair ?? NO_IMPAIRMENT;
    const slots = new Slots(opts.concurrency);
    const latency = new LatencyHistogram();
    const series = new RateSeries();
    const errors: Record<string, number> = {};
    const totals = { sent: 0, ok: 0, failed: 0, retries: 0, bytes: 0, frames: 0 };
    const startedAt = Date.now();
    let stoppedAt = 0;
    let stopping = false;
    let wake: () => void = () => {};
    const stopSignal = new Promise<void>((resolve) => (wake = resolve));

    const countError = (code: string): void => {
      totals.failed += 1;
      errors[code] = (errors[code] ?? 0) + 1;
    };
    // Impairment, per attempt: a lost request is a timeout after --timeout (slot held, as the
    // peer never answers); else the delay and the rate's wait come first, inside the latency
    // clock and the timeout, as a slow network's would.
    const post = async (target: URL, body: RequestBody): Promise<void> => {
      for (;;) {
        const began = performance.now();
        if (impair.drops()) {
          await Promise.race([Bun.sleep(timeoutMs), stopSignal]);
          return countError("TIMEOUT");
        }
        const signal = AbortSignal.timeout(timeoutMs);
        const sentAt = String(Date.now());
        try {
          await impair.beforeSend();
          await impair.throttle(body.size);
          const response = await fetch(target, {
            method: "POST",
            body: body.payload as Bun.BodyInit,
            headers: { ...body.headers, "x-sent-at": sentAt },
            signal,
          });
          await response.arrayBuffer();
          if (response.status === 202 || (response.status === 200 && jobFields)) {
            latency.record(performance.now() - began);
            totals.ok += 1;
            totals.bytes += body.size;
            series.add(1, body.size);
            return;
          }
          if (response.status !== 503 || stopping) return countError(`HTTP_${response.status}`);
          totals.retries += 1;
          await Promise.race([Bun.sleep(readRetryAfter(response)), stopSignal]);
        } catch (error) {
          return countError((error as { name?: string }).name === "TimeoutError" ? "TIMEOUT" : ((error as { code?: string }).code ?? "NETWORK"));
        }
      }
    };

    const run = async (): Promise<void> => {
      const intervalMs = opts.fps > 0 ? 1000 / opts.fps : 0;
      let nextAt = performance.now();
      let turn = 0;
      const topicNames = Array.from({ length: opts.topics }, (_, index) => `topic-${index}`);
      while (!stopping && (durationMs === 0 || Date.now() - startedAt < durationMs)) {
        if (intervalMs > 0) {
          const wait = nextAt - performance.now();
          if (wait > 0) await Promise.race([Bun.sleep(wait), stopSignal]);
          nextAt = Math.max(nextAt + intervalMs, performance.now() - intervalMs);
          if (stopping) break;
        }
        const frame = await source.next();
        totals.frames += 1;
        // Under `cpu` impairment, a frame's bodies and POSTs are one unit of work.
        await impair.runUnit(async () => {
          for (const body of toRequestBodies(frame, topicNames, bodyFormat)) {
            for (let copy = 0; copy < opts.multiply && !stopping; copy += 1) {
              if (!(await slots.acquire())) return;
              totals.sent += 1;
              const target = targets[turn++ % targets.length]!;
              void post(target, body).finally(() => slots.release());
            }
          }
        });
      }
    };

    const ended = run()
      .catch((error) => context.log("sender_failed", { error: (error as Error).message }))
      .then(() => slots.idle())
      .then(async () => {
        stoppedAt = Date.now();
        await source.close();
      });

    const stats = (): SenderStats & { impairment?: ImpairmentReport } => {
      const elapsed = (stoppedAt || Date.now()) - startedAt;
      return {
        role: "sender",
        ...totals,
        in_flight: slots.inUse,
        images_per_s: perSecond(totals.ok, elapsed),
        mbit_per_s: mbitPerSecond(totals.bytes, elapsed),
        rate_5s: series.rate(5),
        elapsed_s: elapsed / 1000,
        latency_ms: latency.summary(),
        errors,
        series: series.points(),
        impairment: impair.describe(),
      };
    };
    return {
      stats,
      ended,
      async stop() {
        stopping = true;
        wake();
        slots.close();
        await ended;
      },
    };
  },
} satisfies Role<typeof options>;
