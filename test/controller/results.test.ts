// Tests of controller/results.ts: results.json round trip, results.csv quoting, the terminal table.
import { describe, expect, test } from "bun:test";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatCsv, formatTable, summarizeRunResults, toFlatFigures, writeResults, type Results, type RunResult } from "../../controller/results";
import { summarize } from "../../controller/stats";

function makeRun(repeat: number, images_per_s: number): RunResult {
  return {
    repeat,
    images_per_s,
    mbit_per_s: images_per_s / 2,
    sent: 8124,
    saved: 8124,
    lost: 0,
    failed: 0,
    duration_s: 10,
    latency_ms: { p50: 3.25, p99: 12.5 },
    senders: [{ agent: "pi1", sent: 8124 }],
    receivers: [{ agent: "pi5", saved: 8124, topics: { cam: { saved: 8124 } } }],
  };
}

function makeResults(): Results {
  const runs1 = [makeRun(1, 800), makeRun(2, 810), makeRun(3, 820)];
  const runs2 = [makeRun(1, 1500.5), makeRun(2, 1510.5)];
  return {
    framefleet: "0.1.0",
    started_at: "2025-01-02T03:04:05.000Z",
    host: { hostname: "controller", cpus: 4 },
    scenarios: [
      { name: "case1-1to1", description: 'one sender, one receiver, "plain"', params: { senders: 1, receivers: 1 }, runs: runs1, summary: summarizeRunResults(runs1) },
      { name: "case4-2x2", params: { senders: 2, receivers: 2, topics: ["a", "b"] }, runs: runs2, summary: summarizeRunResults(runs2) },
    ],
  };
}

