// What the report shows, computed from results: one view per scenario name and the data of every chart.
import type { Results, RunResult, ScenarioResult } from "./results";
import { roundTo, type Summary } from "./stats";
import { formatValue, groupByName, readPoints, readSummary, readSwept, selectCountedRuns, selectFailedRuns, toFigureLabel } from "./_report-entries";

/** A box per point of the repeats' values of one figure. */
export interface BoxChart {
  kind: "box";
  title: string;
  yLabel: string;
  labels: string[];
  values: number[][];
}

/** Means with their 95% interval against one swept key, one line per combination of the other swept keys. */
export interface SweepChart {
  kind: "sweep";
  title: string;
  xLabel: string;
  yLabel: string;
  /** Numeric x values (a linear axis); otherwise `labels` in sweep order (a category axis). */
  numeric: boolean;
  labels: string[];
  lines: { label: string; points: { x: number | string; y: number; yMin: number; yMax: number }[] }[];
}

/** Throughput over time of each repeat of one point. */
export interface SeriesChart {
  kind: "series";
  title: string;
  yLabel: string;
  lines: { label: string; failed: boolean; t: (number | null)[]; y: (number | null)[] }[];
}

/** Every scenario point side by side: the mean of one figure with its 95% interval, one bar each. */
export interface CompareChart {
  kind: "compare";
  title: string;
  xLabel: string;
  labels: string[];
  bars: { x: number; xMin: number; xMax: number }[];
}

/**
 * A saturation search: throughput (left axis) and latency p99 (right axis) of every step
 * against the offered load, one line per repeat, and the knee (the maximum sustainable rate) marked.
 */
export interface SaturationChart {
  kind: "saturation";
  title: string;
  xLabel: string;
  lines: { label: string; axis: "y" | "y1"; repeat: number; points: { x: number; y: number }[] }[];
  /** The maximum sustainable rate (mean over repeats) and its label; absent when no repeat found one. */
  knee?: { x: number; label: string };
}

export type ChartSpec = BoxChart | SweepChart | SeriesChart | CompareChart | SaturationChart;

/** One point of a scenario: its entry, its summaries and its failed runs. */
export interface PointView {
  label: string;
  entry: ScenarioResult;
  summary: Record<string, Summary>;
  failed: RunResult[];
}

/** Everything shown for one scenario name; chart ids are keys of `ReportModel.charts`. */
export interface ScenarioView {
  name: string;
  description?: string;
  mediums: string[];
  /** Labels of the points that ran with emulated impairment. */
  emulated: string[];
  swept: string[];
  /** Params with one value across all points and not swept. */
  fixed: Record<string, unknown>;
  points: PointView[];
  charts: { box?: string; sweeps: string[]; series: string[]; telemetry: string[]; saturation?: string };
}

export interface ReportModel {
  scenarios: ScenarioView[];
  charts: Record<string, ChartSpec>;
  /** The id of the summary chart (every point's images/s side by side), when any point has counted runs. */
  summary?: string;
}

const SWEPT_FIGURES = ["images_per_s", "mbit_per_s"] as const;

