// Where a deploy puts things on a box (under an install prefix) and the hardened systemd unit it installs, from the one unit file.
import UNIT from "./framefleet-agent.service" with { type: "text" };
import { FleetError } from "../../agent/errors";

/** The paths of an installed agent on a box. */
export interface Layout {
  prefix: string;
  bin: string;
  prev: string;
  tokenDir: string;
  token: string;
  unit: string;
  data: string;
  cache: string;
  /** Pid file and log of an agent started under nohup (boxes without systemd). */
  pid: string;
  log: string;
}

/** The unit file's own paths and port, as the unit names them for prefix `/` and port 7700. */
const AT_ROOT = { bin: "/usr/local/bin/framefleet-agent", tokenDir: "/etc/framefleet", data: "/var/lib/framefleet", cache: "/var/cache/framefleet", port: "--control-port 7700" };

/**
 * The layout under `prefix` (an absolute path on the box; `/` for a real install, a test's
 * folder otherwise). @throws FleetError BAD_FLAG for a prefix that is not absolute or holds
 * characters other than letters, digits, `._-/`.
 */
export function toLayout(prefix: string): Layout {
  if (!/^\/[\w./-]*$/.test(prefix) || prefix.includes(".."))
    throw new FleetError("BAD_FLAG", `--prefix "${prefix}" must be an absolute path of letters, digits and ._-/ (no ..)`);
  const at = (path: string) => (prefix === "/" ? path : `${prefix.replace(/\/+$/, "")}${path}`);
  const data = at(AT_ROOT.data);
  return {
    prefix,
    bin: at(AT_ROOT.bin),
    prev: `${at(AT_ROOT.bin)}.prev`,
    tokenDir: at(AT_ROOT.tokenDir),
    token: `${at(AT_ROOT.tokenDir)}/token`,
    unit: at("/etc/systemd/system/framefleet-agent.service"),
    data,
    cache: at(AT_ROOT.cache),
    pid: `${data}/agent.pid`,
    log: `${data}/agent.log`,
  };
}

/** The unit for `layout`, serving the control API on `port`: the unit file itself for prefix `/` and port 7700. */
export function renderUnit(layout: Layout, port: number): string {
  return UNIT.replaceAll(AT_ROOT.bin, layout.bin)
    .replaceAll(`${AT_ROOT.tokenDir}/`, `${layout.tokenDir}/`)
    .replaceAll(AT_ROOT.data, layout.data)
    .replaceAll(AT_ROOT.cache, layout.cache)
    .replace(AT_ROOT.port, `--control-port ${port}`);
}

/** The agent's command line as the unit's ExecStart gives it, with the token read from `layout.token` (for boxes without systemd). */
export function toAgentArgv(layout: Layout, port: number): string[] {
  const line = /^ExecStart=(.+)$/m.exec(renderUnit(layout, port))?.[1];
  if (!line) throw new FleetError("BAD_UNIT", "framefleet-agent.service has no ExecStart= line");
  return line.replace("${CREDENTIALS_DIRECTORY}/token", layout.token).split(/\s+/);
}
