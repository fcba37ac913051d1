// Saturation search: config checks, the search on a known knee, and on a Pi-class sender (a max rate that holds, 1.3x that breaks).
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Results, RunResult } from "../../controller/results";
import { judgeLimits, searchSaturation, type Saturation } from "../../controller/saturation";
import { parseScenarios } from "../../controller/scenarios";
import { FIXTURES, makeTempDir, runController } from "../helpers";

/** A run whose figures are those given, the rest zero. */
function makeRun(figures: Partial<RunResult>): RunResult {
  return { repeat: 1, images_per_s: 0, mbit_per_s: 0, sent: 0, saved: 0, lost: 0, lost_pct: 0, skipped_pct: 0, failed: 0, duration_s: 1, latency_ms: { p50: 1, p99: 10 }, senders: [], receivers: [], ...figures };
}

/** A scenarios file of one scenario whose `[scenario.saturate]` table is `table` (TOML). */
function withSaturate(table: string, sweep = ""): string {
  return `[agents]
a = "http://a:1"
b = "http://b:1"
[[scenario]]
name = "sat"
${sweep}
  [scenario.saturate]
${table}
  [[scenario.roles]]
  role = "receiver"
  agents = ["a"]
  [[scenario.roles]]
  role = "sender"
  agents = ["b"]
`;
}

function readConfigProblems(text: string): string[] {
  try {
    parseScenarios(text);
    return [];
  } catch (error) {
    return (error as Error).message.split("\n").slice(1).map((line) => line.trim());
  }
}

describe("saturation config", () => {
  test("a good table gets its defaults: factor 2, 3 bisections, the option's own maximum, 20% headroom, skipped_pct <= 5 beside the limits", () => {
    const [scenario] = parseScenarios(withSaturate(`  option = "fps"\n  start = 5\n  limit = { latency_p99_ms = 100, lost_pct = 0.5 }`)).scenarios;
    expect(scenario!.saturate).toEqual({ option: "fps", start: 5, limit: { skipped_pct: 5, latency_p99_ms: 100, lost_pct: 0.5 }, factor: 2, bisect: 3, max: 1000, integer: false, headroom: 0.2 });
  });

  test("every fault is a config error naming the scenario, listed together", () => {
    expect(readConfigProblems(withSaturate(`  option = "speed"\n  start = 0\n  limit = { "p99" = "fast" }\n  factor = 1\n  bisect = 2.5\n  surprise = true`))).toEqual([
      "scenario sat: saturate.surprise: unknown key (have option, start, limit, factor, bisect, max, headroom)",
      `scenario sat: saturate.option: "speed" is no numeric option of this scenario's roles (use OPTION or ROLE.OPTION, e.g. "fps")`,
      "scenario sat: saturate.start: 0 is not a number > 0",
      "scenario sat: saturate.factor: 1 is not a number > 1 and <= 10",
      "scenario sat: saturate.bisect: 2.5 is not a whole number 0-10",
      `scenario sat: saturate.limit.p99: "fast" is not a number >= 0`,
    ]);
    expect(readConfigProblems(withSaturate(`  option = "fps"\n  start = 5\n  max = 2000\n  limit = {}`, `  [scenario.sweep]\n  multiply = [1, 2]`))).toEqual([
      "scenario sat: saturate.max: 2000 is over the option's maximum 1000",
      "scenario sat: saturate.limit: give a table of FIGURE = MAX, e.g. { latency_p99_ms = 100, lost_pct = 0.5 }",
      "scenario sat: saturate: a saturation search sets its option itself; it does not combine with [scenario.sweep]",
    ]);
  });
});

