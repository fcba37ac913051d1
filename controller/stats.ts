// Summaries of repeated measurements: mean, sample standard deviation, 95% confidence interval.
// @ts-expect-error jstat ships no type declarations; the three calls used here are typed below.
import { jStat as untypedJStat } from "jstat";
import { FleetError } from "../agent/errors";

const jStat: {
  mean(values: number[]): number;
  stdev(values: number[], sample: boolean): number;
  studentt: { inv(p: number, df: number): number };
} = untypedJStat;

/** One figure over the repeats of a scenario, in the unit of the figure itself. */
export interface Summary {
  mean: number;
  /** Sample standard deviation (divisor n-1); 0 when n = 1. */
  std: number;
  /** 95% confidence interval of the mean, [low, high]; [mean, mean] when n = 1. */
  ci95: [number, number];
  n: number;
}

/**
 * Summarizes repeated measurements, exactly (no rounding: see `roundSummary`).
 * The interval is Student's t, two-sided: mean ± t(0.975, n-1)·std/√n
 * (NIST/SEMATECH e-Handbook of Statistical Methods, §7.2.2.1 "Confidence limits for the mean").
 * @throws FleetError NO_SAMPLES when `values` is empty, NOT_FINITE when one is NaN or ±Infinity.
 */
export function summarize(values: number[]): Summary {
  const n = values.length;
  if (n === 0) throw new FleetError("NO_SAMPLES", "nothing to summarize: no samples", 422);
  const bad = values.findIndex((value) => !Number.isFinite(value));
  if (bad >= 0) throw new FleetError("NOT_FINITE", `sample ${bad} is ${values[bad]}, not a finite number`, 422);
  const mean = jStat.mean(values);
  if (n === 1) return { mean, std: 0, ci95: [mean, mean], n };
  const std = jStat.stdev(values, true);
  const halfWidth = (jStat.studentt.inv(0.975, n - 1) * std) / Math.sqrt(n);
  return { mean, std, ci95: [mean - halfWidth, mean + halfWidth], n };
}

/**
 * Summarizes each of `fields` over `runs`; a field is skipped unless it is a finite
 * number in every run.
 * @throws FleetError NO_SAMPLES when `runs` is empty.
 */
export function summarizeRuns(runs: Record<string, unknown>[], fields: readonly string[]): Record<string, Summary> {
  if (runs.length === 0) throw new FleetError("NO_SAMPLES", "nothing to summarize: no runs", 422);
  const summaries: Record<string, Summary> = {};
  for (const field of fields) {
    const values = runs.map((run) => run[field]);
    if (values.every((value): value is number => typeof value === "number" && Number.isFinite(value)))
      summaries[field] = summarize(values);
  }
  return summaries;
}

/** Rounds `value` to `digits` decimals (2 by default), for output only. */
export function roundTo(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

/** A copy of `summary` with mean, std and interval rounded to `digits` decimals, for output only. */
export function roundSummary(summary: Summary, digits = 2): Summary {
  const [low, high] = summary.ci95;
  return {
    mean: roundTo(summary.mean, digits),
    std: roundTo(summary.std, digits),
    ci95: [roundTo(low, digits), roundTo(high, digits)],
    n: summary.n,
  };
}

/** The 0.975 quantile of Student's t with `df` degrees of freedom (jstat). */
export function tQuantile975(df: number): number {
  return jStat.studentt.inv(0.975, df);
}
