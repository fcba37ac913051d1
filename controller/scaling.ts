// Speedup and efficiency of scenarios that vary how many agents run a role (a sweep of `ROLE.agents`).
import type { ScenarioResult } from "./results";
import { tQuantile975, type Summary } from "./stats";

/** Scaling of one point against the point of the same scenario with the fewest agents. */
export interface Scaling {
  /** The sweep key that varies the count, e.g. `grayscale-worker.agents`. */
  key: string;
  /** Agents running the role at this point. */
  count: number;
  /** Agents at the baseline point (the fewest). */
  base_count: number;
  /** images/s here over images/s at the baseline (means). */
  speedup: number;
  /** speedup x base_count / count: 1 means perfect scaling. */
  efficiency: number;
  /** 95% interval of the speedup (delta method, t with min(n) - 1 degrees of freedom); [speedup, speedup] with one repeat. */
  speedup_ci95: [number, number];
}

/**
 * 95% interval of a ratio of two independent means, by the delta method:
 * var(a/b) ≈ (a/b)² (s_a²/(n_a a²) + s_b²/(n_b b²)) (Casella & Berger, Statistical
 * Inference, 2nd ed., §5.5.4), with Student's t at min(n_a, n_b) - 1 degrees of freedom.
 */
function toRatioInterval(a: Summary, b: Summary): [number, number] {
  const ratio = a.mean / b.mean;
  const df = Math.min(a.n, b.n) - 1;
  if (df < 1 || a.mean === 0) return [ratio, ratio];
  const relativeVariance = a.std ** 2 / (a.n * a.mean ** 2) + b.std ** 2 / (b.n * b.mean ** 2);
  const halfWidth = tQuantile975(df) * ratio * Math.sqrt(relativeVariance);
  return [ratio - halfWidth, ratio + halfWidth];
}

/**
 * Adds `scaling` to each entry of a scenario whose sweep varies a role's agents
 * (`ROLE.agents`): speedup and efficiency of images/s against the point with the fewest
 * agents and otherwise the same parameters. Entries without such a sweep are left as they are.
 */
export function addScaling(entries: ScenarioResult[]): ScenarioResult[] {
  return entries.map((entry) => {
    const key = entry.swept?.find((swept) => swept.endsWith(".agents"));
    const own = entry.summary.images_per_s;
    if (!key || !own) return entry;
    const others = (candidate: ScenarioResult) => Object.entries(candidate.params).filter(([name]) => name !== key && (entry.swept ?? []).includes(name));
    const sameElsewhere = entries.filter(
      (candidate) => candidate.name === entry.name && JSON.stringify(others(candidate)) === JSON.stringify(others(entry)) && candidate.summary.images_per_s,
    );
    const countOf = (candidate: ScenarioResult) => (candidate.params[key] as string[]).length;
    const base = sameElsewhere.reduce((best, candidate) => (countOf(candidate) < countOf(best) ? candidate : best));
    const baseSummary = base.summary.images_per_s!;
    const speedup = own.mean / baseSummary.mean;
    const count = countOf(entry);
    const scaling: Scaling = {
      key,
      count,
      base_count: countOf(base),
      speedup,
      efficiency: (speedup * countOf(base)) / count,
      speedup_ci95: toRatioInterval(own, baseSummary),
    };
    return { ...entry, scaling };
  });
}

/** Mean ± half-width of the 95% interval, or `-` without a summary. */
function formatMeanInterval(summary: Summary | undefined): string {
  return summary ? `${summary.mean.toFixed(2)} ± ${((summary.ci95[1] - summary.ci95[0]) / 2).toFixed(2)}` : "-";
}

/** Job timing columns (the original distributed-grayscale table), shown when a manager ran. */
const TIMING_COLUMNS = [
  ["send ms", "send_ms"],
  ["process ms", "process_ms"],
  ["receive ms", "receive_ms"],
] as const;

/**
 * A terminal table of the entries that have scaling figures (empty string when none):
 * count, images/s, speedup with its interval, efficiency; with a manager also the mean
 * send, process and receive time of a stripe (ms, ± half-width of the 95% interval).
 */
export function formatScaling(entries: ScenarioResult[]): string {
  const scaled = entries.filter((entry) => entry.scaling);
  const timed = scaled.some((entry) => entry.summary.process_ms);
  const rows = scaled.map((entry) => {
    const scaling = entry.scaling!;
    return [
      entry.name,
      String(scaling.count),
      formatMeanInterval(entry.summary.images_per_s),
      ...(timed ? TIMING_COLUMNS.map(([, key]) => formatMeanInterval(entry.summary[key])) : []),
      `${scaling.speedup.toFixed(2)}x [${scaling.speedup_ci95[0].toFixed(2)}-${scaling.speedup_ci95[1].toFixed(2)}]`,
      `${(scaling.efficiency * 100).toFixed(0)}%`,
    ];
  });
  if (rows.length === 0) return "";
  const header = ["scenario", "agents", "images/s", ...(timed ? TIMING_COLUMNS.map(([title]) => title) : []), "speedup [95% CI]", "efficiency"];
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const line = (row: string[]) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** One row of the original distributed-grayscale table, from an entry with scaling figures: times in seconds (mean per stripe over the repeats). */
export interface SpeedupRow {
  workers: number;
  avg_send_s?: Summary;
  avg_process_s?: Summary;
  avg_receive_s?: Summary;
  speedup: number;
  speedup_ci95: [number, number];
  /** A fraction: 1 is perfect scaling. */
  efficiency: number;
}

/** A summary in ms as one in seconds. */
function toSeconds(summary: Summary | undefined): Summary | undefined {
  if (!summary) return undefined;
  return { mean: summary.mean / 1000, std: summary.std / 1000, ci95: [summary.ci95[0] / 1000, summary.ci95[1] / 1000], n: summary.n };
}

/**
 * The original's table row of an entry (see `addScaling`), or undefined for an entry without
 * scaling: workers, average send, process and receive time in seconds (the manager's mean
 * per stripe, absent without a manager), speedup with its interval, efficiency.
 */
export function toSpeedupRow(entry: ScenarioResult): SpeedupRow | undefined {
  const scaling = entry.scaling;
  if (!scaling) return undefined;
  return {
    workers: scaling.count,
    avg_send_s: toSeconds(entry.summary.send_ms),
    avg_process_s: toSeconds(entry.summary.process_ms),
    avg_receive_s: toSeconds(entry.summary.receive_ms),
    speedup: scaling.speedup,
    speedup_ci95: scaling.speedup_ci95,
    efficiency: scaling.efficiency,
  };
}

/** The speedup row as flat CSV columns, `table.NAME` (point means; the same on every run row of a point). */
export function toSpeedupColumns(entry: ScenarioResult): Record<string, number> {
  const row = toSpeedupRow(entry);
  if (!row) return {};
  return Object.fromEntries(
    Object.entries({
      workers: row.workers,
      avg_send_s: row.avg_send_s?.mean,
      avg_process_s: row.avg_process_s?.mean,
      avg_receive_s: row.avg_receive_s?.mean,
      speedup: row.speedup,
      speedup_ci95_low: row.speedup_ci95[0],
      speedup_ci95_high: row.speedup_ci95[1],
      efficiency: row.efficiency,
    })
      .filter((pair): pair is [string, number] => typeof pair[1] === "number" && Number.isFinite(pair[1]))
      .map(([key, value]) => [`table.${key}`, value]),
  );
}
