// The x64 agent executable for tests that need the compiled binary: built once per test process (shared by every file).
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const PREFIX = "framefleet-agent-x64-";
let built: Promise<string> | undefined;

/** True while process `pid` exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the build folders of test processes that have ended. `bun test` runs no `exit`
 * listener, so a run cannot remove its own folder; the next run does (one at most is left).
 */
function removeStaleBuilds(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && pid !== process.pid && !isAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/**
 * Path of `agent-linux-x64`, alone in a folder of its own (`$TMPDIR/framefleet-agent-x64-PID`)
 * with no node_modules above it, built by scripts/build.ts on the first call (later calls,
 * from any test file, reuse it). `FRAMEFLEET_AGENT_X64=PATH` hands in one built already.
 * @throws Error with the build's output when it fails.
 */
export function buildAgentX64(): Promise<string> {
  built ??= (async () => {
    if (process.env.FRAMEFLEET_AGENT_X64) return resolve(process.env.FRAMEFLEET_AGENT_X64);
    removeStaleBuilds();
    const bin = join(tmpdir(), `${PREFIX}${process.pid}`);
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin, { mode: 0o700 });
    await using build = Bun.spawn([process.execPath, "scripts/build.ts", "x64", "agent", "--outdir", bin], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(build.stdout).text(), new Response(build.stderr).text(), build.exited]);
    if (code !== 0) throw new Error(`scripts/build.ts failed:\n${stdout}${stderr}`);
    return join(bin, "agent-linux-x64");
  })();
  return built;
}
