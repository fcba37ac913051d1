// Shared test helpers: roles started in process with automatic clean-up, temp folders, fixture photos.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkOptions } from "../agent/control/options";
import { findRole } from "../agent/roles";
import type { RoleContext, RoleHandle } from "../agent/roles/types";

export const FIXTURES = join(import.meta.dir, "fixtures");
export const REPO = join(import.meta.dir, "..");

/** The fixture photos (name -> bytes). */
export function readPhotos(): Map<string, Uint8Array<ArrayBuffer>> {
  return new Map(
    readdirSync(FIXTURES)
      .filter((name) => name.endsWith(".jpg"))
      .map((name) => [name, new Uint8Array(readFileSync(join(FIXTURES, name)))]),
  );
}

/** A temp folder removed on dispose. */
export function makeTempDir(prefix = "framefleet-"): { path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

export const quietContext: RoleContext = { agent: "test", host: "127.0.0.1", log: () => {} };

/**
 * Starts a role in process with options checked as the control API checks them; stopped on
 * dispose. `context` overrides `quietContext` (e.g. `{ token }` for an agent with a shared secret).
 */
export async function startRole(name: string, options: Record<string, unknown>, context: Partial<RoleContext> = {}): Promise<RoleHandle & AsyncDisposable> {
  const role = findRole(name);
  const handle = await role.start(checkOptions(role.options, options, "api"), { ...quietContext, ...context });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await handle.stop();
  };
  return { ...handle, stop, [Symbol.asyncDispose]: stop };
}

/** Every file under `dir/topic` folders, as topic -> file names (the receiver's own `.framefleet` is no topic). */
export function listSaved(dir: string): Map<string, string[]> {
  const topics = readdirSync(dir, { withFileTypes: true }).filter((entry) => entry.isDirectory() && !entry.name.startsWith("."));
  return new Map(topics.map((topic) => [topic.name, readdirSync(join(dir, topic.name)).sort()]));
}

/** A spawned agent process with its stderr collected; killed on dispose. */
export interface AgentProcess extends AsyncDisposable {
  process: Bun.Subprocess<"ignore", "pipe", "pipe">;
  /** Resolves with the first JSON log line whose `event` is `event`. */
  waitFor(event: string): Promise<Record<string, unknown>>;
  /** Everything the agent wrote to stderr so far. */
  stderr(): string;
}

/** Spawns `command` (the agent: `bun agent/main.ts` or the compiled binary) with `args` in `cwd`. */
export function spawnAgent(
  args: string[],
  command = [process.execPath, join(REPO, "agent", "main.ts")],
  cwd = REPO,
  env: Record<string, string | undefined> = process.env,
): AgentProcess {
  const child = Bun.spawn([...command, ...args], { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...env, AGENT_TOKEN: "" } });
  let text = "";
  let ended = false;
  const waiters: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    for await (const bytes of child.stderr) {
      const chunk = decoder.decode(bytes, { stream: true });
      text += chunk;
      for (const wake of waiters.splice(0)) wake();
    }
    ended = true;
    for (const wake of waiters.splice(0)) wake();
  })();
  const waitFor = async (event: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const line = text.split("\n").find((candidate) => candidate.includes(`"event":"${event}"`));
      if (line) return JSON.parse(line);
      if (ended) throw new Error(`agent ended before ${event}: ${text}`);
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return {
    process: child,
    waitFor,
    stderr: () => text,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.exited;
    },
  };
}

/** Runs `bun controller/main.ts ARGS` in `cwd` (with `env` added to this process's) to its end; answers its exit code, stdout and stderr. */
export async function runController(args: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = Bun.spawn([process.execPath, join(REPO, "controller", "main.ts"), ...args], { cwd, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...env } });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

/** How long a wait may take before it fails: generous, for a loaded 2-core box (a bound, not a speed claim). */
export const WAIT_DEADLINE_MS = 60_000;

/**
 * `waiting`, or a rejection after `deadlineMs` naming `what` and the state `seen()` reads then:
 * the deadline of every wait on an event, so a test that waits in vain fails with what it saw.
 */
export function withDeadline<T>(what: string, waiting: Promise<T>, seen: () => unknown, deadlineMs = WAIT_DEADLINE_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${deadlineMs} ms for ${what}; last seen: ${JSON.stringify(seen())?.slice(0, 2000)}`)), deadlineMs);
  });
  return Promise.race([waiting, expired]).finally(() => clearTimeout(timer));
}

/**
 * Polls `read()` every `everyMs` until `done(value)` holds and answers that value. Past
 * `deadlineMs` it throws, naming `what` and the last value seen, so a stuck test says
 * what state it was in instead of running into the suite's timeout.
 */
export async function waitUntil<T>(what: string, read: () => T | Promise<T>, done: (value: T) => boolean, deadlineMs = WAIT_DEADLINE_MS, everyMs = 20): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`waited ${deadlineMs} ms for ${what}; last seen: ${JSON.stringify(value)?.slice(0, 2000)}`);
    await Bun.sleep(everyMs);
  }
}

/**
 * Writes `dir/scenarios.toml` with one local scenario `name`: a sender on pi1 (the fixture
 * photos, 10 frames/s, multiply 1) to a receiver on worker1, 600 ms long. `fileTables` goes
 * before the scenario (e.g. a file-wide `[thresholds]`), `scenarioTables` inside it.
 */
export async function writeOneToOneScenario(dir: string, name: string, fileTables = "", scenarioTables = ""): Promise<void> {
  await Bun.write(
    join(dir, "scenarios.toml"),
    `duration = "600ms"
[agents]
pi1 = "http://pi1.local:7700"
worker1 = "http://worker1.local:7700"
${fileTables}
[[scenario]]
name = "${name}"
${scenarioTables}
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1"]
  options = { source = "files:${FIXTURES}", multiply = 1, fps = 10 }
`,
  );
}
