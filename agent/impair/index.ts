// Impairment Framefleet injects itself (delay, jitter, loss, rate, cpu, fail): the impairer roles call.
import { Value } from "@sinclair/typebox/value";
import { CpuThrottle } from "./cpu";
import { refuseNetem } from "./netem";
import { createRandom, pickSeed } from "./_random";
import { TokenBucket, parseRate } from "./rate";
import { FleetError } from "../errors";
import { parseDuration } from "../units";
import { Impairment, type ImpairmentReport } from "../wire";

export type { ImpairmentReport };

/** The supervisor's part of an impairment: crashes and comebacks of the whole role. */
export interface Failure {
  /** How long the role stays down after a crash (ms). */
  downtimeMs: number;
  /** One draw (call once a second): true, with probability `fail`, when the role crashes now. */
  drawCrash(): boolean;
}

/**
 * What a role calls to impair itself. Every method is cheap when its ability is not set
 * (answers false or an already settled promise), so roles call them unconditionally.
 */
export interface Impairer {
  /** Waits `delay` ± uniform `jitter` (never less than 0) before a message goes out. */
  beforeSend(): Promise<void>;
  /** True with probability `loss`: the message is lost (not sent, or never answered). */
  drops(): boolean;
  /** Waits until the token bucket of `rate` lets `bytes` more bytes out. */
  throttle(bytes: number): Promise<void>;
  /** Idles `usedMs x (1/cpu - 1)`, on a timeline shared by the role's units of work. */
  afterWork(usedMs: number): Promise<void>;
  /** Runs a unit of work and idles for the process CPU time it used (see afterWork). */
  runUnit<T>(work: () => T | Promise<T>): Promise<T>;
  /**
   * Holds a dropped request unanswered until `signal` aborts (the peer gave up, or the
   * server stops), at most `HOLD_DROPPED_MS`; at most `MAX_HELD_DROPPED` at once (past that
   * it returns at once). The caller then answers 504, which a peer that timed out never sees.
   */
  holdDropped(signal: AbortSignal): Promise<void>;
  /** What is active and its seed, or undefined without impairment. */
  describe(): ImpairmentReport | undefined;
  /** Set when the role is to crash now and then (`fail`); the supervisor handles it. */
  failure?: Failure;
}

/** Longest a dropped request is held unanswered (ms): past any sane client timeout. */
const HOLD_DROPPED_MS = 30_000;
/** Most dropped requests held at once, bounding what held requests can cost. */
const MAX_HELD_DROPPED = 256;
/** `fail` without `downtime`: the role stays down this long. */
const DEFAULT_DOWNTIME = "2s";
/** The draw streams of each purpose (see createRandom). */
const STREAM = { delay: 1, loss: 2, fail: 3 } as const;

const SETTLED = Promise.resolve();

/** The impairer of a role without impairment: no waits, no drops, nothing reported. */
export const NO_IMPAIRMENT: Impairer = {
  beforeSend: () => SETTLED,
  drops: () => false,
  throttle: () => SETTLED,
  afterWork: () => SETTLED,
  runUnit: async (work) => work(),
  holdDropped: () => SETTLED,
  describe: () => undefined,
};

/**
 * Checks an impairment against the wire schema (unknown keys, ranges) and its durations and
 * rate, reporting every problem at once, each named `impair.FIELD`.
 * @throws FleetError BAD_IMPAIRMENT (422).
 */
function checkImpairment(raw: Impairment): { delayMs: number; jitterMs: number; downtimeMs: number; bitsPerSecond?: number } {
  const problems = [...Value.Errors(Impairment, raw)].map((error) => `impair${error.path.replaceAll("/", ".")}: ${error.message}`);
  // Parses one string field (type errors are the schema's to report); undefined when absent or bad.
  const read = <T>(value: unknown, parse: (text: string) => T): T | undefined => {
    if (typeof value !== "string") return undefined;
    try {
      return parse(value);
    } catch (error) {
      problems.push((error as Error).message);
      return undefined;
    }
  };
  const delayMs = read(raw.delay, (text) => parseDuration(text, "impair.delay")) ?? 0;
  const jitterMs = read(raw.jitter, (text) => parseDuration(text, "impair.jitter")) ?? 0;
  const downtimeMs = read(raw.downtime ?? DEFAULT_DOWNTIME, (text) => parseDuration(text, "impair.downtime")) ?? 0;
  const bitsPerSecond = read(raw.rate, (text) => parseRate(text, "impair.rate"));
  if (problems.length > 0) throw new FleetError("BAD_IMPAIRMENT", [...new Set(problems)].join("; "), 422);
  return { delayMs, jitterMs, downtimeMs, bitsPerSecond };
}

