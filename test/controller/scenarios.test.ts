// scenarios.toml: the shipped file is valid, and a bad file reports every problem at once with its scenario's name.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FleetError } from "../../agent/errors";
import { parseScenarios, readScenarios } from "../../controller/scenarios";
import { REPO } from "../helpers";

function problemsOf(text: string): string[] {
  try {
    parseScenarios(text, "test.toml");
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return (error as FleetError).message.split("\n").slice(1).map((line) => line.trim());
  }
  throw new Error("expected the file to be refused");
}

describe("scenarios", () => {
  test("the shipped scenarios.toml holds the five Raspberry Pi cases", async () => {
    const set = await readScenarios(join(REPO, "scenarios.toml"));
    const shape = set.scenarios.map((scenario) => [
      scenario.name,
      scenario.roles.find((plan) => plan.role === "sender")!.agents.length,
      scenario.roles.find((plan) => plan.role === "receiver")!.agents.length,
    ]);
    expect(shape).toEqual([
      ["case1-1to1", 1, 1],
      ["case2-2to1", 2, 1],
      ["case3-3to1", 3, 1],
      ["case4-2x2", 2, 2],
      ["case5-3x3", 3, 3],
    ]);
  });

  test("every meaning problem is reported at once, prefixed with its scenario", () => {
    const text = `
duration = "later"
[agents]
a = "http://a:7700"
[[scenario]]
name = "s1"
  [[scenario.roles]]
  role = "sender"
  agents = ["ghost"]
  options = { multiply = "lots", unknown = 1 }
[[scenario]]
name = "s1"
duration = "1parsec"
  [[scenario.roles]]
  role = "teapot"
  agents = ["a"]
`;
    expect(problemsOf(text)).toEqual([
      'file: duration: duration: "later" is not a duration (use 500ms, 30s, 2m)',
      'scenario s1: roles[0].agents: "ghost" is not in [agents]',
      "scenario s1: roles[0] (sender): options.unknown: Unexpected property (got 1); options.multiply: Expected integer (got \"lots\")",
      "scenario s1: the name is used twice",
      'scenario s1: duration: "1parsec" is not a duration (use 500ms, 30s, 2m)',
      'scenario s1: roles[0] (teapot): no role "teapot"; available: sender, receiver',
    ]);
  });

  test("shape problems name the scenario and field; TOML syntax errors are one line", () => {
    const shape = problemsOf(`[agents]\na = "ftp://a"\n[[scenario]]\nname = "s2"\nrepeat = 0\nextra = true\n  [[scenario.roles]]\n  role = "sender"\n  agents = []\n`);
    expect(shape).toEqual([
      "file: agents.a: Expected string to match '^https?://'",
      "scenario s2: extra: Unexpected property",
      "scenario s2: repeat: Expected integer to be greater or equal to 1",
      "scenario s2: roles[0].agents: Expected array length to be greater or equal to 1",
    ]);
    expect(() => parseScenarios("duration = [", "bad.toml")).toThrow(/^bad\.toml: not valid TOML/);
  });
});
