// `controller logs NAME [--follow]`: an agent's recent log lines, from the ring its control API serves.
import { defineCommand } from "citty";
import { resolve } from "node:path";
import { ControlClient } from "../agent/client";
import { FleetError } from "../agent/errors";
import { readScenarios } from "./scenarios";

/** How often `--follow` asks for new lines (ms). */
const FOLLOW_EVERY_MS = 1000;

/** `--lines N`: 1 to 1000 (what the agent keeps). @throws FleetError BAD_FLAG naming the value. */
function readLines(value: string): number {
  const lines = Number(value);
  if (!Number.isInteger(lines) || lines < 1 || lines > 1000) throw new FleetError("BAD_FLAG", `--lines "${value}" must be a whole number 1-1000`);
  return lines;
}

/** Prints the last `lines` lines of the agent, then with `follow` every new one until interrupted. */
async function printAgentLogs(client: ControlClient, lines: number, follow: boolean): Promise<void> {
  let { lines: batch, next } = await client.logs(0, lines);
  for (;;) {
    for (const line of batch) console.log(line.text);
    if (!follow) return;
    await Bun.sleep(FOLLOW_EVERY_MS);
    ({ lines: batch, next } = await client.logs(next, 1000));
  }
}

/** `controller logs NAME`: the agent's last --lines log lines, then with --follow new ones each second. */
export const logs = defineCommand({
  meta: { name: "logs", description: "an agent's recent log lines (JSON, oldest first); --follow keeps printing new ones" },
  args: {
    name: { type: "positional", description: "agent name under [agents]", required: true },
    file: { type: "string", description: "scenarios file naming the agent", default: "scenarios.toml" },
    lines: { type: "string", description: "how many of the last lines (1-1000)", default: "100" },
    follow: { type: "boolean", description: "keep printing new lines until Ctrl-C" },
  },
  async run({ args }) {
    const set = await readScenarios(resolve(args.file));
    const url = set.agents[args.name];
    if (!url) throw new FleetError("UNKNOWN_AGENT", `no agent "${args.name}" under [agents] of ${args.file} (have ${Object.keys(set.agents).join(", ")})`);
    await printAgentLogs(new ControlClient(args.name, url, process.env.AGENT_TOKEN), readLines(args.lines), Boolean(args.follow));
  },
});
