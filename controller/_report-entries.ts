// Reading the entries of results.json for the report and the comparison, tolerant of files written before sweeps and statuses.
import type { RunResult, ScenarioResult } from "./results";
import { summarizeRuns, type Summary } from "./stats";

/** Figure keys in the order reports show them; other keys follow in the order first seen. */
const FIGURE_ORDER = ["max_rate", "images_per_s", "mbit_per_s", "latency_p50_ms", "latency_p99_ms", "save_latency_p50_ms", "save_latency_p99_ms", "sent", "saved", "lost", "failed", "duration_s"];

const FIGURE_LABELS: Record<string, string> = {
  images_per_s: "images/s",
  mbit_per_s: "Mbit/s",
  latency_p50_ms: "latency p50 (ms)",
  latency_p99_ms: "latency p99 (ms)",
  save_latency_p50_ms: "X-Sent-At to save p50 (ms)",
  save_latency_p99_ms: "X-Sent-At to save p99 (ms)",
  max_rate: "max sustainable rate",
  duration_s: "duration (s)",
};

/** The label a figure key is shown under (`images_per_s` -> `images/s`); unknown keys as they are. */
export function toFigureLabel(key: string): string {
  return FIGURE_LABELS[key] ?? key;
}

/** `keys` sorted into the order reports show figures in. */
export function sortFigureKeys(keys: Iterable<string>): string[] {
  const rank = (key: string) => (FIGURE_ORDER.includes(key) ? FIGURE_ORDER.indexOf(key) : FIGURE_ORDER.length);
  return [...new Set(keys)].sort((a, b) => rank(a) - rank(b));
}

/** The runs whose figures count: those not marked failed. */
export function selectCountedRuns(runs: readonly RunResult[] | undefined): RunResult[] {
  return (runs ?? []).filter((run) => run.status !== "failed");
}

/** The runs marked failed. */
export function selectFailedRuns(runs: readonly RunResult[] | undefined): RunResult[] {
  return (runs ?? []).filter((run) => run.status === "failed");
}

/**
 * The point of an entry: its `point`, else `key=value` of its params under `swept` joined by
 * commas (the controller's own format), else "" for a scenario without a sweep.
 */
export function readPoint(entry: ScenarioResult, swept: readonly string[] = entry.swept ?? []): string {
  if (typeof entry.point === "string") return entry.point;
  return swept.map((key) => `${key}=${formatValue(entry.params?.[key])}`).join(",");
}

/**
 * The point of each entry of `scenarios`, in their order (see `readPoint`), with the sweep keys
 * of old files found by `readSwept`; entries of one name still alike are numbered `#1`, `#2`.
 */
export function readPoints(scenarios: readonly ScenarioResult[]): string[] {
  const points = new Map<ScenarioResult, string>();
  for (const entries of groupByName(scenarios).values()) {
    const swept = readSwept(entries);
    const labels = entries.map((entry) => readPoint(entry, swept));
    const alike = new Set(labels).size < labels.length;
    entries.forEach((entry, index) => points.set(entry, alike && !labels[index] ? `#${index + 1}` : labels[index]!));
  }
  return scenarios.map((entry) => points.get(entry)!);
}

/**
 * The sweep keys of the entries of one scenario name: the union of their `swept`, else, for
 * an old file with several entries of one name, the params whose values differ between them.
 */
export function readSwept(entries: readonly ScenarioResult[]): string[] {
  const declared = [...new Set(entries.flatMap((entry) => entry.swept ?? []))];
  if (declared.length > 0 || entries.length < 2) return declared;
  const keys = [...new Set(entries.flatMap((entry) => Object.keys(entry.params ?? {})))];
  return keys.filter((key) => new Set(entries.map((entry) => JSON.stringify(entry.params?.[key]))).size > 1);
}

/** The entries of `scenarios` grouped by name, names in the order first seen. */
export function groupByName(scenarios: readonly ScenarioResult[]): Map<string, ScenarioResult[]> {
  const groups = new Map<string, ScenarioResult[]>();
  for (const entry of scenarios) groups.set(entry.name, [...(groups.get(entry.name) ?? []), entry]);
  return groups;
}

/**
 * The summaries of an entry: the well-formed ones it carries, else (an entry written without
 * them) the finite top-level figures of its counted runs summarized here.
 */
export function readSummary(entry: ScenarioResult): Record<string, Summary> {
  const given = Object.entries(entry.summary ?? {}).filter(([, value]) => isSummary(value));
  if (given.length > 0) return Object.fromEntries(given);
  const runs = selectCountedRuns(entry.runs).map(toFlatRecord);
  if (runs.length === 0) return {};
  return summarizeRuns(runs, [...new Set(runs.flatMap((run) => Object.keys(run)))]);
}

/** A run's top-level numbers but `repeat`, with `latency_ms` as `latency_p50_ms` and `latency_p99_ms`. */
function toFlatRecord(run: RunResult): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(run)) if (key !== "repeat" && typeof value === "number") record[key] = value;
  if (run.latency_ms) Object.assign(record, { latency_p50_ms: run.latency_ms.p50, latency_p99_ms: run.latency_ms.p99 });
  return record;
}

/** True for `{mean, std, ci95: [lo, hi], n}` with finite numbers. */
export function isSummary(value: unknown): value is Summary {
  if (value === null || typeof value !== "object") return false;
  const { mean, std, ci95, n } = value as Record<string, unknown>;
  return [mean, std, n].every(Number.isFinite) && Array.isArray(ci95) && ci95.length === 2 && ci95.every(Number.isFinite);
}

/** A param value as text: strings as they are, anything else as JSON. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Half the width of a summary's 95% interval. */
export function toHalfWidth(summary: Summary): number {
  return (summary.ci95[1] - summary.ci95[0]) / 2;
}

/** A figure for people: whole numbers as they are, others with 2 decimals. */
export function formatFigure(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
