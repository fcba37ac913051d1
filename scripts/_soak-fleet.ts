// The soak's agents: real `bun agent/main.ts --role ...` processes on loopback, their ports learnt from their logs, sampled by pid.
import { readdirSync } from "node:fs";
import { join } from "node:path";

const REPO = join(import.meta.dir, "..");

/** One agent process of the soak. */
export interface SoakAgent {
  name: string;
  pid: number;
  /** The control API's port (health). */
  controlPort: number;
  /** Fields of the role's `*_listening` log line (its ports), when it has one. */
  listening: Record<string, unknown>;
  /** Sends SIGTERM and waits; answers the final figures the role printed on stdout, if any. */
  stop(): Promise<Record<string, unknown> | undefined>;
  /** Everything it wrote to stderr so far (JSON log lines). */
  log(): string;
}

/**
 * Starts `bun agent/main.ts --host 127.0.0.1 --control-port 0 --role ROLE ARGS` and waits for
 * its control API and, when `waitFor` is given, the role's log line of that event.
 * `AGENT_TOKEN` is passed on as it is in the environment (workers need the manager's).
 */
export async function startAgent(name: string, role: string, args: string[], waitFor?: string): Promise<SoakAgent> {
  const child = Bun.spawn([process.execPath, join(REPO, "agent", "main.ts"), "--host", "127.0.0.1", "--control-port", "0", "--name", name, "--role", role, ...args], {
    cwd: REPO,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let text = "";
  const wakers: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    for await (const bytes of child.stderr) {
      text = (text + decoder.decode(bytes, { stream: true })).slice(-200_000);
      for (const wake of wakers.splice(0)) wake();
    }
    for (const wake of wakers.splice(0)) wake();
  })();
  const stdout = new Response(child.stdout).text();
  const findEvent = async (event: string): Promise<Record<string, unknown>> => {
    for (;;) {
      const line = text.split("\n").find((candidate) => candidate.includes(`"event":"${event}"`));
      if (line) return JSON.parse(line) as Record<string, unknown>;
      if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}) before ${event}: ${text.slice(-2000)}`);
      await Promise.race([new Promise<void>((resolve) => wakers.push(resolve)), Bun.sleep(200)]);
    }
  };
  const control = await findEvent("control_listening");
  const listening = waitFor ? await findEvent(waitFor) : {};
  return {
    name,
    pid: child.pid,
    controlPort: Number(control.port),
    listening,
    log: () => text,
    async stop() {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await child.exited;
      clearTimeout(killer);
      const last = (await stdout).trim().split("\n").pop();
      try {
        return last ? (JSON.parse(last) as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

/** One sample of one agent. */
export interface SoakSample {
  /** Seconds since the soak began. */
  t: number;
  rss_mb: number;
  fds: number;
  lag_ms: number;
}

/** Open file descriptors of `pid` (entries of /proc/PID/fd), or -1 when it cannot be read. */
export function countFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** Asks the agent's /v1/health for RSS and event-loop lag, and /proc for its fds. */
export async function sampleAgent(agent: SoakAgent, t: number): Promise<SoakSample | undefined> {
  const token = process.env.AGENT_TOKEN;
  try {
    const response = await fetch(`http://127.0.0.1:${agent.controlPort}/v1/health`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(900),
    });
    const health = (await response.json()) as { memory: { rss: number }; event_loop_lag_ms?: number };
    return { t, rss_mb: Math.round((health.memory.rss / 1048576) * 10) / 10, fds: countFds(agent.pid), lag_ms: health.event_loop_lag_ms ?? -1 };
  } catch {
    return undefined;
  }
}
