// The results of a controller run: their types, results.json and results.csv, and the terminal table.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toSpeedupColumns, type Scaling } from "./scaling";
import type { ClockOffset } from "./clock";
import type { SaturationResult } from "./saturation";
import { roundSummary, roundTo, summarizeRuns, type Summary } from "./stats";
import type { ThresholdOutcome } from "./thresholds";
import type { Verdict } from "./verdict";

/** One repeat of one scenario: rates per second, counts of images, times in the unit of their name. */
export interface RunResult {
  /** 1-based number of the repeat. */
  repeat: number;
  images_per_s: number;
  /** Mbit/s of the images the sinks completed inside the window. */
  mbit_per_s: number;
  /** Mbit/s of request bodies the senders put on their links inside the window (base64 JSON is ~4/3 of the image); what a link's `rate` caps. */
  sent_mbit_per_s?: number;
  sent: number;
  saved: number;
  lost: number;
  /** `lost` as a percentage of `sent` (0 when nothing was sent). */
  lost_pct?: number;
  /** Frames the senders skipped because they fell behind their `--fps`, as a percentage of the frames due: the offered load not offered. */
  skipped_pct?: number;
  failed: number;
  duration_s: number;
  latency_ms: { p50: number; p99: number };
  /** With receivers: the worst receiver's latency from the sender's X-Sent-At to the save (ms), on one clock (controller/clock.ts). */
  save_latency_p50_ms?: number;
  save_latency_p99_ms?: number;
  /** In a saturation search's entry: this repeat's maximum sustainable rate, the rate this run ran at. */
  max_rate?: number;
  /** With a manager: tasks sent again, jobs failed, and mean ms per part of a job (wire.ts JobTiming). */
  retried?: number;
  jobs_failed?: number;
  decode_ms?: number;
  send_ms?: number;
  wait_ms?: number;
  process_ms?: number;
  receive_ms?: number;
  job_ms?: number;
  /** Final stats of each sender, each with an `agent` field naming its agent. */
  senders: Record<string, unknown>[];
  /** Final stats of each sink (receiver or manager), each with an `agent` field naming its agent. */
  receivers: Record<string, unknown>[];
  /** `failed` when an agent was unreachable or a role failed; its figures are then partial and left out of the summary. */
  status?: "ok" | "failed";
  error?: string;
  /** Each agent's clock against the controller's, measured before the run: offset ± error (half the round trip), ms. */
  clocks?: Record<string, ClockOffset>;
  /** What the run found doubtful, one sentence each (a clock skew larger than the latencies it distorts). */
  warnings?: string[];
  /** Throughput over time at the receivers, summed, in 1 s buckets; `t` in seconds since the senders started. */
  series?: { t: number[]; images_per_s: number[]; mbit_per_s: number[] };
  /** What limited the run (controller/verdict.ts). */
  verdict?: Verdict;
  /** Per agent: its box's telemetry over the run, summarized. */
  telemetry?: Record<string, AgentRunTelemetry>;
}

/**
 * One agent's box over a run: means of the box's CPU busy share (%) and of its process's
 * CPU (cores), the hottest temperature (°C), the slowest CPU clock (MHz), the Pi
 * throttling flags that held, and per second (t in s) the box's busy cores and the process's.
 */
export interface AgentRunTelemetry {
  host: string;
  cores: number;
  cpu_total_pct: number | null;
  process_cpu_cores: number | null;
  temp_c_max: number | null;
  freq_mhz_min: number | null;
  throttled: string[];
  series?: { t: number[]; box_busy_cores: (number | null)[]; process_cpu_cores: number[] };
}

/** The runs whose figures count: those not marked failed. */
export function selectOkRuns(runs: RunResult[]): RunResult[] {
  return runs.filter((run) => run.status !== "failed");
}

