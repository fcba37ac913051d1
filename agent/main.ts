// The agent entry: one executable; --role makes it a sender, receiver, ...; it serves the control API.
import { defineCommand, runCommand, showUsage } from "citty";
import { hostname } from "node:os";
import { readFileSync } from "node:fs";
import packageJson from "../package.json" with { type: "json" };
import { chooseAuthMode } from "./auth";
import { createControlApp, pickRoleArgv, readFlags, runSelfTest, Supervisor } from "./control";
import { EXIT, FleetError, describeError } from "./errors";
import { createLogger, LogRing } from "./logs";
import { findRole } from "./roles";
import type { Impairment } from "./wire";

/** The agent's recent log lines, served by the control API. */
const logs = new LogRing();
/** Writes one JSON log line to stderr (stdout is kept for the final figures) and keeps it in `logs`. */
const log = createLogger(logs);

/** Ends the process with a one-line error (never a stack trace). */
function fail(error: unknown, code: number = EXIT.USAGE): never {
  process.stderr.write(`agent: ${describeError(error)}\n`);
  process.exit(code);
}

/** The bearer token: `--token-file` (first line) wins over AGENT_TOKEN. */
function readToken(tokenFile: string | undefined): string | undefined {
  if (!tokenFile) return process.env.AGENT_TOKEN || undefined;
  try {
    const token = readFileSync(tokenFile, "utf8").split("\n")[0]!.trim();
    if (token === "") throw new FleetError("BAD_TOKEN_FILE", `--token-file ${tokenFile}: the file is empty`);
    return token;
  } catch (error) {
    if (error instanceof FleetError) throw error;
    throw new FleetError("BAD_TOKEN_FILE", `--token-file ${tokenFile}: ${(error as Error).message}`);
  }
}

/** Parses `--impair JSON`; the supervisor checks its fields. */
function readImpairFlag(json: string): Impairment {
  try {
    return JSON.parse(json) as Impairment;
  } catch (error) {
    throw new FleetError("BAD_FLAG", `--impair: not JSON (${(error as Error).message}); e.g. --impair '{"delay":"50ms","loss":0.01}'`, 422, { cause: error });
  }
}

function readPort(value: string, flag: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FleetError("BAD_FLAG", `${flag} "${value}" is not a port (0-65535)`);
  return port;
}

const args = {
  role: { type: "string", description: "role to start at once (sender, receiver, ...)" },
  version: { type: "boolean", description: "print the version and exit" },
  "self-test": { type: "boolean", description: "check the native parts on this box, print JSON, exit 0 or 1" },
  "control-port": { type: "string", default: "7700", description: "control API and status page port (0 = any free)" },
  host: { type: "string", default: "0.0.0.0", description: "address to bind" },
  control: { type: "boolean", default: true, description: "serve the control API (--no-control to turn off)" },
  "token-file": { type: "string", description: "file holding the bearer token (else AGENT_TOKEN)" },
  "insecure-no-auth": { type: "boolean", description: "run without a token on a non-loopback --host (anyone on the network may start roles; every page says so)" },
  "allow-source-cmd": { type: "boolean", description: "let the control API start command sources (mjpeg-cmd, camera)" },
  "allow-files-anywhere": { type: "boolean", description: "let the control API read files (files: sources, --model) outside the working folder and data dir" },
  name: { type: "string", description: "agent name in figures and metrics (default: host name)" },
  "data-dir": { type: "string", default: ".", description: "folder that output paths from the network resolve into" },
  impair: { type: "string", description: 'impairment of the --role, as JSON: \'{"delay":"50ms","jitter":"10ms","loss":0.01,"rate":"20Mbit","cpu":0.25,"fail":0.1,"seed":1}\'' },
} as const;

const takesValue = Object.fromEntries(Object.entries(args).map(([name, def]) => [name, def.type === "string"]));

const main = defineCommand({
  meta: { name: "agent", version: packageJson.version, description: "Framefleet agent: one executable for every role" },
  args,
  async run({ args: flags, rawArgs }) {
    if (flags.version) return console.log(packageJson.version);
    if (flags["self-test"]) {
      const report = await runSelfTest();
      console.log(JSON.stringify(report));
      process.exit(report.ok ? EXIT.OK : EXIT.FAILED);
    }
    const agent = flags.name ?? hostname();
    const controlPort = readPort(flags["control-port"], "--control-port");
    const token = readToken(flags["token-file"]);
    // Protected mode guards what takes the token: the control API and roles with guarded endpoints (the manager).
    const guarded = flags.control || Boolean(flags.role && findRole(flags.role).takesToken);
    const authMode = guarded ? chooseAuthMode(flags.host, token, Boolean(flags["insecure-no-auth"])) : undefined;
    if (authMode === "insecure") log("insecure_no_auth", { host: flags.host, warning: "no token: anyone who reaches this host may start roles and read results" });
    const context = { agent, host: flags.host, token, auth: authMode, log };
    const supervisor = new Supervisor(context, { allowSourceCmd: Boolean(flags["allow-source-cmd"]), allowFilesAnywhere: Boolean(flags["allow-files-anywhere"]), dataDir: flags["data-dir"] });

    const roleArgv = pickRoleArgv(rawArgs, takesValue);
    if (!flags.role && roleArgv.length > 0) throw new FleetError("BAD_FLAG", `unknown flag ${roleArgv[0]} (role flags need --role)`);
    if (!flags.role && flags.impair) throw new FleetError("BAD_FLAG", "--impair applies to a --role; give --role too");
    const impairment = flags.impair === undefined ? undefined : readImpairFlag(flags.impair);
    const first = flags.role ? await supervisor.start(flags.role, readFlags(findRole(flags.role).options, roleArgv), "cli", impairment) : undefined;

    const control = flags.control
      ? (await createControlApp({ agent, version: packageJson.version, token, mode: authMode, supervisor, logs })).listen({ port: controlPort, hostname: flags.host })
      : undefined;
    if (control) log("control_listening", { port: control.server?.port, host: flags.host, auth: authMode });

    let finishing = false;
    const finish = async (): Promise<void> => {
      if (finishing) return;
      finishing = true;
      const stopped = await supervisor.stopAll();
      await control?.stop(true);
      const mine = stopped.find((info) => info.id === first?.id);
      if (mine) console.log(JSON.stringify(mine.stats));
      process.exit(EXIT.OK);
    };
    process.on("SIGINT", finish);
    process.on("SIGTERM", finish);
    if (first) {
      const ended = supervisor.ended(first.id);
      if (ended) void ended.then(finish);
    }
  },
});

const argv = process.argv.slice(2);
if (argv.includes("--help") || argv.includes("-h")) await showUsage(main);
else await runCommand(main, { rawArgs: argv }).catch((error) => fail(error, error instanceof FleetError && error.code === "PORT_UNAVAILABLE" ? EXIT.FAILED : EXIT.USAGE));
