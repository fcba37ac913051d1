// `controller deploy`: the right binary, the fleet's token and the hardened service on every agent's box over SSH (or this machine), all boxes at once.
import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { EXIT, FleetError } from "../../agent/errors";
import { readScenarios } from "../scenarios";
import { createLocalBox, createSshBox, type Box } from "./_box";
import { toLayout } from "./_layout";
import { createDeployProgress } from "./_progress";
import { deployBox, type BoxPlan, type Outcome } from "./_steps";
import { readOrMakeToken } from "./_token";

export { renderUnit, toLayout } from "./_layout";
export { defaultTokenFile } from "./_token";
export { checkLibc, MIN_GLIBC, toBinaryArch } from "./_steps";

/** Hosts that are this machine: deployed without SSH. */
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The agents `--only` names (comma-separated), else all. @throws FleetError BAD_FLAG naming the unknown ones. */
function selectAgents(agents: Record<string, string>, only: string | undefined): string[] {
  if (!only) return Object.keys(agents);
  const wanted = only.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = wanted.filter((name) => !(name in agents));
  if (unknown.length > 0) throw new FleetError("BAD_FLAG", `--only ${only}: no agent ${unknown.join(", ")} under [agents] (have ${Object.keys(agents).join(", ")})`);
  return wanted;
}

/** Local binaries by arch from `dist`, each hashed once. @throws FleetError NO_BINARY naming the file and how to build it. */
function createBinaryReader(dist: string): BoxPlan["readBinary"] {
  const hashed = new Map<string, Promise<{ path: string; sha256: string }>>();
  return (arch) => {
    const path = join(dist, `agent-linux-${arch}`);
    if (!existsSync(path)) {
      const build = arch === "arm64" ? "scripts/build-arm64.sh" : "npm run build";
      return Promise.reject(new FleetError("NO_BINARY", `${path} not found: build it (${build}) or give --dist`));
    }
    if (!hashed.has(path))
      hashed.set(path, (async () => {
        const hasher = new Bun.CryptoHasher("sha256");
        for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
        return { path, sha256: hasher.digest("hex") };
      })());
    return hashed.get(path)!;
  };
}

/** One line of the summary: the box's outcome, then its warnings. */
function formatOutcome(outcome: Outcome, width: number): string {
  const head = `${outcome.name.padEnd(width)}  ${outcome.status === "failed" ? `FAILED at ${outcome.step}: ${outcome.detail}` : `${outcome.status}: ${outcome.detail}`}`;
  return [head, ...outcome.warnings.map((warning) => `${" ".repeat(width)}  warning: ${warning}`)].join("\n");
}

/** `controller deploy FILE`: every box of [agents] (or --only) at once; exit 1 when any box failed, 2 for a bad flag. */
export const deploy = defineCommand({
  meta: { name: "deploy", description: "install the agent binary, the fleet's token and its service on every agent's box over SSH; --rollback restores the previous binary" },
  args: {
    file: { type: "positional", description: "scenarios file whose [agents] to deploy", default: "scenarios.toml" },
    only: { type: "string", description: "comma-separated agent names" },
    user: { type: "string", description: "SSH login (else ~/.ssh/config or your own); not root: commands go through sudo -n" },
    dist: { type: "string", description: "folder holding agent-linux-x64 and agent-linux-arm64", default: "dist" },
    rollback: { type: "boolean", description: "restore framefleet-agent.prev on each box and restart it" },
    "token-file": { type: "string", description: "the fleet's token (else AGENT_TOKEN, else ~/.config/framefleet/token, made on first deploy)" },
    prefix: { type: "string", description: "install root on the boxes (tests, unusual layouts); systemd is used only with /", default: "/" },
    "ssh-config": { type: "string", description: "ssh config file instead of ~/.ssh/config (ssh -F)" },
  },
  async run({ args }) {
    const set = await readScenarios(resolve(args.file));
    const names = selectAgents(set.agents, args.only);
    if (names.length === 0) throw new FleetError("CONFIG_INVALID", `${args.file}: [agents] names no agent to deploy`);
    const layout = toLayout(args.prefix);
    if (args.user !== undefined && !/^[a-z_][\w.-]*$/i.test(args.user)) throw new FleetError("BAD_FLAG", `--user "${args.user}" is not a login name`);
    const dist = resolve(args.dist);
    if (!args.rollback && !existsSync(dist)) throw new FleetError("BAD_FLAG", `--dist ${args.dist}: no such folder (npm run build writes dist/)`);
    if (args["ssh-config"] && !existsSync(args["ssh-config"])) throw new FleetError("BAD_FLAG", `--ssh-config ${args["ssh-config"]}: no such file`);
    const { token, note } = readOrMakeToken(args["token-file"]);
    process.stderr.write(`controller: ${note}\n`);
    const readBinary = createBinaryReader(dist);
    const toBox = (name: string): Box => {
      const destination = set.ssh[name];
      const host = new URL(set.agents[name]!).hostname;
      if (!destination && LOCAL_HOSTS.has(host)) return createLocalBox();
      return createSshBox(destination ?? host, { user: args.user, sshConfig: args["ssh-config"] });
    };
    const plans: BoxPlan[] = names.map((name) => ({ name, url: set.agents[name]!, box: toBox(name), layout, readBinary, token, version: packageJson.version, rollback: Boolean(args.rollback) }));
    const progress = createDeployProgress(names);
    const outcomes = await Promise.all(
      plans.map(async (plan) => {
        const outcome = await deployBox(plan, (step) => progress.update(plan.name, `${step} (${plan.box.where})...`));
        progress.update(plan.name, outcome.status === "failed" ? `FAILED at ${outcome.step}` : outcome.status);
        return outcome;
      }),
    );
    progress.end();
    const width = Math.max(...names.map((name) => name.length));
    for (const outcome of outcomes) console.log(formatOutcome(outcome, width));
    const failed = outcomes.filter((outcome) => outcome.status === "failed").length;
    if (failed > 0) {
      process.stderr.write(`controller: ${failed} of ${outcomes.length} box(es) failed\n`);
      process.exitCode = EXIT.FAILED;
    }
  },
});