describe("saturation search", () => {
  test("raises x2 until a limit breaks, bisects 3 times, confirms, and summarizes the maximum over repeats", async () => {
    const saturation: Saturation = { option: "fps", start: 5, limit: { skipped_pct: 5, latency_p99_ms: 100 }, factor: 2, bisect: 3, max: 1000, integer: false, headroom: 0 };
    // Knee at 36 in repeat 1, 33 in repeat 2: above it p99 grows past 100 ms.
    const knee = [36, 33];
    const tried: string[] = [];
    const { result, runs } = await searchSaturation(saturation, 2, async (rate, repeat) => {
      tried.push(`${repeat}:${rate}`);
      return makeRun({ images_per_s: rate * 20, latency_ms: { p50: 5, p99: rate <= knee[repeat - 1]! ? 40 : 400 } });
    });
    // Each search ends with a confirmation run of the best rate that held.
    expect(tried).toEqual(["1:5", "1:10", "1:20", "1:40", "1:30", "1:35", "1:37.5", "1:35", "2:5", "2:10", "2:20", "2:40", "2:30", "2:35", "2:32.5", "2:32.5"]);
    expect({ perRepeat: result.per_repeat, mean: result.max_rate?.mean, n: result.max_rate?.n, runs: runs.map((run) => [run.repeat, run.images_per_s, run.max_rate]) }).toEqual({
      perRepeat: [35, 32.5],
      mean: 33.75,
      n: 2,
      runs: [[1, 700, 35], [2, 650, 32.5]],
    });
    expect(result.steps.find((step) => step.rate === 40)!.broke).toEqual(["latency_p99_ms 400 > 100"]);
  });

  test("a failed run and a missing figure break; a start that breaks finds no rate and says so", async () => {
    expect(judgeLimits({ lost_pct: 1 }, { ...makeRun({}), status: "failed", error: "agent pi1 unreachable" })).toEqual(["run failed: agent pi1 unreachable"]);
    expect(judgeLimits({ bogus: 1 }, makeRun({}))[0]).toStartWith("no figure bogus (figures: images_per_s,");
    const saturation: Saturation = { option: "fps", start: 5, limit: { skipped_pct: 5 }, factor: 2, bisect: 3, max: 1000, integer: false, headroom: 0 };
    const { result } = await searchSaturation(saturation, 1, async () => makeRun({ skipped_pct: 50 }));
    expect({ max: result.max_rate, perRepeat: result.per_repeat, notes: result.notes }).toEqual({
      max: undefined,
      perRepeat: [null],
      notes: ["repeat 1: no rate held twice (the start rate 5 broke, or its confirmations did)"],
    });
  });

  test("headroom: a step holds only within limit x (1 - headroom), so the rate found keeps room for a re-run", async () => {
    const saturation: Saturation = { option: "fps", start: 5, limit: { skipped_pct: 5 }, factor: 2, bisect: 0, max: 1000, integer: false, headroom: 0.2 };
    // 4.5% skipped holds the limit of 5 but not the search's 4 (5 x 0.8).
    const skipped: Record<string, number> = { "5": 0, "10": 3, "20": 4.5 };
    const { result } = await searchSaturation(saturation, 1, async (rate) => makeRun({ skipped_pct: skipped[String(rate)]! }));
    expect(result.steps.map((step) => `${step.confirm ? "confirm " : ""}${step.rate} ${step.held ? "held" : `broke (${step.broke.join("; ")})`}`)).toEqual(["5 held", "10 held", "20 broke (skipped_pct 4.5 > 4)", "confirm 10 held"]);
    expect(result.per_repeat).toEqual([10]);
  });

  test("a rate that breaks its confirmation run gives way to the next lower rate that held", async () => {
    const saturation: Saturation = { option: "fps", start: 5, limit: { skipped_pct: 5 }, factor: 2, bisect: 1, max: 1000, integer: false, headroom: 0 };
    // 20 breaks; the bisection's 15 holds once, then breaks its confirmation; 10 confirms.
    const outcomes = new Map([["5", [0]], ["10", [0, 0]], ["20", [50]], ["15", [0, 9]]]);
    const { result } = await searchSaturation(saturation, 1, async (rate) => makeRun({ skipped_pct: outcomes.get(String(rate))!.shift()! }));
    expect(result.steps.map((step) => `${step.confirm ? "confirm " : ""}${step.rate} ${step.held ? "held" : "broke"}`)).toEqual(["5 held", "10 held", "20 broke", "15 held", "confirm 15 broke", "confirm 10 held"]);
    expect(result.per_repeat).toEqual([10]);
  });
});