/**
 * The impairer for `impair` (NO_IMPAIRMENT when undefined or empty of abilities). Without
 * `seed`, a random one is picked and reported by describe().
 * @throws FleetError BAD_IMPAIRMENT (422) listing every bad field; NETEM_UNAVAILABLE (422) for mode "netem".
 */
export function createImpairer(impair: Impairment | undefined): Impairer {
  if (impair === undefined) return NO_IMPAIRMENT;
  const { delayMs, jitterMs, downtimeMs, bitsPerSecond } = checkImpairment(impair);
  if (impair.mode === "netem") refuseNetem();
  const { loss = 0, cpu = 1, fail = 0 } = impair;
  if (delayMs === 0 && jitterMs === 0 && loss === 0 && cpu === 1 && fail === 0 && bitsPerSecond === undefined) return NO_IMPAIRMENT;

  const seed = impair.seed ?? pickSeed();
  const delayDraw = createRandom(seed, STREAM.delay);
  const lossDraw = createRandom(seed, STREAM.loss);
  const failDraw = createRandom(seed, STREAM.fail);
  const bucket = bitsPerSecond === undefined ? undefined : new TokenBucket(bitsPerSecond);
  const cpuThrottle = cpu < 1 ? new CpuThrottle(cpu) : undefined;
  const counts = { dropped: 0, held: 0, throttledMs: 0 };

  return {
    beforeSend() {
      if (delayMs === 0 && jitterMs === 0) return SETTLED;
      const wait = Math.max(0, delayMs + (2 * delayDraw() - 1) * jitterMs);
      return wait > 0 ? Bun.sleep(wait) : SETTLED;
    },
    drops() {
      if (loss === 0 || lossDraw() >= loss) return false;
      counts.dropped += 1;
      return true;
    },
    throttle(bytes) {
      const wait = bucket?.reserve(bytes) ?? 0;
      if (wait <= 0) return SETTLED;
      counts.throttledMs += wait;
      return Bun.sleep(wait);
    },
    afterWork: (usedMs) => cpuThrottle?.afterWork(usedMs) ?? SETTLED,
    runUnit: async (work) => (cpuThrottle ? cpuThrottle.runUnit(work) : work()),
    async holdDropped(signal) {
      if (counts.held >= MAX_HELD_DROPPED || signal.aborted) return;
      counts.held += 1;
      try {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, HOLD_DROPPED_MS);
          signal.addEventListener("abort", done, { once: true });
          function done(): void {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            resolve();
          }
        });
      } finally {
        counts.held -= 1;
      }
    },
    describe: () => ({
      emulated: "app",
      seed,
      ...(delayMs > 0 ? { delay_ms: delayMs } : {}),
      ...(jitterMs > 0 ? { jitter_ms: jitterMs } : {}),
      ...(loss > 0 ? { loss } : {}),
      ...(bitsPerSecond !== undefined ? { rate_bit_s: bitsPerSecond } : {}),
      ...(cpu < 1 ? { cpu } : {}),
      ...(fail > 0 ? { fail, downtime_ms: downtimeMs } : {}),
      dropped: counts.dropped,
      held: counts.held,
      throttled_ms: Math.round(counts.throttledMs),
      idled_ms: Math.round(cpuThrottle?.idledMs ?? 0),
    }),
    ...(fail > 0 ? { failure: { downtimeMs, drawCrash: () => failDraw() < fail } } : {}),
  };
}