async function withTempDir(use: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "framefleet-results-"));
  try {
    await use(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("toFlatFigures and summarizeRunResults", () => {
  test("flatten latency and leave out repeat and the per-agent stats", () => {
    expect(toFlatFigures(makeRun(1, 800))).toEqual({
      images_per_s: 800, mbit_per_s: 400, sent: 8124, saved: 8124, lost: 0, failed: 0, duration_s: 10, latency_p50_ms: 3.25, latency_p99_ms: 12.5,
    });
  });

  test("summarize every flat figure over the runs", () => {
    const summary = summarizeRunResults([makeRun(1, 800), makeRun(2, 810), makeRun(3, 820)]);
    expect(Object.keys(summary)).toEqual(["images_per_s", "mbit_per_s", "sent", "saved", "lost", "failed", "duration_s", "latency_p50_ms", "latency_p99_ms"]);
    expect(summary.images_per_s).toEqual(summarize([800, 810, 820]));
  });
});

describe("writeResults", () => {
  test("results.json round-trips, in a folder it creates", async () => {
    await withTempDir(async (dir) => {
      const results = makeResults();
      const out = join(dir, "nested", "run1");
      const paths = await writeResults(out, results);
      expect(paths).toEqual({ json: join(out, "results.json"), csv: join(out, "results.csv") });
      const read = JSON.parse(await readFile(paths.json, "utf8"));
      const expected = structuredClone(results);
      for (const scenario of expected.scenarios) {
        for (const summary of Object.values(scenario.summary)) {
          summary.mean = Number(summary.mean.toFixed(2));
          summary.std = Number(summary.std.toFixed(2));
          summary.ci95 = [Number(summary.ci95[0].toFixed(2)), Number(summary.ci95[1].toFixed(2))];
        }
      }
      expect(read).toEqual(expected);
    });
  });

  test("results.json rounds run figures and summaries to 2 decimals", async () => {
    await withTempDir(async (dir) => {
      const run = { ...makeRun(1, 812.4567), latency_ms: { p50: 1.2345, p99: 9.8765 } };
      const results: Results = { ...makeResults(), scenarios: [{ name: "s", params: {}, runs: [run], summary: summarizeRunResults([run]) }] };
      const { json } = await writeResults(dir, results);
      const scenario = JSON.parse(await readFile(json, "utf8")).scenarios[0];
      expect({ run: scenario.runs[0].images_per_s, latency: scenario.runs[0].latency_ms, summary: scenario.summary.images_per_s }).toEqual({
        run: 812.46,
        latency: { p50: 1.23, p99: 9.88 },
        summary: { mean: 812.46, std: 0, ci95: [812.46, 812.46], n: 1 },
      });
    });
  });

  test("results.csv has one row per run, the header, and RFC 4180 quoting", async () => {
    await withTempDir(async (dir) => {
      const { csv } = await writeResults(dir, makeResults());
      const text = await readFile(csv, "utf8");
      expect(text).toBe(formatCsv(makeResults()));
      expect(text.endsWith("\r\n")).toBe(true);
      const lines = text.split("\r\n").slice(0, -1);
      expect(lines).toEqual([
        "scenario,description,point,medium,param.senders,param.receivers,param.topics,repeat,status,verdict,images_per_s,mbit_per_s,sent,saved,lost,failed,duration_s,latency_p50_ms,latency_p99_ms",
        'case1-1to1,"one sender, one receiver, ""plain""",,,1,1,,1,ok,,800,400,8124,8124,0,0,10,3.25,12.5',
        'case1-1to1,"one sender, one receiver, ""plain""",,,1,1,,2,ok,,810,405,8124,8124,0,0,10,3.25,12.5',
        'case1-1to1,"one sender, one receiver, ""plain""",,,1,1,,3,ok,,820,410,8124,8124,0,0,10,3.25,12.5',
        'case4-2x2,,,,2,2,"[""a"",""b""]",1,ok,,1500.5,750.25,8124,8124,0,0,10,3.25,12.5',
        'case4-2x2,,,,2,2,"[""a"",""b""]",2,ok,,1510.5,755.25,8124,8124,0,0,10,3.25,12.5',
      ]);
    });
  });

  test("a field with a line break is quoted whole", () => {
    const results: Results = { ...makeResults(), scenarios: [{ name: "s", description: "two\nlines", params: {}, runs: [makeRun(1, 1)], summary: {} }] };
    expect(formatCsv(results).split("\r\n")[1]).toStartWith('s,"two\nlines",,,1,ok,,');
  });
});

describe("formatTable", () => {
  test("one row per scenario, every column aligned", () => {
    const table = formatTable(makeResults());
    const lines = table.split("\n");
    expect(lines).toHaveLength(4);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
    expect(table).toContain("case1-1to1");
    expect(table).toContain("case4-2x2");
    expect(table).not.toContain("\x1b[");
  });

  test("shows mean ± half-width of the interval, the count means, latencies and n", () => {
    const images = summarize([800, 810, 820]);
    const mbit = summarize([400, 405, 410]);
    const row = formatTable(makeResults()).split("\n")[2]!.trim().split(/\s{2,}/);
    expect(row).toEqual(["case1-1to1", `810.00 ± ${(images.ci95[1] - 810).toFixed(2)}`, `405.00 ± ${(mbit.ci95[1] - 405).toFixed(2)}`, "8124", "8124", "0", "3.25", "12.50", "3", "-"]);
  });

  test("the last column says what limited each point: its verdict, or that nothing was near its limit", () => {
    const [first, second] = makeResults().scenarios;
    const limited = { ...first!, verdict: { bottleneck: "link pi1", text: "link pi1 19 of 20 Mbit/s", loads: [] } };
    const idle = { ...second!, verdict: { bottleneck: null, text: "no resource near its limit (highest: ...)", loads: [] } };
    const lines = formatTable({ ...makeResults(), scenarios: [limited, idle] }).split("\n");
    expect([lines[0]!.trimEnd().endsWith("limited by"), lines[2]!.trimEnd().endsWith("link pi1 19 of 20 Mbit/s"), lines[3]!.trimEnd().endsWith("nothing near its limit")]).toEqual([true, true, true]);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });

  test("a scenario without runs shows dashes, still aligned", () => {
    const results: Results = { ...makeResults(), scenarios: [...makeResults().scenarios, { name: "failed-case", params: {}, runs: [], summary: {} }] };
    const lines = formatTable(results).split("\n");
    expect(lines[4]!.trim().split(/\s+/)).toEqual(["failed-case", "-", "-", "-", "-", "-", "-", "-", "0", "-"]);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});
