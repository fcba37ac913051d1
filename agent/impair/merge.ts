// Adds up the figures of a role over the incarnations that `fail` impairment gives it (crash, downtime, restart).
import { SERIES_SECONDS, round2 } from "../metrics";
import type { RoleStats } from "../roles/types";

/**
 * Totals that only grow within one incarnation, of every role's stats (agent/wire.ts): summed over
 * incarnations. A counter left out here is lost at each crash (a restarted manager's `jobs_done`
 * once read 60 of 285 jobs as lost in broker-failover).
 */
const COUNTERS = new Set([
  // sender
  "sent", "ok", "failed", "retries", "unreachable", "bytes", "frames", "frames_skipped",
  // receiver
  "received", "saved", "rejected", "busy", "recovered_temp_files", "sync_passes",
  // manager
  "jobs_accepted", "jobs_done", "jobs_failed", "tasks_retried", "tasks_discarded",
  // workers, and a recognition worker's inference pool
  "tasks_done", "tasks_failed", "reconnects", "busy_ms", "images", "batches", "infer_ms", "thread_restarts",
  // streamer
  "viewers_total", "viewers_timed_out", "delivered", "skipped", "repeated", "reactions",
]);
/** Averages over an incarnation's `elapsed_s`: combined weighted by it, downtime counting as time at rate 0. */
const RATES = new Set(["images_per_s", "mbit_per_s"]);

/** What the finished incarnations add up to. */
interface Totals {
  counters: Record<string, number>;
  /** Per rate field: sum of rate x elapsed_s. */
  rateSeconds: Record<string, number>;
  elapsedS: number;
  errors: Record<string, number>;
  topics: Record<string, { received: number; saved: number; imageSeconds: number }>;
  series: Map<number, [number, number]>;
}

function addInto(totals: Totals, stats: RoleStats): void {
  const elapsed = typeof stats.elapsed_s === "number" ? stats.elapsed_s : 0;
  totals.elapsedS += elapsed;
  for (const [key, value] of Object.entries(stats)) {
    if (typeof value !== "number") continue;
    if (COUNTERS.has(key)) totals.counters[key] = (totals.counters[key] ?? 0) + value;
    if (RATES.has(key)) totals.rateSeconds[key] = (totals.rateSeconds[key] ?? 0) + value * elapsed;
  }
  for (const [code, count] of Object.entries((stats.errors ?? {}) as Record<string, number>)) totals.errors[code] = (totals.errors[code] ?? 0) + count;
  for (const [name, figures] of Object.entries((stats.topics ?? {}) as Record<string, Record<string, number>>)) {
    const topic = (totals.topics[name] ??= { received: 0, saved: 0, imageSeconds: 0 });
    topic.received += figures.received ?? 0;
    topic.saved += figures.saved ?? 0;
    topic.imageSeconds += (figures.images_per_s ?? 0) * elapsed;
  }
  for (const [second, count, bytes] of (stats.series ?? []) as [number, number, number][]) {
    const point = totals.series.get(second) ?? [0, 0];
    totals.series.set(second, [point[0] + count, point[1] + bytes]);
  }
}

/**
 * The figures of every incarnation of one role, as if it had been one. Counters
 * (sent, ok, failed, saved, received, bytes, ...), `errors` and per-topic counts are
 * summed; `elapsed_s` is the incarnations' time plus the downtime between them; rates
 * (`images_per_s`, `mbit_per_s`, per-topic `images_per_s`) are the incarnations' averages
 * weighted by their `elapsed_s` over that whole time (downtime at rate 0); `series` is
 * merged by second. Percentiles cannot be added up: `latency_ms`, like the gauges
 * (`in_flight`, `queue_depth`, `rate_5s`, ...), is the current incarnation's (while down,
 * the last one's).
 */
export class IncarnationTotals {
  private readonly finished: Totals = { counters: {}, rateSeconds: {}, elapsedS: 0, errors: {}, topics: {}, series: new Map() };
  private last?: RoleStats;

  /** Adds the final figures of an incarnation that has stopped. */
  add(stats: RoleStats): void {
    addInto(this.finished, stats);
    this.last = stats;
  }

  /** The whole life's figures: the finished incarnations plus `current` (undefined only while down, after an add()). */
  combine(current: RoleStats | undefined, downtimeS: number): RoleStats {
    const base = (current ?? this.last)!;
    const totals = structuredClone(this.finished);
    if (current) addInto(totals, current);
    const elapsed = totals.elapsedS + downtimeS;
    const combined: RoleStats = { ...base, elapsed_s: Math.round(elapsed * 1000) / 1000 };
    for (const key of Object.keys(base)) {
      if (COUNTERS.has(key)) combined[key] = totals.counters[key] ?? 0;
      if (RATES.has(key)) combined[key] = elapsed > 0 ? round2((totals.rateSeconds[key] ?? 0) / elapsed) : 0;
    }
    if ("errors" in base) combined.errors = totals.errors;
    if ("topics" in base)
      combined.topics = Object.fromEntries(
        Object.entries(totals.topics).map(([name, topic]) => [
          name,
          { received: topic.received, saved: topic.saved, images_per_s: elapsed > 0 ? round2(topic.imageSeconds / elapsed) : 0 },
        ]),
      );
    if ("series" in base)
      combined.series = [...totals.series]
        .sort(([a], [b]) => a - b)
        .slice(-SERIES_SECONDS)
        .map(([second, [count, bytes]]) => [second, count, bytes]);
    return combined;
  }
}
