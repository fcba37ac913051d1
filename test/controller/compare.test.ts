// Tests of controller/compare.ts: matching points, the interval verdicts, the printed table and reading results.json.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FleetError } from "../../agent/errors";
import { compareResults, formatComparison, readResults } from "../../controller/compare";
import { summarizeRunResults, writeResults, type Results, type RunResult, type ScenarioResult } from "../../controller/results";
import { makeTempDir, runController } from "../helpers";

function makeRun(repeat: number, images_per_s: number, mbit_per_s: number): RunResult {
  return {
    repeat,
    images_per_s,
    mbit_per_s,
    sent: 100,
    saved: 100,
    lost: 0,
    failed: 0,
    duration_s: 10,
    latency_ms: { p50: 3 + repeat, p99: 12 + repeat },
    senders: [],
    receivers: [],
  };
}

function makeEntry(name: string, point: string, figures: [number, number][]): ScenarioResult {
  const runs = figures.map(([images, mbit], index) => makeRun(index + 1, images, mbit));
  return { name, point, params: {}, runs, summary: summarizeRunResults(runs) };
}

function makeResults(scenarios: ScenarioResult[]): Results {
  return { framefleet: "0.1.0", started_at: "2025-01-02T03:04:05.000Z", host: {}, scenarios };
}

// images/s moves from ~810 to ~905, far beyond both intervals; Mbit/s moves by 0.2%, well within.
const A = makeResults([
  makeEntry("case1", "", [[800, 80], [810, 81], [820, 82]]),
  makeEntry("case2", "multiply=100", [[500, 50]]),
  makeEntry("case3", "", [[300, 30], [310, 31]]),
]);
const B = makeResults([
  makeEntry("case1", "", [[900, 80.5], [905, 81], [910, 81.5]]),
  makeEntry("case2", "multiply=100", [[510, 51]]),
  makeEntry("case2", "multiply=200", [[900, 90], [910, 91]]),
]);

describe("compareResults", () => {
  test("matches by name and point, judges each figure by its intervals, lists one-sided points", () => {
    const rows = compareResults(A, B);
    const [a1, b1] = [A.scenarios[0]!.summary, B.scenarios[0]!.summary];
    const [a2, b2] = [A.scenarios[1]!.summary, B.scenarios[1]!.summary];
    expect(rows).toEqual([
      { kind: "figure", name: "case1", point: "", figure: "images_per_s", a: a1.images_per_s!, b: b1.images_per_s!, changePct: expect.closeTo(11.728, 3), verdict: "beyond CI" },
      { kind: "figure", name: "case1", point: "", figure: "mbit_per_s", a: a1.mbit_per_s!, b: b1.mbit_per_s!, changePct: 0, verdict: "within CI" },
      { kind: "figure", name: "case1", point: "", figure: "latency_p50_ms", a: a1.latency_p50_ms!, b: b1.latency_p50_ms!, changePct: 0, verdict: "within CI" },
      { kind: "figure", name: "case1", point: "", figure: "latency_p99_ms", a: a1.latency_p99_ms!, b: b1.latency_p99_ms!, changePct: 0, verdict: "within CI" },
      { kind: "figure", name: "case2", point: "multiply=100", figure: "images_per_s", a: a2.images_per_s!, b: b2.images_per_s!, changePct: 2, verdict: "no CI" },
      { kind: "figure", name: "case2", point: "multiply=100", figure: "mbit_per_s", a: a2.mbit_per_s!, b: b2.mbit_per_s!, changePct: 2, verdict: "no CI" },
      { kind: "figure", name: "case2", point: "multiply=100", figure: "latency_p50_ms", a: a2.latency_p50_ms!, b: b2.latency_p50_ms!, changePct: 0, verdict: "no CI" },
      { kind: "figure", name: "case2", point: "multiply=100", figure: "latency_p99_ms", a: a2.latency_p99_ms!, b: b2.latency_p99_ms!, changePct: 0, verdict: "no CI" },
      { kind: "only_a", name: "case3", point: "" },
      { kind: "only_b", name: "case2", point: "multiply=200" },
    ]);
  });

  test("old files without points match by the params that differ between entries of one name", () => {
    const strip = (results: Results) =>
      makeResults(results.scenarios.filter((entry) => entry.name === "case1").map((entry, index) => ({ ...entry, point: undefined, params: { multiply: index } })));
    const doubled = (results: Results) => makeResults([...strip(results).scenarios, { ...strip(results).scenarios[0]!, params: { multiply: 7 } }]);
    const rows = compareResults(doubled(A), doubled(B));
    expect(rows.filter((row) => row.kind === "figure" && row.figure === "images_per_s").map((row) => row.point)).toEqual(["multiply=0", "multiply=7"]);
  });
});