/** One scenario with all its repeats and, per figure, their summary. */
export interface ScenarioResult {
  name: string;
  description?: string;
  /** The sweep point, `multiply=200,impair.delay=100ms`; empty without a sweep. */
  point?: string;
  /** The sweep keys of the scenario; their values for this point are in `params`. */
  swept?: string[];
  /** The medium label of the scenario (`wifi-5ghz`, `ethernet`), when given. */
  medium?: string;
  /** True when any role ran with injected impairment (delay, loss, fail, rate, cpu): the figures are emulated. */
  emulated?: boolean;
  params: Record<string, unknown>;
  /** Speedup and efficiency against the fewest agents, for scenarios that sweep `ROLE.agents` (controller/scaling.ts). */
  scaling?: Scaling;
  runs: RunResult[];
  /** Keyed by the names of `toFlatFigures` (`images_per_s`, `latency_p50_ms`, ...). */
  summary: Record<string, Summary>;
  /** The scenario's thresholds judged on `summary`, when it has any. */
  thresholds?: ThresholdOutcome[];
  /** What limited this point: the bottleneck most of its runs name (controller/verdict.ts). */
  verdict?: Verdict;
  /** A saturated scenario's search: the maximum sustainable rate over repeats and every step (`runs` are the runs at each repeat's maximum). */
  saturation?: SaturationResult;
}

/** The whole of results.json: the scenarios run, their points and runs, summaries, thresholds and verdicts. */
export interface Results {
  /** Framefleet version that produced the results. */
  framefleet: string;
  /** ISO 8601 time the run started. */
  started_at: string;
  host: Record<string, unknown>;
  scenarios: ScenarioResult[];
}

/**
 * The flat numeric figures of a run: every finite number at its top level except
 * `repeat`, with `latency_ms` flattened into `latency_p50_ms` and `latency_p99_ms`.
 */
export function toFlatFigures(run: RunResult): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const [key, value] of Object.entries(run)) {
    if (key !== "repeat" && typeof value === "number" && Number.isFinite(value)) figures[key] = value;
  }
  figures.latency_p50_ms = run.latency_ms.p50;
  figures.latency_p99_ms = run.latency_ms.p99;
  return figures;
}

/**
 * Summarizes every flat figure (`toFlatFigures`) over the runs of a scenario.
 * @throws FleetError NO_SAMPLES when `runs` is empty.
 */
export function summarizeRunResults(runs: RunResult[]): Record<string, Summary> {
  const flat = runs.map(toFlatFigures);
  return summarizeRuns(flat, collectKeys(flat));
}

/**
 * Writes `results.json` (pretty) and `results.csv` (RFC 4180, one row per run) into `dir`,
 * creating it. Run figures and summaries are rounded to 2 decimals; params, senders and
 * receivers are written as given. Answers the two paths.
 */
export async function writeResults(dir: string, results: Results): Promise<{ json: string; csv: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, "results.json");
  const csv = join(dir, "results.csv");
  await writeFile(json, `${JSON.stringify(roundResults(results), null, 2)}\n`);
  await writeFile(csv, formatCsv(results));
  return { json, csv };
}

/**
 * Formats results as CSV (RFC 4180: CRLF line ends, fields with `,` `"` CR or LF quoted,
 * quotes doubled): scenario, description, `param.<name>`..., repeat, status, the run's
 * verdict (what limited it), then the flat figures,
 * then for scenarios with scaling the original's table of their point as `table.<name>`
 * (workers, avg_send_s, avg_process_s, avg_receive_s, speedup with its interval, efficiency).
 */
export function formatCsv(results: Results): string {
  const params = collectKeys(results.scenarios.map((scenario) => scenario.params));
  const figures = collectKeys(results.scenarios.flatMap((scenario) => scenario.runs.map(toFlatFigures)));
  const table = collectKeys(results.scenarios.map(toSpeedupColumns));
  const header = ["scenario", "description", "point", "medium", ...params.map((name) => `param.${name}`), "repeat", "status", "verdict", ...figures, ...table];
  const rows = results.scenarios.flatMap((scenario) =>
    scenario.runs.map((run) => {
      const flat = toFlatFigures(run);
      const speedup = toSpeedupColumns(scenario);
      return [
        scenario.name,
        scenario.description ?? "",
        scenario.point ?? "",
        scenario.medium ?? "",
        ...params.map((name) => toCsvText(scenario.params[name])),
        String(run.repeat),
        run.status ?? "ok",
        run.verdict?.text ?? "",
        ...figures.map((name) => (name in flat ? String(roundTo(flat[name]!)) : "")),
        ...table.map((name) => (name in speedup ? String(roundTo(speedup[name]!, 4)) : "")),
      ];
    }),
  );
  return [header, ...rows].map((row) => `${row.map(quoteCsvField).join(",")}\r\n`).join("");
}

