// The sender role: frames from a source to receivers over HTTP, topics x multiply POSTs per frame.
import { Type as t } from "@sinclair/typebox";
import { closeSync, openSync, writeSync } from "node:fs";
import { FleetError } from "../../errors";
import { NO_IMPAIRMENT, type ImpairmentReport } from "../../impair";
import { LatencyHistogram, RateSeries, mbitPerSecond, perSecond } from "../../metrics";
import { Slots } from "../../slots";
import { openSource, parseSourceSpec } from "../../sources";
import { parseDuration } from "../../units";
import type { SenderStats } from "../../wire";
import { Backoff } from "./backoff";
import { parseJobFields, toRequestBodies, type RequestBody } from "./_request-body";
import type { Role, RoleHandle } from "../types";

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
    ackLog: t.String({ default: "", description: "file to append `TARGET ID` to for each acknowledged image (ID from the answer's `id`, `-` without one)" }),
  },
  { additionalProperties: false },
);

/** The longest a 503's Retry-After is honoured, so a stop is never held up for long. */
const MAX_RETRY_WAIT_MS = 5000;

/**
 * Errors after which the receiver is taken as unreachable: the attempt is retried after a
 * backoff (at-least-once: a reset or timeout may come after the receiver saved the image).
 */
const UNREACHABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "TIMEOUT"]);

/** Names a fetch failure: TIMEOUT, or the error's code (ECONNREFUSED, ...), or NETWORK. */
function toErrorCode(error: unknown): string {
  return (error as { name?: string }).name === "TimeoutError" ? "TIMEOUT" : ((error as { code?: string }).code ?? "NETWORK");
}

/** The `id` of a receiver's JSON answer, or `-` when it has none (the original experiment's receiver). */
function readAckId(text: string): string {
  try {
    const id = (JSON.parse(text) as { id?: unknown }).id;
    return typeof id === "number" || typeof id === "string" ? String(id) : "-";
  } catch {
    return "-";
  }
}

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
    // Jobs go to a manager, whose /jobs takes the agent's token; uploads to receivers carry none.
    const authorization: Record<string, string> = jobFields && context.token ? { authorization: `Bearer ${context.token}` } : {};
    const durationMs = parseDuration(opts.duration, "--duration");
    const timeoutMs = parseDuration(opts.timeout, "--timeout");
    const source = await openSource(parseSourceSpec(opts.source), { quality: opts.quality });
    const impair = context.impair ?? NO_IMPAIRMENT;
    const slots = new Slots(opts.concurrency);
    const latency = new LatencyHistogram();
    const series = new RateSeries();
    const errors: Record<string, number> = {};
    const totals = { sent: 0, ok: 0, failed: 0, retries: 0, unreachable: 0, bytes: 0, frames: 0 };
    const backoffs = new Map(targets.map((target) => [target, new Backoff()]));
    const ackLog = opts.ackLog ? openSync(opts.ackLog, "a") : undefined;
    const startedAt = Date.now();
    let stoppedAt = 0;
    let stopping = false;
    let wake: () => void = () => {};
    const stopSignal = new Promise<void>((resolve) => (wake = resolve));
    // Resolved once no new frames are taken (duration over or stop): unreachable targets are no longer retried.
    let sending = true;
    let resolveSendingEnded: () => void = () => {};
    const sendingEnded = new Promise<void>((resolve) => (resolveSendingEnded = resolve));
    const endSending = (): void => {
      sending = false;
      resolveSendingEnded();
    };
    // The end of --duration also frees slots held by images waiting out a backoff, so the frame loop can see it.
    const durationTimer = durationMs > 0 ? setTimeout(endSending, durationMs) : undefined;

    const countError = (code: string): void => {
      totals.failed += 1;
      errors[code] = (errors[code] ?? 0) + 1;
    };
    // Impairment, per attempt: a lost request is a timeout after --timeout (slot held, as the
    // peer never answers); else the delay and the rate's wait come first, inside the latency
    // clock and the timeout, as a slow network's would.
    const post = async (target: URL, body: RequestBody): Promise<void> => {
      const backoff = backoffs.get(target)!;
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
            headers: { ...body.headers, ...authorization, "x-sent-at": sentAt },
            signal,
          });
          const text = await response.text();
          backoff.reset();
          if (response.status >= 200 && response.status < 300) {
            latency.record(performance.now() - began);
            totals.ok += 1;
            totals.bytes += body.size;
            series.add(1, body.size);
            if (ackLog !== undefined) writeSync(ackLog, `${target.href} ${readAckId(text)}\n`);
            return;
          }
          if (response.status !== 503 || stopping) return countError(`HTTP_${response.status}`);
          totals.retries += 1;
          await Promise.race([Bun.sleep(readRetryAfter(response)), stopSignal]);
        } catch (error) {
          const code = toErrorCode(error);
          if (!UNREACHABLE.has(code)) return countError(code);
          totals.unreachable += 1;
          if (!sending) return countError(code);
          await Promise.race([Bun.sleep(backoff.nextDelay()), sendingEnded]);
          if (!sending) return countError(code);
        }
      }
    };

    const run = async (): Promise<void> => {
      const intervalMs = opts.fps > 0 ? 1000 / opts.fps : 0;
      let nextAt = performance.now();
      let turn = 0;
      const topicNames = Array.from({ length: opts.topics }, (_, index) => `topic-${index}`);
      while (!stopping && sending && (durationMs === 0 || Date.now() - startedAt < durationMs)) {
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
      .then(() => {
        clearTimeout(durationTimer);
        endSending();
        return slots.idle();
      })
      .then(async () => {
        stoppedAt = Date.now();
        if (ackLog !== undefined) closeSync(ackLog);
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
