// scenarios.toml: the shipped file is valid, and a bad file reports every problem at once with its scenario's name.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FleetError } from "../../agent/errors";
import { roles } from "../../agent/roles";
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
  test("the shipped scenarios.toml holds the five Raspberry Pi cases first (4 and 5 paired, with spread variants), and the speedup sweeps", async () => {
    const set = await readScenarios(join(REPO, "scenarios.toml"));
    const shape = set.scenarios.map((scenario) => [
      scenario.name,
      scenario.points[0]!.roles.find((plan) => plan.role === "sender")?.agents.length,
      scenario.points[0]!.roles.find((plan) => plan.role === "receiver")?.agents.length,
    ]);
    expect(shape.slice(0, 5)).toEqual([
      ["case1-1to1", 1, 1],
      ["case2-2to1", 2, 1],
      ["case3-3to1", 3, 1],
      ["case4-2x2", 2, 2],
      ["case5-3x3", 3, 3],
    ]);
    const targetsOf = (name: string) => set.scenarios.find((scenario) => scenario.name === name)!.points[0]!.roles.find((plan) => plan.role === "sender")!.targets;
    expect(["case4-2x2", "case5-3x3", "case4-2x2-spread", "case5-3x3-spread"].map(targetsOf)).toEqual(["paired", "paired", "all", "all"]);
    const scaling = set.scenarios.find((scenario) => scenario.name === "receivers-scaling")!;
    expect(scaling.points.map((point) => point.roles[0]!.agents.length)).toEqual([1, 2, 3]);
    const speedup = set.scenarios.find((scenario) => scenario.name === "grayscale-speedup")!;
    const workersOf = (point: (typeof speedup.points)[number]) => point.roles.find((plan) => plan.role === "grayscale-worker")!;
    expect(speedup.points.map((point) => [workersOf(point).agents.length, workersOf(point).impair])).toEqual([
      [1, { cpu: 0.25 }],
      [4, { cpu: 0.25 }],
      [8, { cpu: 0.25 }],
      [1, { cpu: 1 }],
      [4, { cpu: 1 }],
      [8, { cpu: 1 }],
    ]);
    expect(speedup.points.map((point) => point.roles.find((plan) => plan.role === "manager")!.options.split)).toEqual(Array(6).fill("stripes"));
    const blur = set.scenarios.find((scenario) => scenario.name === "blur-stream-speedup")!;
    expect(blur.points.map((point) => workersOf(point).agents.length)).toEqual([1, 2, 3]);
    const split = set.scenarios.find((scenario) => scenario.name === "grayscale-split")!;
    expect(split.points.map((point) => point.roles.find((plan) => plan.role === "manager")!.options.split)).toEqual(["stripes", "file", "auto"]);
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
      `scenario s1: roles[0] (teapot): no role "teapot"; available: ${roles.map((role) => role.name).join(", ")}`,
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

describe("manager scenarios", () => {
  test("two manager agents, and workers without a manager, are refused with the reason", () => {
    const text = `
[agents]
a = "http://a:7700"
b = "http://b:7700"
[[scenario]]
name = "two-managers"
  [[scenario.roles]]
  role = "manager"
  agents = ["a", "b"]
[[scenario]]
name = "no-manager"
  [[scenario.roles]]
  role = "grayscale-worker"
  agents = ["a"]
`;
    expect(problemsOf(text)).toEqual([
      'scenario two-managers: 2 manager agents; workers dial one manager over TCP, so a scenario has one (or give broker = "nats" to share the workers)',
      'scenario no-manager: workers need a "manager" role to dial',
    ]);
  });
});

describe("sweeps", () => {
  const base = `
[agents]
pi1 = "http://pi1:7700"
w1 = "http://w1:7700"
[[scenario]]
name = "case1-1to1"
warmup = "1s"
medium = "wifi-5ghz"
  [[scenario.roles]]
  role = "receiver"
  agents = ["w1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "synthetic", multiply = 20 }
`;

  test("multiply = [20, 200] gives two points with their parameters; several lists give their product", () => {
    const one = parseScenarios(`${base}  [scenario.sweep]\n  multiply = [20, 200]\n`).scenarios[0]!;
    expect(one.points.map((point) => [point.label, point.params, point.roles[1]!.options.multiply])).toEqual([
      ["multiply=20", { multiply: 20 }, 20],
      ["multiply=200", { multiply: 200 }, 200],
    ]);
    expect({ swept: one.swept, warmupMs: one.warmupMs, medium: one.medium }).toEqual({ swept: ["multiply"], warmupMs: 1000, medium: "wifi-5ghz" });
    const two = parseScenarios(`${base}  [scenario.sweep]\n  sender.format = ["binary", "json"]\n  sender.impair.delay = ["0ms", "100ms"]\n`).scenarios[0]!;
    expect(two.points.map((point) => [point.label, point.roles[1]!.options.format, point.roles[1]!.impair?.delay, point.roles[0]!.impair])).toEqual([
      ["sender.format=binary,sender.impair.delay=0ms", "binary", "0ms", undefined],
      ["sender.format=binary,sender.impair.delay=100ms", "binary", "100ms", undefined],
      ["sender.format=json,sender.impair.delay=0ms", "json", "0ms", undefined],
      ["sender.format=json,sender.impair.delay=100ms", "json", "100ms", undefined],
    ]);
  });

  test("an empty sweep, a key no role has and a value the schema refuses are all reported", () => {
    expect(problemsOf(`${base}  [scenario.sweep]\n  multiply = []\n`)).toEqual([
      "scenario case1-1to1: sweep: multiply: a sweep needs a non-empty list of numbers, strings or booleans",
    ]);
    expect(problemsOf(`${base}  [scenario.sweep]\n  colour = [1, 2]\n`)).toEqual([
      "scenario case1-1to1: sweep: colour: no role of this scenario has that option (use OPTION, ROLE.OPTION, impair.FIELD, ROLE.impair.FIELD, ROLE.agents or medium)",
    ]);
    expect(problemsOf(`${base}  [scenario.sweep]\n  sender.fps = [10, -5]\n`)).toEqual([
      "scenario case1-1to1 (sender.fps=-5): roles[1] (sender): options.fps: Expected number to be greater or equal to 0 (got -5)",
    ]);
  });
});
