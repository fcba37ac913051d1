// Local mode: starts one agent process per agent name on loopback and hands back their control clients.
import { mkdir, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { arch } from "node:os";
import { dirname, join } from "node:path";
import { ControlClient } from "../agent/client";
import { FleetError } from "../agent/errors";
import type { NetnsFleet } from "./netns";

/** How long an agent may take to start serving its control API (ms); the first compiled start fills a cache. */
const START_TIMEOUT_MS = 20_000;
/** How long an agent may take to exit after SIGTERM before it is killed (ms). */
const STOP_TIMEOUT_MS = 15_000;

/** Agents running as local processes. */
export interface LocalAgents {
  clients: Map<string, ControlClient>;
  /** Sends SIGTERM to every agent (they drain and exit), SIGKILL after 15 s. */
  stop(): Promise<void>;
}

/** The agent command: the compiled agent beside a compiled controller, else `bun agent/main.ts`. */
function agentCommand(): string[] {
  if ((Bun as { isStandaloneExecutable?: boolean }).isStandaloneExecutable)
    return [join(dirname(process.execPath), `agent-linux-${arch()}`)];
  return [process.execPath, join(import.meta.dir, "..", "agent", "main.ts")];
}

/** Waits until the agent's log shows its control port; fails with the log's tail if it exits first. */
async function waitForControlPort(process: Bun.Subprocess, logPath: string, name: string): Promise<number> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const text = await Bun.file(logPath).text().catch(() => "");
    const match = /"event":"control_listening","port":(\d+)/.exec(text);
    if (match) return Number(match[1]);
    if (process.exitCode !== null)
      throw new FleetError("AGENT_FAILED", `local agent ${name} exited (${process.exitCode}): ${text.trim().split("\n").slice(-3).join(" | ")}`, 500);
    await Bun.sleep(50);
  }
  throw new FleetError("AGENT_FAILED", `local agent ${name} did not start within ${START_TIMEOUT_MS} ms (log: ${logPath})`, 500);
}

/**
 * Starts agents `names` on 127.0.0.1 with free ports and `token` (default a fresh random one), working in
 * `cwd` (so relative source paths resolve as in the scenarios file) with output under
 * `dataDir`; each agent's log goes to `dataDir/logs/NAME.log`. They read files anywhere
 * (`--allow-files-anywhere`): the scenarios file is this user's own, on this machine. With
 * `netns`, each agent runs in its own namespace of that fleet, on its address there.
 * @throws FleetError AGENT_FAILED when an agent does not come up (the others are stopped).
 */
export async function startLocalAgents(names: string[], cwd: string, dataDir: string, netns?: NetnsFleet, token = randomBytes(16).toString("hex")): Promise<LocalAgents> {
  await mkdir(join(dataDir, "logs"), { recursive: true });
  const processes: Bun.Subprocess[] = [];
  const clients = new Map<string, ControlClient>();
  const stop = async (): Promise<void> => {
    for (const child of processes) child.kill("SIGTERM");
    await Promise.all(
      processes.map(async (child) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
        await child.exited;
        clearTimeout(timer);
      }),
    );
  };
  try {
    await Promise.all(
      names.map(async (name) => {
        const logPath = join(dataDir, "logs", `${name}.log`);
        // A log left by an earlier run in the same --out would show a dead agent's port.
        await writeFile(logPath, "");
        const host = netns ? netns.addressOf(name) : "127.0.0.1";
        const command = [...agentCommand(), "--control-port", "0", "--host", host, "--name", name, "--data-dir", dataDir, "--allow-files-anywhere"];
        const child = Bun.spawn(netns ? netns.wrap(name, command) : command, {
          cwd,
          env: { ...process.env, AGENT_TOKEN: token },
          stdin: "ignore",
          stdout: "ignore",
          stderr: Bun.file(logPath),
        });
        processes.push(child);
        const port = await waitForControlPort(child, logPath, name);
        clients.set(name, new ControlClient(name, `http://${host}:${port}`, token));
      }),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { clients, stop };
}
