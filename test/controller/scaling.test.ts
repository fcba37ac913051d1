// Speedup and efficiency for scenarios that sweep a role's agents, with the delta-method interval.
import { describe, expect, test } from "bun:test";
import type { ScenarioResult } from "../../controller/results";
import { addScaling, formatScaling } from "../../controller/scaling";
import { summarize } from "../../controller/stats";

function entry(agents: string[], rates: number[], format = "binary"): ScenarioResult {
  return {
    name: "receivers-scaling",
    point: `receiver.agents=${agents.join("+")},format=${format}`,
    swept: ["receiver.agents", "format"],
    params: { "receiver.agents": agents, format },
    runs: [],
    summary: { images_per_s: summarize(rates) },
  };
}

describe("scaling", () => {
  test("speedup and efficiency against the fewest agents with the same other parameters", () => {
    const entries = addScaling([
      entry(["w1"], [100, 102, 98]),
      entry(["w1", "w2"], [190, 194, 186]),
      entry(["w1", "w2", "w3"], [240, 250, 230]),
      entry(["w1"], [50, 50, 50], "json"),
      entry(["w1", "w2"], [100, 100, 100], "json"),
    ]);
    const figures = entries.map((item) => [item.scaling!.count, item.scaling!.base_count, item.scaling!.speedup.toFixed(3), item.scaling!.efficiency.toFixed(3)]);
    expect(figures).toEqual([
      [1, 1, "1.000", "1.000"],
      [2, 1, "1.900", "0.950"],
      [3, 1, "2.400", "0.800"],
      [1, 1, "1.000", "1.000"],
      [2, 1, "2.000", "1.000"],
    ]);
    const [low, high] = entries[1]!.scaling!.speedup_ci95;
    expect(low).toBeLessThan(1.9);
    expect(high).toBeGreaterThan(1.9);
    expect(entries[4]!.scaling!.speedup_ci95).toEqual([2, 2]);
    expect(formatScaling(entries).split("\n")[2]).toContain("1.00x");
  });

  test("entries without an agents sweep are left alone and print nothing", () => {
    const plain: ScenarioResult = { name: "p", params: {}, runs: [], summary: { images_per_s: summarize([1, 2]) } };
    expect(addScaling([plain])).toEqual([plain]);
    expect(formatScaling([plain])).toBe("");
  });
});
