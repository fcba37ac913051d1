// Version skew: `controller agents` says which agents match the controller's version; `controller run` refuses a fleet that does not, unless --allow-skew.
import { describe, expect, test } from "bun:test";
import { cpSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { formatThrottle, formatUptime } from "../../controller/fleet";
import { parseThrottled } from "../../agent/telemetry/parse";
import { REPO, makeTempDir, runController, spawnAgent, writeOneToOneScenario } from "../helpers";

const OTHER_VERSION = "0.0.1-older";

/** A copy of the agent's source whose package.json says OTHER_VERSION: an agent of another release, run from source (nothing built). */
function copyOlderAgent(dir: string): string[] {
  cpSync(join(REPO, "agent"), join(dir, "agent"), { recursive: true });
  for (const shared of ["web", "models", "node_modules", "test"]) symlinkSync(join(REPO, shared), join(dir, shared));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ ...pkg, version: OTHER_VERSION }));
  return [process.execPath, join(dir, "agent", "main.ts")];
}

describe("fleet lines", () => {
  test("throttling flags (now and since boot, with the raw value), none, unknown off a Pi; uptime", () => {
    expect({
      flags: [parseThrottled("throttled=0x50005"), parseThrottled("0"), null].map(formatThrottle),
      uptime: [12, 250, 7500, 3 * 86400 + 4 * 3600].map(formatUptime),
    }).toEqual({
      flags: ["under_voltage,throttled,under_voltage_occurred,throttled_occurred (0x50005)", "none", "unknown"],
      uptime: ["12s", "4m10s", "2h5m", "3d4h"],
    });
  });
});

describe("version skew", () => {
  test("agents marks the older agent; run refuses with one line for it (exit 2), and --allow-skew runs", async () => {
    using dir = makeTempDir();
    using older = makeTempDir();
    const flags = ["--control-port", "0", "--host", "127.0.0.1", "--allow-files-anywhere"];
    await using pi1 = spawnAgent([...flags, "--name", "pi1"], undefined, dir.path);
    await using worker1 = spawnAgent([...flags, "--name", "worker1"], copyOlderAgent(older.path), dir.path);
    const [pi1Port, workerPort] = await Promise.all([pi1, worker1].map(async (agent) => Number((await agent.waitFor("control_listening")).port)));
    await writeOneToOneScenario(dir.path, "skewed");
    const file = join(dir.path, "scenarios.toml");
    const text = await Bun.file(file).text();
    await Bun.write(file, text.replace("http://pi1.local:7700", `http://127.0.0.1:${pi1Port}`).replace("http://worker1.local:7700", `http://127.0.0.1:${workerPort}`));

    const agents = await runController(["agents", "scenarios.toml"], dir.path);
    const lines = agents.stdout.trim().split("\n");
    expect({ code: agents.code, pi1: lines[0]!.includes(`v${pkg.version} (matches controller)`), worker1: lines[1]!.includes(`v${OTHER_VERSION} (SKEW: controller is v${pkg.version})`), throttled: lines.every((line) => line.includes("throttled: unknown")) }).toEqual({
      code: 0,
      pi1: true,
      worker1: true,
      throttled: true,
    });

    const refused = await runController(["run", "scenarios.toml", "--out", join(dir.path, "out")], dir.path);
    const skewLines = refused.stderr.split("\n").filter((line) => line.includes(" runs v"));
    expect({ code: refused.code, skewLines }).toEqual({
      code: 2,
      skewLines: [`  agent worker1 (http://127.0.0.1:${workerPort}) runs v${OTHER_VERSION}, the controller v${pkg.version}`],
    });
    expect(refused.stderr).toContain("--allow-skew");

    const allowed = await runController(["run", "scenarios.toml", "--allow-skew", "--out", join(dir.path, "out")], dir.path);
    expect({ code: allowed.code, stderr: allowed.code === 0 ? "" : allowed.stderr }).toEqual({ code: 0, stderr: "" });
  });
});
