// One image to one receiver: the POST with its impairment, retries after 503 and backoff after an unreachable target, and its figures.
import { writeSync } from "node:fs";
import type { Impairer } from "../../impair";
import { LatencyHistogram, RateSeries } from "../../metrics";
import { Backoff } from "./backoff";
import type { RequestBody } from "./_request-body";
import { UPLOAD_HEADERS } from "../../wire";

/** The longest a 503's Retry-After is honoured, so a stop is never held up for long. */
const MAX_RETRY_WAIT_MS = 5000;

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

/**
 * Reads Retry-After in seconds (RFC 9110 section 10.2.3), capped. A 503 without it (a proxy
 * answering for a receiver that is down), an empty one or the HTTP-date form waits 1 s:
 * never 0, which would retry in a busy loop.
 */
function readRetryAfter(response: Response): number {
  const header = response.headers.get("retry-after")?.trim() ?? "";
  const seconds = header === "" ? Number.NaN : Number(header);
  return Math.min(Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : 1000, MAX_RETRY_WAIT_MS);
}

/** Running totals of a sender. */
export interface SendTotals {
  sent: number;
  ok: number;
  failed: number;
  retries: number;
  unreachable: number;
  bytes: number;
  frames: number;
}

/** What an attempt's outcome decides: done (counted), or try again. */
type Outcome = "done" | "again";

/** Settings a Poster needs besides the targets. */
export interface PosterSettings {
  timeoutMs: number;
  impair: Impairer;
  /** Headers every request carries (the manager's token for jobs). */
  authorization: Record<string, string>;
  /** File descriptor to append `TARGET ID` to per acknowledged image, if any. */
  ackLog: number | undefined;
  /** Gets each acknowledged upload's round trip (ms), as the latency figures do: the role's Prometheus histogram. */
  onLatency?: (valueMs: number) => void;
  /** This agent's clock minus the controller's (ms), taken off `X-Sent-At` (wire.ts ClockOffsetMs). */
  clockOffsetMs: number;
}

/**
 * Posts images and keeps the figures: latency of acknowledged ones, totals, errors by code,
 * and the times of the first request and the last answer. `stopping` ends retries after a
 * 503 at once; `endSending()` ends retries of an unreachable target.
 */
export class Poster {
  readonly totals: SendTotals = { sent: 0, ok: 0, failed: 0, retries: 0, unreachable: 0, bytes: 0, frames: 0 };
  readonly latency: LatencyHistogram;
  readonly series = new RateSeries();
  readonly errors: Record<string, number> = {};
  /** Date.now() of the first request and of the last answer (or failure); 0 before. */
  firstRequestAt = 0;
  lastAnswerAt = 0;
  stopping = false;
  private sending = true;
  private readonly sendingEnded = Promise.withResolvers<void>();
  private readonly stopped = Promise.withResolvers<void>();
  private readonly backoffs = new Map<URL, Backoff>();

  constructor(private readonly settings: PosterSettings) {
    this.latency = new LatencyHistogram(settings.onLatency);
  }

  /** Whether new frames are still taken. */
  get isSending(): boolean {
    return this.sending;
  }

  /** No new frames are taken any more (duration over, all images sent, or stop): unreachable targets are no longer retried. */
  endSending(): void {
    this.sending = false;
    this.sendingEnded.resolve();
  }

  /** Stop: waits in progress end now, 503s are no longer retried. */
  stop(): void {
    this.stopping = true;
    this.stopped.resolve();
    this.endSending();
  }

  /** Sleeps `ms`, or less if the sender stops. */
  sleep(ms: number): Promise<void> {
    return Promise.race([Bun.sleep(ms), this.stopped.promise]);
  }

  /** Posts `body` to `target` until it is acknowledged or failed for good; counts the outcome. */
  async post(target: URL, body: RequestBody): Promise<void> {
    this.firstRequestAt ||= Date.now();
    while ((await this.attempt(target, body)) === "again");
    this.lastAnswerAt = Date.now();
  }

  /**
   * One attempt. Impairment: a lost request is a timeout after --timeout (slot held, as the
   * peer never answers); else the delay and the rate's wait come first, inside the latency
   * clock and the timeout, as a slow network's would.
   */
  private async attempt(target: URL, body: RequestBody): Promise<Outcome> {
    const { impair, timeoutMs } = this.settings;
    const began = performance.now();
    if (impair.drops()) {
      await this.sleep(timeoutMs);
      return this.fail("TIMEOUT");
    }
    try {
      await impair.beforeSend();
      await impair.throttle(body.size);
      const response = await fetch(target, {
        method: "POST",
        body: body.payload as Bun.BodyInit,
        headers: { ...body.headers, ...this.settings.authorization, [UPLOAD_HEADERS.sentAt]: String(Date.now() - this.settings.clockOffsetMs) },
        signal: AbortSignal.timeout(timeoutMs),
        // A redirect is not an acknowledgement (a 302 to a login page would answer 200): 3xx counts as a failure.
        redirect: "manual",
      });
      return await this.readAnswer(target, body, response, began);
    } catch (error) {
      return await this.recover(target, toErrorCode(error));
    }
  }

  /** Counts a 2xx as acknowledged; waits out a 503's Retry-After and asks again; anything else fails. */
  private async readAnswer(target: URL, body: RequestBody, response: Response, began: number): Promise<Outcome> {
    const text = await response.text();
    if (response.status >= 200 && response.status < 300) {
      this.backoffOf(target).reset();
      this.latency.record(performance.now() - began);
      this.totals.ok += 1;
      this.totals.bytes += body.size;
      this.series.add(1, body.size);
      this.logAck(target, text);
      return "done";
    }
    if (response.status !== 503 || this.stopping) return this.fail(`HTTP_${response.status}`);
    this.totals.retries += 1;
    await this.sleep(readRetryAfter(response));
    return "again";
  }

  /** Appends `TARGET ID` to the ack log; a failed write is counted (ACK_LOG_WRITE), the image stays acknowledged. */
  private logAck(target: URL, text: string): void {
    if (this.settings.ackLog === undefined) return;
    try {
      writeSync(this.settings.ackLog, `${target.href} ${readAckId(text)}\n`);
    } catch {
      this.errors.ACK_LOG_WRITE = (this.errors.ACK_LOG_WRITE ?? 0) + 1;
    }
  }

  /**
   * After any error without an HTTP answer (refused, reset, timed out, a name that does not
   * resolve, ...): the target is taken as unreachable and tried again after a backoff while
   * sending goes on (at-least-once: a reset or timeout may come after the receiver saved the
   * image); when sending has ended the image fails with the error's code.
   */
  private async recover(target: URL, code: string): Promise<Outcome> {
    this.totals.unreachable += 1;
    if (!this.sending) return this.fail(code);
    await Promise.race([Bun.sleep(this.backoffOf(target).nextDelay()), this.sendingEnded.promise]);
    return this.sending ? "again" : this.fail(code);
  }

  private fail(code: string): Outcome {
    this.totals.failed += 1;
    this.errors[code] = (this.errors[code] ?? 0) + 1;
    return "done";
  }

  private backoffOf(target: URL): Backoff {
    let backoff = this.backoffs.get(target);
    if (!backoff) this.backoffs.set(target, (backoff = new Backoff()));
    return backoff;
  }
}