/** Builds the views and chart data of a report; charts without data are left out. */
export function buildReportModel(results: Results): ReportModel {
  const charts: Record<string, ChartSpec> = {};
  const all = results.scenarios ?? [];
  const labels = new Map(readPoints(all).map((label, index) => [all[index]!, label]));
  const scenarios = [...groupByName(all)].map(([name, entries], index) => {
    const swept = readSwept(entries);
    const points = entries.map((entry): PointView => ({
      label: labels.get(entry)!,
      entry,
      summary: readSummary(entry),
      failed: selectFailedRuns(entry.runs),
    }));
    const view: ScenarioView = {
      name,
      description: entries.find((entry) => entry.description)?.description,
      mediums: [...new Set(entries.flatMap((entry) => (entry.medium ? [entry.medium] : [])))],
      emulated: points.filter((point) => point.entry.emulated).map((point) => point.label || name),
      swept,
      fixed: findFixedParams(entries, swept),
      points,
      charts: { sweeps: [], series: [], telemetry: [] },
    };
    const add = (id: string, chart: ChartSpec) => ((charts[`s${index}-${id}`] = chart), `s${index}-${id}`);
    const box = toBoxChart(points, name);
    if (box) view.charts.box = add("box", box);
    const saturation = toSaturationChart(entries);
    if (saturation) view.charts.saturation = add("saturation", saturation);
    swept.forEach((key, keyIndex) => {
      for (const figure of SWEPT_FIGURES) {
        const chart = toSweepChart(points, swept, key, figure);
        if (chart) view.charts.sweeps.push(add(`sweep${keyIndex}-${figure}`, chart));
      }
    });
    points.forEach((point, pointIndex) => {
      const chart = toSeriesChart(point);
      if (chart) view.charts.series.push(add(`series${pointIndex}`, chart));
      const cpu = toTelemetryChart(point);
      if (cpu) view.charts.telemetry.push(add(`telemetry${pointIndex}`, cpu));
    });
    return view;
  });
  const compare = toCompareChart(scenarios);
  if (compare) charts.summary = compare;
  return { scenarios, charts, ...(compare ? { summary: "summary" } : {}) };
}

/** Images/s of every scenario point on one chart (mean and 95% interval over its counted repeats): which case is fastest, at a glance. */
function toCompareChart(scenarios: ScenarioView[]): CompareChart | undefined {
  const points = scenarios.flatMap((view) => view.points.map((point) => ({ name: point.label ? `${view.name} ${point.label}` : view.name, figure: point.summary.images_per_s })));
  const shown = points.filter((point): point is { name: string; figure: Summary } => point.figure !== undefined);
  if (shown.length === 0) return undefined;
  return {
    kind: "compare",
    title: "images/s of every scenario (mean, 95% CI)",
    xLabel: "images/s",
    labels: shown.map((point) => point.name),
    bars: shown.map(({ figure }) => ({ x: roundTo(figure.mean), xMin: roundTo(figure.ci95[0]), xMax: roundTo(figure.ci95[1]) })),
  };
}

/** The saturation chart of the first entry of a name that has a search with steps; undefined otherwise. */
function toSaturationChart(entries: ScenarioResult[]): SaturationChart | undefined {
  const saturation = entries.find((entry) => (entry.saturation?.steps?.length ?? 0) > 0)?.saturation;
  if (!saturation) return undefined;
  const repeats = [...new Set(saturation.steps.map((step) => step.repeat))];
  const line = (repeat: number, figure: string, axis: "y" | "y1") => ({
    label: `${toFigureLabel(figure)}${repeats.length > 1 ? `, repeat ${repeat}` : ""}`,
    axis,
    repeat,
    points: saturation.steps
      .filter((step) => step.repeat === repeat && Number.isFinite(step.figures[figure]))
      .map((step) => ({ x: step.rate, y: roundTo(step.figures[figure]!) }))
      .sort((a, b) => a.x - b.x),
  });
  const max = saturation.max_rate;
  return {
    kind: "saturation",
    title: `images/s and latency p99 against offered ${saturation.option}, knee marked`,
    xLabel: `offered ${saturation.option}`,
    lines: repeats.flatMap((repeat) => [line(repeat, "images_per_s", "y"), line(repeat, "latency_p99_ms", "y1")]),
    ...(max ? { knee: { x: roundTo(max.mean), label: `max sustainable ${saturation.option} ${max.mean.toFixed(2)}` } } : {}),
  };
}

function toBoxChart(points: PointView[], name: string): BoxChart | undefined {
  const values = points.map((point) =>
    selectCountedRuns(point.entry.runs)
      .map((run) => run.images_per_s)
      .filter(Number.isFinite)
      .map((value) => roundTo(value)),
  );
  if (values.every((list) => list.length === 0)) return undefined;
  const labels = points.map((point) => point.label || name);
  return { kind: "box", title: "images/s over repeats", yLabel: "images/s", labels, values };
}

