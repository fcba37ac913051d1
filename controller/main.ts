// The controller CLI: runs scenarios.toml on agents (or local processes) and reports figures with confidence intervals.
import { defineCommand, runCommand, showUsage } from "citty";
import { arch, cpus, hostname, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import packageJson from "../package.json" with { type: "json" };
import { ControlClient } from "../agent/client";
import { EXIT, FleetError, describeError } from "../agent/errors";
import { startLocalAgents, type LocalAgents } from "./local";
import { NetnsFleet } from "./netns";
import { startNatsServer } from "./nats-server";
import { formatTable, writeResults, type Results } from "./results";
import { formatThresholds, judgeThresholds } from "./thresholds";
import { compareResults, formatComparison, readResults } from "./compare";
import { formatAgentLine, readFleetHealth, refuseSkew } from "./fleet";
import { deploy } from "./deploy";
import { logs } from "./logs";
import { createProgress } from "./progress";
import { pushScenarioSummary, readPushgatewayUrl } from "./pushgateway";
import { writeReport } from "./report";
import { runScenario } from "./run";
import { formatSaturation } from "./saturation";
import { addScaling, formatScaling } from "./scaling";
import { buildOriginalsTables, formatOriginals } from "./report-originals";
import { overMedia, readScenarios, type Scenario } from "./scenarios";
import { combineProgress, startRunUi } from "./ui";

/** Picks the scenarios `--only` names (comma-separated). @throws FleetError UNKNOWN_SCENARIO naming the missing ones. */
function selectScenarios(all: Scenario[], only: string | undefined): Scenario[] {
  if (!only) return all;
  const wanted = only.split(",").map((name) => name.trim()).filter(Boolean);
  const missing = wanted.filter((name) => !all.some((scenario) => scenario.name === name));
  if (missing.length > 0)
    throw new FleetError("UNKNOWN_SCENARIO", `--only ${only}: no scenario ${missing.join(", ")} (have ${all.map((s) => s.name).join(", ")})`);
  return all.filter((scenario) => wanted.includes(scenario.name));
}

/** `--ui PORT`: 0 (any free port) to 65535. @throws FleetError BAD_FLAG. */
function readUiPort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FleetError("BAD_FLAG", `--ui "${value}" is not a port (0-65535)`);
  return port;
}

function readRepeat(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const repeat = Number(value);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 1000) throw new FleetError("BAD_FLAG", `--repeat "${value}" must be a whole number 1-1000`);
  return repeat;
}

