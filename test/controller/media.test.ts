// [media] profiles: a medium shapes every agent's link with Framefleet's own impairment; medium-wifi-vs-ethernet measured against its caps.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { overMedia, parseScenarios, toAgentImpairment } from "../../controller/scenarios";
import { REPO, makeTempDir, runController } from "../helpers";

const FILE = `
[agents]
pi1 = "http://pi1:7700"
worker1 = "http://worker1:7700"
[media]
wifi = { rate = "100Mbit", delay = "3ms", jitter = "2ms" }
wired = { rate = "1Gbit" }
[[scenario]]
name = "over-both"
  [scenario.sweep]
  medium = ["wifi", "wired"]
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  impair = { delay = "10ms", cpu = 0.5 }
  options = { source = "synthetic:64x48" }
[[scenario]]
name = "labelled"
medium = "ethernet"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "synthetic:64x48" }
`;

function configError(text: string): string {
  try {
    parseScenarios(text);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("the file was accepted");
}

describe("[media] profiles", () => {
  test("a swept medium shapes every agent of every role beneath the role's own impairment; a name not in [media] is a label only", () => {
    const [overBoth, labelled] = parseScenarios(FILE).scenarios;
    const impairments = overBoth!.points.map((point) => [point.medium, point.roles.map((plan) => toAgentImpairment(plan, plan.agents[0]!))]);
    expect(impairments).toEqual([
      ["wifi", [{ rate: "100Mbit", delay: "3ms", jitter: "2ms" }, { rate: "100Mbit", delay: "10ms", jitter: "2ms", cpu: 0.5 }]],
      ["wired", [{ rate: "1Gbit" }, { rate: "1Gbit", delay: "10ms", cpu: 0.5 }]],
    ]);
    expect(labelled!.points.map((point) => [point.medium, point.roles.map((plan) => toAgentImpairment(plan, plan.agents[0]!))])).toEqual([["ethernet", [undefined, undefined]]]);
  });

  test("a swept medium not in [media] and a bad profile are config errors naming where; --medium names unknown profiles", () => {
    const message = configError(FILE.replace('medium = ["wifi", "wired"]', 'medium = ["wifi", "wify"]').replace('wired = { rate = "1Gbit" }', 'wired = { rate = "1GB/s" }'));
    expect(message).toContain('scenario over-both: sweep: medium: "wify" is not a [media] profile (have wifi, wired)');
    expect(message).toContain('file: media.wired.rate: rate: "1GB/s" is not a rate');
    const set = parseScenarios(FILE);
    const crossed = overMedia(set.scenarios[1]!, ["wired", "wifi"], set.media);
    expect([crossed.swept, crossed.points.map((point) => [point.label, point.medium, point.roles[1]!.link])]).toEqual([
      ["medium"],
      [
        ["medium=wired", "wired", { rate: "1Gbit" }],
        ["medium=wifi", "wifi", { rate: "100Mbit", delay: "3ms", jitter: "2ms" }],
      ],
    ]);
    expect(() => overMedia(set.scenarios[1]!, ["wifi", "fibre"], set.media)).toThrow("--medium wifi,fibre: no [media] profile fibre (have wifi, wired)");
    expect(() => overMedia(set.scenarios[0]!, ["wifi"], set.media)).toThrow("--medium: scenario over-both sweeps medium itself");
  });

  // The Wi-Fi profile's rate is lowered to 20 Mbit/s here so that a loaded 2-core box is bound by the link, not by its CPU
  // (the shipped 100 Mbit/s is reached on a quiet one: docs/performance.md); everything else is the shipped scenario.
  test("medium-wifi-vs-ethernet from the shipped file, Wi-Fi at 20 Mbit/s: each Wi-Fi run sends at most 10% over its links' cap (2 x 20 Mbit/s) and is judged link-bound; Ethernet is not", async () => {
    using dir = makeTempDir();
    const shipped = await Bun.file(join(REPO, "scenarios.toml")).text();
    const slowWifi = shipped.replace('wifi-5ghz = { rate = "100Mbit"', 'wifi-5ghz = { rate = "20Mbit"');
    expect(slowWifi).not.toBe(shipped);
    await Bun.write(join(dir.path, "scenarios.toml"), slowWifi.replaceAll("files:test/fixtures", `files:${join(REPO, "test", "fixtures")}`));
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--only", "medium-wifi-vs-ethernet", "--repeat", "2", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const [wifi, ethernet] = (await Bun.file(join(out, "results.json")).json()).scenarios;
    expect([wifi.medium, ethernet.medium]).toEqual(["wifi-5ghz", "ethernet-1g"]);
    // The ceiling only (load can lower a rate, never raise it); the verdict says whether the links were what bound it.
    expect({
      underTheCap: wifi.runs.map((run: { sent_mbit_per_s: number }) => run.sent_mbit_per_s <= 40 * 1.1),
      wifiBound: wifi.runs.map((run: { verdict: { bottleneck: string | null } }) => run.verdict.bottleneck?.startsWith("link ") ?? false),
      ethernetBound: ethernet.runs.map((run: { verdict: { bottleneck: string | null } }) => run.verdict.bottleneck?.startsWith("link ") ?? false),
    }).toEqual({ underTheCap: [true, true], wifiBound: [true, true], ethernetBound: [false, false] });
  });
});
