// Compares two results.json files point by point: means, change in %, and whether the 95% intervals overlap.
import { readFile } from "node:fs/promises";
import { FleetError } from "../agent/errors";
import type { Results } from "./results";
import type { Summary } from "./stats";
import { readPoints, readSummary, toFigureLabel, toHalfWidth } from "./_report-entries";

/** The figures compared, when both sides have them. */
const COMPARED = ["images_per_s", "mbit_per_s", "latency_p50_ms", "latency_p99_ms"];

/**
 * `beyond CI` when the two 95% intervals do not overlap, `within CI` when they do, `no CI` when
 * a side has fewer than 2 counted runs (its interval is a single value, so overlap means nothing).
 * Non-overlap is a conservative test: two means can differ significantly (a two-sample t test at
 * 5%) while their intervals still overlap, so `within CI` does not prove the two are the same.
 */
export type Verdict = "beyond CI" | "within CI" | "no CI";

/** One line of a comparison: a figure of a point found in both files, or a point found in one only. */
export type ComparisonRow =
  | { kind: "figure"; name: string; point: string; figure: string; a: Summary; b: Summary; changePct: number | null; verdict: Verdict }
  | { kind: "only_a" | "only_b"; name: string; point: string };

/**
 * Matches the entries of `a` and `b` by (scenario name, sweep point) and compares images/s,
 * Mbit/s and p50/p99 latency where both summarize them. `changePct` is (B - A) / A in %, null
 * when A's mean is 0. Rows follow A's order; points only in B come last.
 */
export function compareResults(a: Results, b: Results): ComparisonRow[] {
  const [entriesA, entriesB] = [a.scenarios ?? [], b.scenarios ?? []];
  const [pointsA, pointsB] = [readPoints(entriesA), readPoints(entriesB)];
  const keyOf = (name: string, point: string) => JSON.stringify([name, point]);
  const inB = new Map(entriesB.map((entry, index) => [keyOf(entry.name, pointsB[index]!), entry]));
  const inA = new Set(entriesA.map((entry, index) => keyOf(entry.name, pointsA[index]!)));
  const rows: ComparisonRow[] = [];
  entriesA.forEach((entryA, index) => {
    const point = pointsA[index]!;
    const entryB = inB.get(keyOf(entryA.name, point));
    if (!entryB) return void rows.push({ kind: "only_a", name: entryA.name, point });
    const [summaryA, summaryB] = [readSummary(entryA), readSummary(entryB)];
    for (const figure of COMPARED) {
      const [sa, sb] = [summaryA[figure], summaryB[figure]];
      if (!sa || !sb) continue;
      const changePct = sa.mean === 0 ? null : ((sb.mean - sa.mean) / Math.abs(sa.mean)) * 100;
      rows.push({ kind: "figure", name: entryA.name, point, figure, a: sa, b: sb, changePct, verdict: judgeIntervals(sa, sb) });
    }
  });
  entriesB.forEach((entryB, index) => {
    if (!inA.has(keyOf(entryB.name, pointsB[index]!))) rows.push({ kind: "only_b", name: entryB.name, point: pointsB[index]! });
  });
  return rows;
}

/** Whether two summaries' 95% intervals overlap (see `Verdict`). */
export function judgeIntervals(a: Summary, b: Summary): Verdict {
  if (a.n < 2 || b.n < 2) return "no CI";
  return a.ci95[1] < b.ci95[0] || b.ci95[1] < a.ci95[0] ? "beyond CI" : "within CI";
}

/**
 * Formats rows as an aligned plain-text table (scenario, point, figure, A and B as
 * mean ± half-width, change, verdict), then the points found in one file only.
 */
export function formatComparison(rows: ComparisonRow[]): string {
  const header = ["scenario", "point", "figure", "A", "B", "change", "verdict"];
  const table = rows.flatMap((row) =>
    row.kind === "figure"
      ? [[row.name, row.point || "-", toFigureLabel(row.figure), formatMean(row.a), formatMean(row.b), formatChange(row.changePct), row.verdict]]
      : [],
  );
  const widths = header.map((_, column) => Math.max(...[header, ...table].map((cells) => cells[column]!.length)));
  const align = (cells: string[]) =>
    cells.map((cell, column) => (column >= 3 && column <= 5 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join("  ").trimEnd();
  const lines = table.length > 0 ? [align(header), widths.map((width) => "-".repeat(width)).join("  "), ...table.map(align)] : ["no point in common"];
  for (const [kind, label] of [["only_a", "only in A"], ["only_b", "only in B"]] as const) {
    const only = rows.filter((row) => row.kind === kind).map((row) => (row.point ? `${row.name} (${row.point})` : row.name));
    if (only.length > 0) lines.push("", `${label}: ${only.join(", ")}`);
  }
  return lines.join("\n");
}

/**
 * Reads and checks a results.json: an object with a `scenarios` list whose entries have a name.
 * @throws FleetError RESULTS_MISSING when the file cannot be read, RESULTS_MALFORMED when it is not such JSON.
 */
export async function readResults(path: string): Promise<Results> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new FleetError("RESULTS_MISSING", `${path}: cannot read results (${(error as NodeJS.ErrnoException).code ?? error})`, 404, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FleetError("RESULTS_MALFORMED", `${path}: not JSON (${(error as Error).message})`, 422, { cause: error });
  }
  const problems = findProblems(parsed);
  if (problems.length > 0) throw new FleetError("RESULTS_MALFORMED", `${path}: not a results.json: ${problems.join("; ")}`, 422);
  return parsed as Results;
}

function findProblems(parsed: unknown): string[] {
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return ["not an object"];
  const scenarios = (parsed as Record<string, unknown>).scenarios;
  if (!Array.isArray(scenarios)) return ["no scenarios list"];
  return scenarios.flatMap((entry, index) => {
    if (entry === null || typeof entry !== "object") return [`scenarios[${index}] is not an object`];
    const { name, runs, summary } = entry as Record<string, unknown>;
    const problems: string[] = [];
    if (typeof name !== "string") problems.push(`scenarios[${index}] has no name`);
    if (runs !== undefined && !Array.isArray(runs)) problems.push(`scenarios[${index}].runs is not a list`);
    if (summary !== undefined && (summary === null || typeof summary !== "object")) problems.push(`scenarios[${index}].summary is not an object`);
    return problems;
  });
}

function formatMean(summary: Summary): string {
  return summary.n > 1 ? `${summary.mean.toFixed(2)} ± ${toHalfWidth(summary).toFixed(2)}` : summary.mean.toFixed(2);
}

function formatChange(changePct: number | null): string {
  if (changePct === null) return "n/a";
  return `${changePct > 0 ? "+" : ""}${changePct.toFixed(1)}%`;
}
