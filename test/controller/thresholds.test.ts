// Thresholds (k6-style goals) in scenarios.toml: parsing, judging on summaries, config errors, and a run that misses one exits 99.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parseScenarios } from "../../controller/scenarios";
import { judgeThresholds, parseThresholds } from "../../controller/thresholds";
import { makeTempDir, runController, writeOneToOneScenario } from "../helpers";

const summary = {
  images_per_s: { mean: 812.4, std: 6.2, ci95: [802.3, 817.9] as [number, number], n: 3 },
  lost: { mean: 0, std: 0, ci95: [0, 0] as [number, number], n: 3 },
  latency_p99_ms: { mean: 61, std: 2, ci95: [58, 64] as [number, number], n: 3 },
};

describe("thresholds", () => {
  test("each key reads the mean or a bound of the 95% interval; a figure the results lack fails, naming those there are", () => {
    const { thresholds, problems } = parseThresholds({
      images_per_s: ">= 500",
      "ci_low(images_per_s)": ">= 805",
      "ci_high(latency_p99_ms)": "< 65",
      lost: "== 0",
      lost_frames: "== 0",
    });
    expect(problems).toEqual([]);
    expect(judgeThresholds(thresholds, summary)).toEqual([
      { key: "images_per_s", expression: ">= 500", actual: 812.4, pass: true },
      { key: "ci_low(images_per_s)", expression: ">= 805", actual: 802.3, pass: false },
      { key: "ci_high(latency_p99_ms)", expression: "< 65", actual: 64, pass: true },
      { key: "lost", expression: "== 0", actual: 0, pass: true },
      { key: "lost_frames", expression: "== 0", pass: false, reason: 'no figure "lost_frames" in these results (figures: images_per_s, lost, latency_p99_ms)' },
    ]);
  });

  test("bad keys and expressions are config errors naming the scenario, listed with every other problem", () => {
    const file = `[agents]
a = "http://a:1"
b = "http://b:1"
[thresholds]
"mean(images_per_s)" = ">= 1"
[[scenario]]
name = "goals"
  [scenario.thresholds]
  images_per_s = "at least 500"
  lost = 0
  [[scenario.roles]]
  role = "receiver"
  agents = ["a"]
  [[scenario.roles]]
  role = "sender"
  agents = ["b"]
`;
    let message = "";
    try {
      parseScenarios(file);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n").slice(1).map((line) => line.trim())).toEqual([
      'file: thresholds."mean(images_per_s)": the key must be FIGURE, ci_low(FIGURE) or ci_high(FIGURE), e.g. images_per_s',
      'scenario goals: thresholds."images_per_s": "at least 500" is not "OP NUMBER" with OP one of >= > <= < == !=, e.g. ">= 500"',
      'scenario goals: thresholds."lost": 0 is not "OP NUMBER" with OP one of >= > <= < == !=, e.g. ">= 500"',
    ]);
  });

  test("a run that misses a goal exits 99; results.json, the table and report.html say which held", async () => {
    using dir = makeTempDir();
    await writeOneToOneScenario(dir.path, "goals", `[thresholds]\nlost = "== 0"`, `  [scenario.thresholds]\n  images_per_s = "> 0"\n  "ci_low(images_per_s)" = ">= 1000000"`);
    const out = join(dir.path, "out");
    const { code, stdout } = await runController(["run", "scenarios.toml", "--local", "--out", out], dir.path);
    const outcomes = (await Bun.file(join(out, "results.json")).json()).scenarios[0].thresholds as { key: string; pass: boolean }[];
    const report = await Bun.file(join(out, "report.html")).text();
    expect({
      code,
      outcomes: outcomes.map((outcome) => [outcome.key, outcome.pass]),
      printed: stdout.split("\n").filter((line) => /^(PASS|FAIL) {2}goals/.test(line)).map((line) => line.slice(0, 4)),
      report: [report.includes('<table class="thresholds">'), (report.match(/class="fail">FAIL/g) ?? []).length],
    }).toEqual({
      code: 99,
      outcomes: [["lost", true], ["images_per_s", true], ["ci_low(images_per_s)", false]],
      printed: ["PASS", "PASS", "FAIL"],
      report: [true, 1],
    });
  });
});
