// The originals beside ours: one text table per reproduced experiment in the results, for report.html and the terminal alike.
import { parseDuration } from "../agent/units";
import type { Results, ScenarioResult } from "./results";
import { DIFFERENCES, GRAYSCALE_TABLE, ORIGINALS_SOURCE, PI_CASES, RECOGNITION_SWEEPS, toStudentInterval, toWidthRatio, type PublishedSweep } from "./originals";
import { toSpeedupRow } from "./scaling";
import type { Summary } from "./stats";
import { readSummary } from "./_report-entries";

/** One experiment's table: cells already formatted, a line on what differs, and notes (such as the interval widths). */
export interface OriginalsTable {
  title: string;
  scenario: string;
  header: string[];
  rows: string[][];
  differs: string;
  notes: string[];
}

const BITS = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** `mean [low, high]` with thousands separators. */
function formatBits(mean: number, ci95: [number, number]): string {
  return `${BITS.format(mean)} [${BITS.format(ci95[0])}, ${BITS.format(ci95[1])}]`;
}

/** Mean ± half-width of the 95% interval in seconds, or `-`. */
function formatSeconds(summary: Summary | undefined): string {
  if (!summary) return "-";
  return `${summary.mean.toFixed(4)} ± ${((summary.ci95[1] - summary.ci95[0]) / 2).toFixed(4)}`;
}

/** A swept value as a number in the unit of `PublishedPoint.value`: a list of agents is its count, a duration its ms. */
export function readSweepValue(value: unknown): number | undefined {
  if (Array.isArray(value)) return value.length;
  if (typeof value === "number") return value;
  if (typeof value === "string") return parseDuration(value, "sweep value");
  return undefined;
}

function toRecognitionTable(sweep: PublishedSweep, entries: ScenarioResult[]): OriginalsTable {
  const ratios: number[] = [];
  const rows = sweep.points.map((published) => {
    const student = toStudentInterval(published.mean, published.std, sweep.n);
    ratios.push(toWidthRatio(student, published.ci95));
    const ours = entries.find((entry) => readSweepValue(entry.params[sweep.key]) === published.value);
    const summary = ours ? readSummary(ours).mbit_per_s : undefined;
    const scaled = summary ? { mean: summary.mean * 1e6, ci95: [summary.ci95[0] * 1e6, summary.ci95[1] * 1e6] as [number, number] } : undefined;
    return [
      published.label,
      BITS.format(published.mean),
      BITS.format(published.std),
      formatBits(published.mean, published.ci95),
      formatBits(published.mean, student),
      `${toWidthRatio(student, published.ci95).toFixed(0)}x`,
      scaled ? formatBits(scaled.mean, scaled.ci95) : "not run",
      summary ? String(summary.n) : "-",
    ];
  });
  const low = Math.min(...ratios).toFixed(0);
  const high = Math.max(...ratios).toFixed(0);
  return {
    title: `Recognition: throughput against ${sweep.title} (bit/s)`,
    scenario: sweep.scenario,
    header: ["point", "original mean", "original std", "original 95% CI (theirs)", `Student's t 95% CI of their mean, std, n = ${sweep.n}`, "wider", "ours mean [95% CI]", "our n"],
    rows,
    differs: DIFFERENCES.recognition,
    notes: [
      `Their published intervals cannot come from their own numbers: a Student's t interval on their mean, std and n = ${sweep.n} is ${low === high ? low : `${low}-${high}`} times wider than the one they published here.`,
    ],
  };
}

function toGrayscaleTable(entries: ScenarioResult[]): OriginalsTable {
  const rows: string[][] = [];
  for (const published of GRAYSCALE_TABLE.rows) {
    rows.push([String(published.clients), "original", ...[published.send_s, published.process_s, published.receive_s].map((value) => value.toFixed(4)), `${published.speedup.toFixed(2)}x`, `${(published.efficiency * 100).toFixed(1)}%`]);
    for (const entry of entries.filter((candidate) => readSweepValue(candidate.params[GRAYSCALE_TABLE.key]) === published.clients)) {
      const row = toSpeedupRow(entry);
      if (!row) continue;
      const cpu = (entry.params["grayscale-worker.impair.cpu"] ?? (entry.params["grayscale-worker"] as { impair?: { cpu?: number } } | undefined)?.impair?.cpu) as number | undefined;
      rows.push([
        String(published.clients),
        `ours${cpu !== undefined ? `, cpu ${cpu}` : ""}`,
        formatSeconds(row.avg_send_s),
        formatSeconds(row.avg_process_s),
        formatSeconds(row.avg_receive_s),
        `${row.speedup.toFixed(2)}x [${row.speedup_ci95[0].toFixed(2)}, ${row.speedup_ci95[1].toFixed(2)}]`,
        `${(row.efficiency * 100).toFixed(1)}%`,
      ]);
    }
  }
  return {
    title: "Distributed grayscale: one large image in N stripes",
    scenario: GRAYSCALE_TABLE.scenario,
    header: ["workers", "source", "avg send (s)", "avg process (s)", "avg receive (s)", "speedup", "efficiency"],
    rows,
    differs: DIFFERENCES.grayscale,
    notes: [],
  };
}

function toPiTable(entries: ScenarioResult[]): OriginalsTable {
  const rows = PI_CASES.flatMap((name) =>
    entries
      .filter((entry) => entry.name === name)
      .map((entry) => {
        const summary = readSummary(entry).images_per_s;
        return [name, "not published", summary ? `${summary.mean.toFixed(2)} [${summary.ci95[0].toFixed(2)}, ${summary.ci95[1].toFixed(2)}]` : "no counted run", summary ? String(summary.n) : "-"];
      }),
  );
  return { title: "Raspberry Pi HTTP image streaming, the five cases (images/s)", scenario: PI_CASES.join(", "), header: ["case", "original", "ours mean [95% CI]", "our n"], rows, differs: DIFFERENCES.pi, notes: [] };
}

/**
 * The originals' published figures (`originals.ts`) beside ours, one table per reproduced
 * experiment that the results hold (none when they hold none of them). Our figures are
 * means with their 95% Student's t interval over our repeats.
 */
export function buildOriginalsTables(results: Results): OriginalsTable[] {
  const all = results.scenarios ?? [];
  const of = (name: string) => all.filter((entry) => entry.name === name);
  const tables: OriginalsTable[] = [];
  if (all.some((entry) => PI_CASES.includes(entry.name))) tables.push(toPiTable(all));
  for (const sweep of RECOGNITION_SWEEPS) if (of(sweep.scenario).length > 0) tables.push(toRecognitionTable(sweep, of(sweep.scenario)));
  if (of(GRAYSCALE_TABLE.scenario).length > 0) tables.push(toGrayscaleTable(of(GRAYSCALE_TABLE.scenario)));
  return tables;
}

/** The tables as aligned plain text for the terminal, with the source named; empty string without any. */
export function formatOriginals(tables: OriginalsTable[]): string {
  if (tables.length === 0) return "";
  const blocks = tables.map((table) => {
    const widths = table.header.map((_, column) => Math.max(...[table.header, ...table.rows].map((row) => row[column]!.length)));
    const line = (row: string[]) => row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ");
    return [`${table.title} [${table.scenario}]`, line(table.header), line(widths.map((width) => "-".repeat(width))), ...table.rows.map(line), ...table.notes, `What differs: ${table.differs}`].join("\n");
  });
  return [`The originals beside ours (source: ${ORIGINALS_SOURCE}; their figures were measured on their hardware: for comparison, not targets)`, ...blocks].join("\n\n");
}
