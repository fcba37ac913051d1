// Child processes of the load runs: spawn, wait for a JSON log event, read CPU time, always kill.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

/** The repository root. */
export const REPO = join(import.meta.dir, "..");
/** The agent entry every role run spawns. */
export const AGENT = join(REPO, "agent", "main.ts");

const CLOCK_TICKS_PER_S = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
const live = new Set<Bun.Subprocess>();
const tempDirs = new Set<string>();

/** A spawned `bun` process with its stdout and stderr collected. */
export interface Child {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Resolves with the first JSON line on stderr whose `event` is `event`. */
  waitForEvent(event: string): Promise<Record<string, unknown>>;
  /** Resolves once the process has exited, with its whole stdout and stderr. */
  finished: Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Spawns `bun ARGS` in the repository; the process is killed by `killAll()` if still alive. */
export function spawnBun(args: string[]): Child {
  const proc = Bun.spawn([process.execPath, ...args], { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, AGENT_TOKEN: "" } });
  live.add(proc);
  let errText = "";
  let ended = false;
  const waiters: (() => void)[] = [];
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    for await (const bytes of proc.stderr) {
      errText += decoder.decode(bytes, { stream: true });
      for (const wake of waiters.splice(0)) wake();
    }
    ended = true;
    for (const wake of waiters.splice(0)) wake();
  })();
  const stdout = new Response(proc.stdout).text();
  const finished = Promise.all([proc.exited, stdout, stderrDone]).then(([code, out]) => {
    live.delete(proc);
    return { code, stdout: out, stderr: errText };
  });
  const waitForEvent = async (event: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const line = errText.split("\n").find((candidate) => candidate.includes(`"event":"${event}"`));
      if (line) return JSON.parse(line);
      if (ended) throw new Error(`${args.join(" ")} ended before ${event}: ${errText.slice(-2000)}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { proc, waitForEvent, finished };
}

/** Sends SIGTERM and waits for the exit; answers the last stdout line parsed as JSON (a role's final figures). */
export async function stopChild(child: Child): Promise<Record<string, unknown> | undefined> {
  child.proc.kill("SIGTERM");
  const { stdout } = await child.finished;
  return readLastJson(stdout);
}

/** The last line of `text` parsed as JSON, or undefined. */
export function readLastJson(text: string): Record<string, unknown> | undefined {
  const last = text.trim().split("\n").at(-1);
  try {
    return last ? JSON.parse(last) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, ms) used so far by a live process, from /proc/PID/stat. */
export function readCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
}

/** CPU time (ms) an exited child used over its whole life, from its rusage. */
export function readExitedCpuMs(child: Child): number {
  return Number(child.proc.resourceUsage()?.cpuTime.total ?? 0n) / 1000;
}

/** Makes a fresh `framefleet-bench-*` folder under `parent`; `removeTempDir` or `cleanUp` removes it. */
export function makeTempDir(parent: string): string {
  const path = mkdtempSync(`${parent}/framefleet-bench-`);
  tempDirs.add(path);
  return path;
}

/** Removes a folder made by `makeTempDir`. */
export function removeTempDir(path: string): void {
  rmSync(path, { recursive: true, force: true });
  tempDirs.delete(path);
}

/** Kills (SIGKILL) every child still alive, waits for each, then removes the temp folders left. */
export async function cleanUp(): Promise<void> {
  const procs = [...live];
  for (const proc of procs) proc.kill("SIGKILL");
  await Promise.all(procs.map((proc) => proc.exited));
  for (const path of [...tempDirs]) removeTempDir(path);
}

/** Runs a shell-less command to its end and answers how long it took (ms). */
export function timeCommand(command: string[]): number {
  const began = performance.now();
  const result = Bun.spawnSync(command, { stdout: "ignore", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${command.join(" ")} failed: ${result.stderr.toString()}`);
  return performance.now() - began;
}
