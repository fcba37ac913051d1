// The x64 agent executable for tests that need the compiled binary: built once per test process (shared by every file), removed at exit.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
let built: Promise<string> | undefined;

/**
 * Path of `agent-linux-x64`, alone in a folder of its own with no node_modules above it,
 * built by scripts/build.ts on the first call (later calls, from any test file, reuse it).
 * `FRAMEFLEET_AGENT_X64=PATH` hands in one built already instead.
 * @throws Error with the build's output when it fails.
 */
export function buildAgentX64(): Promise<string> {
  built ??= (async () => {
    if (process.env.FRAMEFLEET_AGENT_X64) return resolve(process.env.FRAMEFLEET_AGENT_X64);
    const bin = mkdtempSync(join(tmpdir(), "framefleet-agent-x64-"));
    process.once("exit", () => rmSync(bin, { recursive: true, force: true }));
    await using build = Bun.spawn([process.execPath, "scripts/build.ts", "x64", "agent", "--outdir", bin], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
    if (code !== 0) throw new Error(`scripts/build.ts failed:\n${stdout}${stderr}`);
    return join(bin, "agent-linux-x64");
  })();
  return built;
}