describe("formatComparison", () => {
  test("prints an aligned table, then the points found on one side only", () => {
    expect(formatComparison(compareResults(A, B))).toBe(
      [
        "scenario  point         figure                         A               B  change  verdict",
        "--------  ------------  ----------------  --------------  --------------  ------  ---------",
        "case1     -             images/s          810.00 ± 24.84  905.00 ± 12.42  +11.7%  beyond CI",
        "case1     -             Mbit/s              81.00 ± 2.48    81.00 ± 1.24    0.0%  within CI",
        "case1     -             latency p50 (ms)     5.00 ± 2.48     5.00 ± 2.48    0.0%  within CI",
        "case1     -             latency p99 (ms)    14.00 ± 2.48    14.00 ± 2.48    0.0%  within CI",
        "case2     multiply=100  images/s                  500.00          510.00   +2.0%  no CI",
        "case2     multiply=100  Mbit/s                     50.00           51.00   +2.0%  no CI",
        "case2     multiply=100  latency p50 (ms)            4.00            4.00    0.0%  no CI",
        "case2     multiply=100  latency p99 (ms)           13.00           13.00    0.0%  no CI",
        "",
        "only in A: case3",
        "",
        "only in B: case2 (multiply=200)",
      ].join("\n"),
    );
  });
});

describe("readResults", () => {
  test("reads what writeResults wrote", async () => {
    using dir = makeTempDir("framefleet-compare-");
    const { json } = await writeResults(dir.path, A);
    expect((await readResults(json)).scenarios.map((entry) => entry.name)).toEqual(["case1", "case2", "case3"]);
  });

  test("names the file and the problem when it is missing or malformed", async () => {
    using dir = makeTempDir("framefleet-compare-");
    const cases: [string, string | undefined, string, string][] = [
      ["missing.json", undefined, "RESULTS_MISSING", "cannot read results (ENOENT)"],
      ["broken.json", "{", "RESULTS_MALFORMED", "not JSON"],
      ["list.json", "[]", "RESULTS_MALFORMED", "not a results.json: not an object"],
      ["shape.json", `{"scenarios": [{"runs": 3}]}`, "RESULTS_MALFORMED", "scenarios[0] has no name; scenarios[0].runs is not a list"],
    ];
    for (const [name, text, code, message] of cases) {
      const path = join(dir.path, name);
      if (text !== undefined) await Bun.write(path, text);
      const error = await readResults(path).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FleetError);
      expect({ code: (error as FleetError).code, named: (error as FleetError).message.startsWith(path), says: (error as FleetError).message.includes(message) }).toEqual({
        code,
        named: true,
        says: true,
      });
    }
  });
});

describe("controller compare (the command)", () => {
  test("prints the same table for two results.json files and exits 0; a missing file exits 2 naming it", async () => {
    using dir = makeTempDir("framefleet-compare-");
    const [a, b] = [join(dir.path, "a"), join(dir.path, "b")];
    const [{ json: aJson }, { json: bJson }] = [await writeResults(a, A), await writeResults(b, B)];
    const printed = await runController(["compare", aJson, bJson], dir.path);
    expect({ code: printed.code, stdout: printed.stdout.trimEnd() }).toEqual({ code: 0, stdout: formatComparison(compareResults(A, B)) });
    const missing = await runController(["compare", aJson, join(dir.path, "nope.json")], dir.path);
    expect({ code: missing.code, names: missing.stderr.includes("nope.json"), stack: /\n\s+at /.test(missing.stderr) }).toEqual({ code: 2, names: true, stack: false });
  });
});
