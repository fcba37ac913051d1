// Pass/fail goals on a scenario's figures (k6-style thresholds): parsed from scenarios.toml, judged on the summaries over repeats.
import type { Summary } from "./stats";

/** Which number of a figure's summary a threshold reads: the mean over repeats, or a bound of its 95% interval. */
export type Statistic = "mean" | "ci_low" | "ci_high";

const OPERATORS = { ">=": (a: number, b: number) => a >= b, ">": (a: number, b: number) => a > b, "<=": (a: number, b: number) => a <= b, "<": (a: number, b: number) => a < b, "==": (a: number, b: number) => a === b, "!=": (a: number, b: number) => a !== b } as const;
export type Operator = keyof typeof OPERATORS;

/** One threshold as written, `"ci_low(images_per_s)" = ">= 450"`, and what it reads and compares. */
export interface Threshold {
  /** The key as written in the file: `images_per_s`, `ci_low(images_per_s)`. */
  key: string;
  /** The expression as written: `>= 450`. */
  expression: string;
  /** A figure of results.json's `summary` (`images_per_s`, `lost`, `latency_p99_ms`, ...). */
  figure: string;
  statistic: Statistic;
  operator: Operator;
  value: number;
}

/** How one threshold fared on one scenario (one sweep point): the number it read, and whether it held. */
export interface ThresholdOutcome {
  key: string;
  expression: string;
  /** The number read; absent when the results have no such figure. */
  actual?: number;
  pass: boolean;
  /** Why it failed without a number to compare (no such figure, no successful run). */
  reason?: string;
}

const KEY = /^(?:(ci_low|ci_high)\(\s*([a-z][a-z0-9_]*)\s*\)|([a-z][a-z0-9_]*))$/;
const EXPRESSION = /^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)\s*$/i;

/**
 * Parses a `[thresholds]` table: keys `FIGURE`, `ci_low(FIGURE)` or `ci_high(FIGURE)`, values
 * `"OP NUMBER"` with OP one of >= > <= < == !=. Answers the thresholds and, for anything that
 * does not parse, one problem each (`thresholds."KEY": ...`), so a config error can list them all.
 */
export function parseThresholds(table: Record<string, unknown>): { thresholds: Threshold[]; problems: string[] } {
  const thresholds: Threshold[] = [];
  const problems: string[] = [];
  for (const [key, raw] of Object.entries(table)) {
    const keyMatch = KEY.exec(key.trim());
    const expression = typeof raw === "string" ? EXPRESSION.exec(raw) : null;
    if (!keyMatch) problems.push(`thresholds."${key}": the key must be FIGURE, ci_low(FIGURE) or ci_high(FIGURE), e.g. images_per_s`);
    if (!expression) problems.push(`thresholds."${key}": ${JSON.stringify(raw)} is not "OP NUMBER" with OP one of >= > <= < == !=, e.g. ">= 500"`);
    if (!keyMatch || !expression) continue;
    thresholds.push({
      key,
      expression: (raw as string).trim(),
      figure: keyMatch[2] ?? keyMatch[3]!,
      statistic: (keyMatch[1] as Statistic | undefined) ?? "mean",
      operator: expression[1] as Operator,
      value: Number(expression[2]),
    });
  }
  return { thresholds, problems };
}

/**
 * Judges `thresholds` on one scenario's summaries (results.json `summary`: mean and 95%
 * interval over the successful repeats). A figure the results do not have fails, naming the
 * figures there are: a misspelt goal must not pass silently.
 */
export function judgeThresholds(thresholds: Threshold[], summary: Record<string, Summary>): ThresholdOutcome[] {
  return thresholds.map((threshold) => {
    const { key, expression, figure, statistic, operator, value } = threshold;
    const figures = summary[figure];
    if (!figures) {
      const known = Object.keys(summary);
      const reason = known.length === 0 ? "no successful run to judge" : `no figure "${figure}" in these results (figures: ${known.join(", ")})`;
      return { key, expression, pass: false, reason };
    }
    const actual = statistic === "mean" ? figures.mean : figures.ci95[statistic === "ci_low" ? 0 : 1];
    return { key, expression, actual, pass: OPERATORS[operator](actual, value) };
  });
}

/** Terminal lines of every judged scenario: `PASS case1-1to1  images_per_s >= 500 (812.40)`; empty when none has thresholds. */
export function formatThresholds(entries: { name: string; point?: string; thresholds?: ThresholdOutcome[] }[]): string {
  const lines = entries.flatMap((entry) =>
    (entry.thresholds ?? []).map((outcome) => {
      const what = entry.point ? `${entry.name} ${entry.point}` : entry.name;
      const seen = outcome.actual === undefined ? outcome.reason : outcome.actual.toFixed(2);
      return `${outcome.pass ? "PASS" : "FAIL"}  ${what}  ${outcome.key} ${outcome.expression}  (${seen})`;
    }),
  );
  return lines.length === 0 ? "" : ["thresholds:", ...lines].join("\n");
}