const run = defineCommand({
  meta: { name: "run", description: "run the scenarios of a file and write results.json, results.csv" },
  args: {
    file: { type: "positional", description: "scenarios file", default: "scenarios.toml" },
    local: { type: "boolean", description: "start the named agents as processes on this machine" },
    netns: { type: "boolean", description: "with --local: each agent in its own network namespace on a bridge, links shaped by tbf (root only)" },
    only: { type: "string", description: "comma-separated scenario names" },
    medium: { type: "string", description: "comma-separated [media] profiles: run every selected scenario on each (wifi-5ghz,ethernet-1g)" },
    repeat: { type: "string", description: "repeats per scenario (overrides the file)" },
    out: { type: "string", description: "output folder (default results/<UTC time>)" },
    "keep-images": { type: "boolean", description: "keep received images of local runs" },
    ui: { type: "string", description: "serve a live page of the run on 127.0.0.1:PORT until the run ends (0 = any free port)" },
    pushgateway: { type: "string", description: "push each scenario's summary (mean, 95% CI) to this Prometheus Pushgateway URL when it ends" },
    "allow-skew": { type: "boolean", description: "run even when an agent's version differs from the controller's" },
  },
  async run({ args }) {
    const file = resolve(args.file);
    const set = await readScenarios(file);
    const repeat = readRepeat(args.repeat);
    const pushgateway = args.pushgateway === undefined ? undefined : readPushgatewayUrl(args.pushgateway);
    let pushFailures = 0;
    const media = args.medium?.split(",").map((name) => name.trim()).filter(Boolean);
    const scenarios = selectScenarios(set.scenarios, args.only).map((scenario) => ({ ...(media ? overMedia(scenario, media, set.media) : scenario), repeat: repeat ?? scenario.repeat }));
    const out = resolve(args.out ?? join("results", new Date().toISOString().replace(/[:.]/g, "-")));
    const names = [...new Set(scenarios.flatMap((scenario) => scenario.points.flatMap((point) => point.roles.flatMap((plan) => plan.agents))))];
    let local: LocalAgents | undefined;
    const clients = new Map<string, ControlClient>();
    const totalRuns = scenarios.reduce((sum, scenario) => sum + scenario.points.length * scenario.repeat, 0);
    const ui = args.ui === undefined ? undefined : startRunUi(readUiPort(args.ui), clients, totalRuns);
    if (ui) process.stderr.write(`controller: live page of this run at ${ui.url}\n`);
    if (args.netns && !args.local) throw new FleetError("BAD_FLAG", "--netns emulates a fleet on this machine: give it with --local");
    const netns = args.netns ? NetnsFleet.create(names) : undefined;
    if (netns) process.once("exit", () => netns.destroy());
    // A local run of a scenario with broker = "nats" (or swept to it) gets its own server, with the agents' token.
    const wantsBroker = scenarios.some((scenario) => scenario.broker === "nats" || scenario.points.some((point) => point.params.broker === "nats"));
    if (wantsBroker && netns) throw new FleetError("BAD_FLAG", "--netns: a local broker (broker = \"nats\") is not yet reachable from the agents' namespaces; run these scenarios without --netns");
    const broker = args.local && wantsBroker ? await startNatsServer() : undefined;
    if (broker) process.stderr.write(`controller: nats-server with JetStream at ${broker.url} (store ${broker.storeDir})\n`);
    if (args.local) {
      local = await startLocalAgents(names, dirname(file), out, netns, broker?.token).catch(async (error) => {
        netns?.destroy();
        await broker?.stop();
        throw error;
      });
      for (const [name, client] of local.clients) clients.set(name, client);
    } else {
      const token = process.env.AGENT_TOKEN;
      for (const name of names) clients.set(name, new ControlClient(name, set.agents[name]!, token));
    }
    const stopLocal = async () => {
      await local?.stop();
      netns?.destroy();
      await broker?.stop();
    };
    process.once("SIGINT", () => void Promise.resolve(stopLocal()).then(() => process.exit(EXIT.FAILED)));
    if (!args["allow-skew"])
      await readFleetHealth(clients.values())
        .then((fleet) => refuseSkew(fleet, packageJson.version))
        .catch(async (error) => {
          await ui?.stop();
          await stopLocal();
          throw error;
        });
    const results: Results = {
      framefleet: packageJson.version,
      started_at: new Date().toISOString(),
      host: { name: hostname(), arch: arch(), cpus: cpus().length, memory: totalmem(), mode: args.local ? "local" : "remote" },
      scenarios: [],
    };
    const progress = ui ? combineProgress(createProgress(), ui.progress) : createProgress();
    try {
      for (const scenario of scenarios) {
        progress.begin(scenario);
        const points = await runScenario(scenario, clients, {
          imagesDir: "images",
          localImagesDir: args.local ? join(out, "images") : undefined,
          keepImages: Boolean(args["keep-images"]),
          ...(netns ? { shapeLink: (agent: string, rate: string | undefined) => netns.shape(agent, rate) } : {}),
          localBroker: broker?.url,
          onRun: (...run) => progress.step(...run),
        });
        progress.end();
        const entries = addScaling(points);
        results.scenarios.push(...entries);
        if (pushgateway)
          await pushScenarioSummary(pushgateway, scenario.name, entries).catch((error) => {
            pushFailures += 1;
            process.stderr.write(`controller: scenario ${scenario.name}: summary not pushed: ${describeError(error)}\n`);
          });
      }
    } finally {
      await ui?.stop();
      await stopLocal();
    }
    for (const entry of results.scenarios) {
      const goals = scenarios.find((scenario) => scenario.name === entry.name)?.thresholds ?? [];
      if (goals.length > 0) entry.thresholds = judgeThresholds(goals, entry.summary);
    }
    const written = await writeResults(out, results);
    const report = await writeReport(out, results);
    console.log(formatTable(results));
    const saturation = formatSaturation(results.scenarios);
    if (saturation) console.log(`\n${saturation}`);
    const judged = formatThresholds(results.scenarios);
    if (judged) console.log(`\n${judged}`);
    const scaling = formatScaling(results.scenarios);
    if (scaling) console.log(`\n${scaling}`);
    const originals = formatOriginals(buildOriginalsTables(results));
    if (originals) console.log(`\n${originals}`);
    console.log(`\nwrote ${written.json}, ${written.csv} and ${report}`);
    const missed = results.scenarios.flatMap((entry) => (entry.thresholds ?? []).filter((outcome) => !outcome.pass));
    if (missed.length > 0) {
      process.stderr.write(`controller: ${missed.length} threshold(s) failed (exit code ${EXIT.THRESHOLDS})\n`);
      process.exitCode = EXIT.THRESHOLDS;
    }
    if (pushFailures > 0) {
      process.stderr.write(`controller: ${pushFailures} scenario summary(ies) could not be pushed to ${pushgateway}\n`);
      process.exitCode = EXIT.FAILED;
    }
    const failedRuns = results.scenarios.flatMap((entry) => entry.runs.filter((run) => run.status === "failed"));
    if (failedRuns.length > 0) {
      process.stderr.write(`controller: ${failedRuns.length} run(s) failed; their errors are in results.json\n`);
      process.exitCode = EXIT.FAILED;
    }
  },
});

const agents = defineCommand({
  meta: { name: "agents", description: "health of every agent a scenarios file names: version (and whether it is the controller's), arch, uptime, throttling" },
  args: { file: { type: "positional", description: "scenarios file", default: "scenarios.toml" } },
  async run({ args }) {
    const set = await readScenarios(resolve(args.file));
    const fleet = await readFleetHealth(Object.entries(set.agents).map(([name, url]) => new ControlClient(name, url, process.env.AGENT_TOKEN)));
    for (const agent of fleet) console.log(formatAgentLine(agent, packageJson.version));
    const down = fleet.filter((agent) => !agent.health).length;
    if (down > 0) process.exitCode = EXIT.FAILED;
  },
});

const compare = defineCommand({
  meta: { name: "compare", description: "what changed between two results.json files, and whether it is beyond the 95% intervals" },
  args: {
    before: { type: "positional", description: "results.json of the first run", required: true },
    after: { type: "positional", description: "results.json of the second run", required: true },
  },
  async run({ args }) {
    const [before, after] = await Promise.all([readResults(args.before), readResults(args.after)]);
    console.log(formatComparison(compareResults(before, after)));
  },
});

const main = defineCommand({
  meta: { name: "controller", version: packageJson.version, description: "Framefleet controller" },
  subCommands: { run, agents, logs, deploy, compare },
});

const argv = process.argv.slice(2);
if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) await showUsage(main);
else
  await runCommand(main, { rawArgs: argv }).catch((error) => {
    process.stderr.write(`controller: ${describeError(error)}\n`);
    process.exit(error instanceof FleetError && error.code.startsWith("CONFIG") ? EXIT.CONFIG : EXIT.USAGE);
  });
