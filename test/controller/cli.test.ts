// The controller's smaller commands and flags as a user types them: `agents` (up and down), `run --keep-images`.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, runController, spawnAgent, writeOneToOneScenario } from "../helpers";

describe("controller", () => {
  test("agents: one line per agent, up with its version or DOWN with the reason; exit 1 when any is down", async () => {
    using dir = makeTempDir();
    await using agent = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--name", "pi1"]);
    const port = Number((await agent.waitFor("control_listening")).port);
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `[agents]
pi1 = "http://127.0.0.1:${port}"
gone = "http://127.0.0.1:9"
[[scenario]]
name = "tiny"
  [[scenario.roles]]
  role = "receiver"
  agents = ["pi1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["gone"]
`,
    );
    const { code, stdout } = await runController(["agents", "scenarios.toml"], dir.path);
    const version = (await Bun.file(join(import.meta.dir, "..", "..", "package.json")).json()).version;
    const lines = stdout.trim().split("\n");
    expect({ code, lines: lines.length, up: lines[0]!.startsWith("pi1") && lines[0]!.includes(` up    http://127.0.0.1:${port}  v${version}`), down: /^gone\s+DOWN\s+http:\/\/127\.0\.0\.1:9\s+AGENT_UNREACHABLE/.test(lines[1]!) }).toEqual({
      code: 1,
      lines: 2,
      up: true,
      down: true,
    });
  });

  test("run --local --keep-images keeps each run's received images, one file per saved image", async () => {
    using dir = makeTempDir();
    await writeOneToOneScenario(dir.path, "kept");
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--repeat", "1", "--keep-images", "--out", out], dir.path);
    expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
    const run = (await Bun.file(join(out, "results.json")).json()).scenarios[0].runs[0];
    const kept = join(out, "images", "kept", "run-1");
    const files = readdirSync(kept, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile() && entry.name.endsWith(".jpg"));
    expect(run.saved).toBeGreaterThan(0);
    expect(files.length).toBe(run.saved);
  });
});
