// How a deploy reaches a box: one shell script at a time, over the system's OpenSSH client, or on this machine without SSH.
import { FleetError } from "../../agent/errors";

/** What a script left: its exit code and output. */
export interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A box a deploy works on: runs `sh -c SCRIPT` there (as root, through `sudo -n` when `asRoot` and the login is not root), `stdin` fed to it. */
export interface Box {
  /** Where the box is reached: an SSH destination, or `local`. */
  readonly where: string;
  run(script: string, options?: { stdin?: Blob | string; asRoot?: boolean }): Promise<ScriptResult>;
}

/** How long one script may take (ms): a 100 MB binary over a slow Wi-Fi link fits. */
const SCRIPT_TIMEOUT_MS = 10 * 60_000;

/** `value` quoted for a POSIX shell. */
export function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Wraps `script` so it runs as root: directly when the login is root, else through `sudo -n` (never a password prompt). */
function wrapAsRoot(script: string): string {
  return `if [ "$(id -u)" = 0 ]; then exec sh -c ${quote(script)}; else exec sudo -n sh -c ${quote(script)}; fi`;
}

async function spawnScript(argv: string[], stdin: Blob | string | undefined): Promise<ScriptResult> {
  const child = Bun.spawn(argv, { stdin: stdin === undefined ? "ignore" : typeof stdin === "string" ? new Blob([stdin]) : stdin, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => child.kill("SIGKILL"), SCRIPT_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/**
 * A box over `ssh` (the user's ~/.ssh/config, keys, agent and known_hosts; `sshConfig`
 * replaces the config file, as `ssh -F`). Never asks for a password (BatchMode).
 * @throws FleetError BAD_FLAG for a destination that starts with `-`.
 */
export function createSshBox(destination: string, options: { user?: string; sshConfig?: string } = {}): Box {
  if (destination.startsWith("-")) throw new FleetError("BAD_FLAG", `SSH destination "${destination}" may not start with -`);
  const ssh = [
    "ssh",
    ...(options.sshConfig ? ["-F", options.sshConfig] : []),
    ...(options.user ? ["-l", options.user] : []),
    "-o", "BatchMode=yes",
    "-o", "ConnectTimeout=15",
    "--", destination,
  ];
  return {
    where: destination,
    run: (script, { stdin, asRoot } = {}) => spawnScript([...ssh, asRoot ? wrapAsRoot(script) : `sh -c ${quote(script)}`], stdin),
  };
}

/** This machine (an agent at localhost or 127.0.0.1): the same scripts, without SSH. */
export function createLocalBox(): Box {
  return {
    where: "local",
    run: (script, { stdin, asRoot } = {}) => spawnScript(["sh", "-c", asRoot ? wrapAsRoot(script) : script], stdin),
  };
}