/**
 * Formats one aligned row per scenario: images/s and Mbit/s as mean ± half-width of the
 * 95% interval, means of sent, saved and lost, means of p50 and p99 latency (ms), and n.
 * Plain text, no colour codes; `-` where a scenario has no runs.
 */
export function formatTable(results: Results): string {
  const header = ["scenario", "images/s", "Mbit/s", "sent", "saved", "lost", "p50 ms", "p99 ms", "n", "limited by"];
  const rows = results.scenarios.map((scenario) => {
    const okRuns = selectOkRuns(scenario.runs);
    const summary = { ...(okRuns.length > 0 ? summarizeRunResults(okRuns) : {}), ...scenario.summary };
    const n = summary.images_per_s?.n ?? okRuns.length;
    return [
      scenario.point ? `${scenario.name} ${scenario.point}` : scenario.name,
      formatInterval(summary.images_per_s),
      formatInterval(summary.mbit_per_s),
      formatCount(summary.sent),
      formatCount(summary.saved),
      formatCount(summary.lost),
      formatMean(summary.latency_p50_ms),
      formatMean(summary.latency_p99_ms),
      String(n),
      scenario.verdict ? (scenario.verdict.bottleneck ? scenario.verdict.text : "nothing near its limit") : "-",
    ];
  });
  const widths = header.map((_, column) => Math.max(...[header, ...rows].map((row) => row[column]!.length)));
  const align = (row: string[]) =>
    row.map((cell, column) => (column === 0 || column === row.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
  const rule = widths.map((width) => "-".repeat(width)).join("  ");
  return [align(header), rule, ...rows.map(align)].join("\n");
}

function roundResults(results: Results): Results {
  return {
    ...results,
    scenarios: results.scenarios.map((scenario) => ({
      ...scenario,
      runs: scenario.runs.map(roundRun),
      summary: Object.fromEntries(Object.entries(scenario.summary).map(([key, value]) => [key, roundSummary(value)])),
      ...(scenario.saturation?.max_rate ? { saturation: { ...scenario.saturation, max_rate: roundSummary(scenario.saturation.max_rate) } } : {}),
    })),
  };
}

function roundRun(run: RunResult): RunResult {
  const rounded = Object.entries(run).map(([key, value]) => [key, typeof value === "number" ? roundTo(value) : value]);
  const latency = { p50: roundTo(run.latency_ms.p50), p99: roundTo(run.latency_ms.p99) };
  return { ...(Object.fromEntries(rounded) as RunResult), latency_ms: latency };
}

/** The union of the keys of `records`, in the order first seen. */
function collectKeys(records: Record<string, unknown>[]): string[] {
  return [...new Set(records.flatMap((record) => Object.keys(record)))];
}

function toCsvText(value: unknown): string {
  if (value === undefined || value === null) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function quoteCsvField(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

function formatInterval(summary: Summary | undefined): string {
  if (!summary) return "-";
  const halfWidth = (summary.ci95[1] - summary.ci95[0]) / 2;
  return `${summary.mean.toFixed(2)} ± ${halfWidth.toFixed(2)}`;
}

function formatMean(summary: Summary | undefined): string {
  return summary ? summary.mean.toFixed(2) : "-";
}

/** Counts print without decimals when their mean is whole. */
function formatCount(summary: Summary | undefined): string {
  if (!summary) return "-";
  return Number.isInteger(summary.mean) ? String(summary.mean) : summary.mean.toFixed(2);
}