/**
 * case1-1to1 of scenarios.toml (1 sender to 1 receiver, the original's JSON bodies) with a
 * Pi-class sender: `cpu = 0.25` and a 50 Mbit link (`rate`), each frame posted 5 times rather
 * than 20. The link, not the CPU, sets the knee (about 9 frames/s): on this shared 2-core box
 * (load average 11-16) the CPU-only knee of the same sender moved between 3.5 and 12 frames/s
 * from one run to the next, so no rate found by one run could be held by the next; a link's
 * token bucket does not move with the box's load. With multiply 20 the link's knee (2.3
 * frames/s) came close to the CPU's once the cpu emulation also charged a frame's POSTs.
 */
function toPiClassCase1(name: string, tables: string, fps?: number): string {
  return `
[[scenario]]
name = "${name}"
${tables}
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  options = { verify = "decode" }
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  impair = { cpu = 0.25, rate = "50Mbit" }
  options = { source = "files:${FIXTURES}", frame = "640x480@95", multiply = 5, topics = 1, format = "json", concurrency = 8${fps === undefined ? "" : `, fps = ${fps}`} }
`;
}

const HEAD = `duration = "2s"\nwarmup = "1s"\n[agents]\npi1 = "http://pi1.local:7700"\nworker1 = "http://worker1.local:7700"\n`;
/**
 * Limits of the acceptance run: lost and p99 as the issue's example, p99 loose enough for
 * start-up outliers on a loaded 2-core box. The search keeps 60% of each limit free
 * (`headroom = 0.6`: skipped <= 2%): the link's knee is about 10.4 frames/s, and at 10 the
 * share skipped read 4.25% in one run and 6.8% in the next (CI), so a rate found with the
 * default 20% held its search and broke the check.
 */
const LIMIT = "{ latency_p99_ms = 1000, lost_pct = 0.5 }";

describe("saturation on case1-1to1 with a Pi-class sender", () => {
  test("reports a max rate; a fixed-rate run at it holds the limits, one at 1.3x breaks them", async () => {
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "search.toml"), HEAD + toPiClassCase1("case1-saturate", `repeat = 2\n  [scenario.saturate]\n  option = "fps"\n  start = 1\n  headroom = 0.6\n  limit = ${LIMIT}`));
    const search = await runController(["run", "search.toml", "--local", "--out", "search"], dir.path);
    expect(search.code, search.stderr).toBe(0);
    const found = ((await Bun.file(join(dir.path, "search", "results.json")).json()) as Results).scenarios[0]!.saturation!;
    const max = found.max_rate!.mean;
    console.log(search.stdout.slice(search.stdout.indexOf("saturation:")).split("\n\n")[0]);

    const fixed = (rate: number, name: string) => toPiClassCase1(name, "", rate);
    await Bun.write(join(dir.path, "check.toml"), HEAD + fixed(max, "at-max") + fixed(Math.round(max * 1.3 * 100) / 100, "at-1.3x"));
    const check = await runController(["run", "check.toml", "--local", "--out", "check"], dir.path);
    expect(check.code, check.stderr).toBe(0);
    const [atMax, over] = ((await Bun.file(join(dir.path, "check", "results.json")).json()) as Results).scenarios.map((entry) => entry.runs[0]!);
    const verdicts = { atMax: judgeLimits(found.limit, atMax!), over: judgeLimits(found.limit, over!) };
    console.log(`at max: ${JSON.stringify(verdicts.atMax)} skipped ${atMax!.skipped_pct}%; at 1.3x: ${JSON.stringify(verdicts.over)}`);
    expect({ found: max > 0, holds: verdicts.atMax, breaks: verdicts.over.length > 0 }).toEqual({ found: true, holds: [], breaks: true });
    expect(search.stdout).toContain("max sustainable fps");
    expect(await Bun.file(join(dir.path, "search", "report.html")).text()).toContain("max sustainable fps");
  });
});
