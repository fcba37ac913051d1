// Tests of controller/stats.ts against figures computed independently (t quantiles from published tables).
import { describe, expect, test } from "bun:test";
import { FleetError } from "../../agent/errors";
import { roundSummary, roundTo, summarize, summarizeRuns, type Summary } from "../../controller/stats";

/** Summary of 1..n: mean (n+1)/2, sample std √(n(n+1)/12), half-width t·std/√n. */
function expectedForOneToN(n: number, t: number): Summary {
  const mean = (n + 1) / 2;
  const std = Math.sqrt((n * (n + 1)) / 12);
  const half = (t * std) / Math.sqrt(n);
  return { mean: expect.closeTo(mean, 9), std: expect.closeTo(std, 9), ci95: [expect.closeTo(mean - half, 5), expect.closeTo(mean + half, 5)], n };
}

describe("summarize", () => {
  test("five samples: mean 3, std 1.5811388, interval 3 ± 1.963243 (t(0.975,4) = 2.7764451)", () => {
    expect(summarize([1, 2, 3, 4, 5])).toEqual({
      mean: 3,
      std: expect.closeTo(1.5811388, 7),
      ci95: [expect.closeTo(3 - 1.963243, 6), expect.closeTo(3 + 1.963243, 6)],
      n: 5,
    });
  });

  test("two samples use t(0.975,1) = 12.706205", () => {
    expect(summarize([1, 2])).toEqual(expectedForOneToN(2, 12.706205));
  });

  test("thirty samples use t(0.975,29) = 2.0452296", () => {
    const values = Array.from({ length: 30 }, (_, i) => i + 1);
    expect(summarize(values)).toEqual(expectedForOneToN(30, 2.0452296));
  });

  test("order of samples does not matter", () => {
    expect(summarize([5, 1, 4, 2, 3])).toEqual(summarize([1, 2, 3, 4, 5]));
  });

  test("one sample: std 0 and a zero-width interval", () => {
    expect(summarize([812.4])).toEqual({ mean: 812.4, std: 0, ci95: [812.4, 812.4], n: 1 });
  });

  test("identical samples: std 0 and a zero-width interval", () => {
    expect(summarize([7, 7, 7])).toEqual({ mean: 7, std: 0, ci95: [7, 7], n: 3 });
  });

  test("no samples: FleetError NO_SAMPLES", () => {
    expect(() => summarize([])).toThrow(FleetError);
    expect(() => summarize([])).toThrow(expect.objectContaining({ code: "NO_SAMPLES" }));
  });

  test("a non-finite sample: FleetError NOT_FINITE", () => {
    expect(() => summarize([1, Number.NaN])).toThrow(expect.objectContaining({ code: "NOT_FINITE" }));
  });
});

describe("summarizeRuns", () => {
  test("summarizes the numeric fields and skips those not numeric in every run", () => {
    const runs = [
      { images_per_s: 1, sent: 10, label: "a", sometimes: 1 },
      { images_per_s: 2, sent: 10, label: "b", sometimes: "x" },
      { images_per_s: 3, sent: 10, label: "c" },
    ];
    expect(summarizeRuns(runs, ["images_per_s", "sent", "label", "sometimes", "absent"])).toEqual({
      images_per_s: summarize([1, 2, 3]),
      sent: { mean: 10, std: 0, ci95: [10, 10], n: 3 },
    });
  });

  test("no runs: FleetError NO_SAMPLES", () => {
    expect(() => summarizeRuns([], ["images_per_s"])).toThrow(expect.objectContaining({ code: "NO_SAMPLES" }));
  });
});

describe("rounding for output", () => {
  test("roundTo keeps 2 decimals by default", () => {
    expect([roundTo(1.23456), roundTo(2.5), roundTo(1.23456, 3)]).toEqual([1.23, 2.5, 1.235]);
  });

  test("roundSummary rounds mean, std and interval, not n", () => {
    expect(roundSummary(summarize([1, 2, 3, 4, 5]))).toEqual({ mean: 3, std: 1.58, ci95: [1.04, 4.96], n: 5 });
  });
});
