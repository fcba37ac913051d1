// Measurement primitives shared by every role: latency histograms and per-second series.

/** Relative width of one histogram bucket: values are kept to within 1% (as HdrHistogram with 2 significant digits). */
const BUCKET_GROWTH = 1.01;
const LOG_GROWTH = Math.log(BUCKET_GROWTH);
/** Values below this (ms) share bucket 0; 1 µs is below anything a network path shows. */
const MIN_MS = 0.001;

/**
 * A log-bucketed latency histogram in milliseconds: O(1) record, fixed memory
 * (about 2,100 buckets cover 1 µs to 1 hour), percentiles accurate to 1%.
 */
export class LatencyHistogram {
  private readonly counts = new Map<number, number>();
  private total = 0;
  private max = 0;

  /** `onRecord` also gets every sample (ms, at least 0): the role's Prometheus histogram observes here, so both count the same samples. */
  constructor(private readonly onRecord?: (valueMs: number) => void) {}

  /** Records one sample in ms; negative values (clock skew) count as 0. */
  record(valueMs: number): void {
    const value = Math.max(valueMs, 0);
    this.onRecord?.(value);
    const bucket = value <= MIN_MS ? 0 : Math.ceil(Math.log(value / MIN_MS) / LOG_GROWTH);
    this.counts.set(bucket, (this.counts.get(bucket) ?? 0) + 1);
    this.total += 1;
    if (value > this.max) this.max = value;
  }

  /** The number of samples recorded. */
  get count(): number {
    return this.total;
  }

  /** The q-quantile (0..1) in ms, rounded to 0.01 ms; 0 when empty. */
  percentile(q: number): number {
    if (this.total === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.total));
    const buckets = [...this.counts.keys()].sort((a, b) => a - b);
    let seen = 0;
    for (const bucket of buckets) {
      seen += this.counts.get(bucket)!;
      if (seen >= rank) return round2(Math.min(bucket === 0 ? 0 : MIN_MS * BUCKET_GROWTH ** bucket, this.max));
    }
    return round2(this.max);
  }

  /** `{p50, p99}` in ms, the shape every role reports. */
  summary(): { p50: number; p99: number } {
    return { p50: this.percentile(0.5), p99: this.percentile(0.99) };
  }
}

/** How many one-second buckets a series keeps: the last five minutes. */
export const SERIES_SECONDS = 300;

/**
 * Counts events in one-second buckets (by wall clock) and keeps the last
 * `SERIES_SECONDS` of them, for live charts and for rates over a recent window.
 */
export class RateSeries {
  private readonly buckets: { second: number; count: number; bytes: number }[] = [];

  /** Adds `count` events carrying `byteCount` bytes at `nowMs` (default: now). */
  add(count = 1, byteCount = 0, nowMs = Date.now()): void {
    const second = Math.floor(nowMs / 1000);
    const last = this.buckets.at(-1);
    if (last && last.second === second) {
      last.count += count;
      last.bytes += byteCount;
      return;
    }
    this.buckets.push({ second, count, bytes: byteCount });
    if (this.buckets.length > SERIES_SECONDS) this.buckets.shift();
  }

  /** Events per second over the last `seconds` complete seconds before `nowMs`. */
  rate(seconds = 5, nowMs = Date.now()): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (const bucket of this.buckets) if (bucket.second < current && bucket.second >= current - seconds) sum += bucket.count;
    return round2(sum / seconds);
  }

  /** The buckets as `[unixSecond, count, bytes]` triples, oldest first. */
  points(): [number, number, number][] {
    return this.buckets.map((bucket) => [bucket.second, bucket.count, bucket.bytes]);
  }
}

/** Rounds to two decimals, the precision every figure is reported with. */
export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** Average rate per second of `count` events over `elapsedMs`, 0 when no time has passed. */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs > 0 ? round2((count * 1000) / elapsedMs) : 0;
}

/** Megabits per second of `byteCount` bytes over `elapsedMs` (1 Mbit = 10^6 bits). */
export function mbitPerSecond(byteCount: number, elapsedMs: number): number {
  return elapsedMs > 0 ? round2((byteCount * 8) / 1000 / elapsedMs) : 0;
}

/**
 * The time a role's average rates are taken over: from its start (at creation, or at its
 * first event: `start()`) to its stop, or to now while it runs. The receiver's, manager's and
 * viewers' `elapsed_s`, `images_per_s` and `mbit_per_s`, and the workers' `images_per_s`, come from one of these;
 * the sender's span depends on its mode (a batch runs from its first request to its last
 * answer) and goes through the same `perSecond` and `mbitPerSecond`.
 */
export class RateSpan {
  private from: number;
  private to = 0;

  /** Starts at `startedAt` (ms since the epoch); 0 starts it at the first `start()` instead. */
  constructor(startedAt = Date.now()) {
    this.from = startedAt;
  }

  /** Starts the span at `at` unless it has started (a role's first event). */
  start(at = Date.now()): void {
    if (!this.from) this.from = at;
  }

  /** Ends the span at `at` unless it has ended; figures read after stay final. */
  stop(at = Date.now()): void {
    if (!this.to) this.to = at;
  }

  get stopped(): boolean {
    return this.to > 0;
  }

  /** Milliseconds from the start to `end` (default the stop, or now while running): 0 before the start, else at least 1. */
  elapsedMs(end = this.to || Date.now()): number {
    return this.from ? Math.max(end - this.from, 1) : 0;
  }

  /** `images_per_s` of `count` images and `mbit_per_s` of their `byteCount` bytes over the span (to `end`, as elapsedMs). */
  rates(count: number, byteCount: number, end?: number): { images_per_s: number; mbit_per_s: number } {
    const elapsed = this.elapsedMs(end);
    return { images_per_s: perSecond(count, elapsed), mbit_per_s: mbitPerSecond(byteCount, elapsed) };
  }
}

/** Running means of named durations (ms): O(1) add, a fixed set of names. */
export class RunningMeans<Name extends string> {
  private readonly sums: Record<string, number> = {};
  private readonly counts: Record<string, number> = {};

  /** `onAdd` also gets every sample (a role's Prometheus histogram observes there). */
  constructor(private readonly names: readonly Name[], private readonly onAdd?: (name: Name, valueMs: number) => void) {
    for (const name of names) this.sums[name] = this.counts[name] = 0;
  }

  /** Adds one sample of `name` (ms). */
  add(name: Name, valueMs: number): void {
    this.onAdd?.(name, valueMs);
    this.sums[name]! += valueMs;
    this.counts[name]! += 1;
  }

  /** The mean of each name, 2 decimals; 0 for a name without samples. */
  means(): Record<Name, number> {
    return Object.fromEntries(this.names.map((name) => [name, this.counts[name] ? round2(this.sums[name]! / this.counts[name]!) : 0])) as Record<Name, number>;
  }
}