function toSweepChart(points: PointView[], swept: string[], key: string, figure: string): SweepChart | undefined {
  const others = swept.filter((other) => other !== key);
  const measured = points.filter((point) => point.summary[figure] && point.entry.params && key in point.entry.params);
  if (measured.length === 0) return undefined;
  const numeric = measured.every((point) => typeof point.entry.params[key] === "number");
  const labels = [...new Set(measured.map((point) => formatValue(point.entry.params[key])))];
  const lines = new Map<string, SweepChart["lines"][number]>();
  for (const point of measured) {
    const label = others.map((other) => `${other}=${formatValue(point.entry.params[other])}`).join(", ") || toFigureLabel(figure);
    const summary = point.summary[figure]!;
    const x = numeric ? (point.entry.params[key] as number) : formatValue(point.entry.params[key]);
    const line = lines.get(label) ?? { label, points: [] };
    line.points.push({ x, y: roundTo(summary.mean), yMin: roundTo(summary.ci95[0]), yMax: roundTo(summary.ci95[1]) });
    lines.set(label, line);
  }
  if (numeric) for (const line of lines.values()) line.points.sort((a, b) => (a.x as number) - (b.x as number));
  const yLabel = toFigureLabel(figure);
  return { kind: "sweep", title: `${yLabel} against ${key} (mean, 95% CI)`, xLabel: key, yLabel, numeric, labels, lines: [...lines.values()] };
}

function toSeriesChart(point: PointView): SeriesChart | undefined {
  const lines = (point.entry.runs ?? [])
    .filter((run) => Array.isArray(run.series?.t) && Array.isArray(run.series?.images_per_s) && run.series.t.length > 0)
    .map((run) => ({
      label: `repeat ${run.repeat}${run.status === "failed" ? " (failed)" : ""}`,
      failed: run.status === "failed",
      t: run.series!.t.map(toPlotNumber),
      y: run.series!.images_per_s.map(toPlotNumber),
    }));
  if (lines.length === 0) return undefined;
  const title = point.label ? `images/s over time, ${point.label}` : "images/s over time";
  return { kind: "series", title, yLabel: "images/s", lines };
}

/**
 * CPU over time in the first counted run of a point that has telemetry: each agent's
 * process (cores), and each box's busy cores (its whole CPU, every process counted), once per host.
 */
function toTelemetryChart(point: PointView): SeriesChart | undefined {
  const run = selectCountedRuns(point.entry.runs ?? []).find((candidate) => Object.values(candidate.telemetry ?? {}).some((agent) => agent.series && agent.series.t.length > 0));
  if (!run) return undefined;
  const lines: SeriesChart["lines"] = [];
  const hosts = new Set<string>();
  for (const [name, agent] of Object.entries(run.telemetry!)) {
    if (!agent.series || agent.series.t.length === 0) continue;
    const t = agent.series.t.map(toPlotNumber);
    lines.push({ label: `${name} process`, failed: false, t, y: agent.series.process_cpu_cores.map(toPlotNumber) });
    if (!hosts.has(agent.host)) lines.push({ label: `box ${agent.host} (${agent.cores} cores)`, failed: false, t, y: agent.series.box_busy_cores.map(toPlotNumber) });
    hosts.add(agent.host);
  }
  const title = `CPU over time (cores busy), repeat ${run.repeat}${point.label ? `, ${point.label}` : ""}`;
  return { kind: "series", title, yLabel: "cores", lines };
}

/** Rounded for the page; anything not a finite number becomes a gap. */
function toPlotNumber(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? roundTo(value) : null;
}

function findFixedParams(entries: ScenarioResult[], swept: string[]): Record<string, unknown> {
  const first = entries[0]?.params ?? {};
  return Object.fromEntries(
    Object.entries(first).filter(
      ([key, value]) => !swept.includes(key) && entries.every((entry) => JSON.stringify(entry.params?.[key]) === JSON.stringify(value)),
    ),
  );
}
