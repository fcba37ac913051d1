// Small parts of a worker session: reading the manager's address, measuring the CPU a heartbeat reports.
import { FleetError } from "../../errors";
import { round2 } from "../../metrics";

/** Splits `HOST:PORT` (`[v6]:PORT` too). @throws FleetError BAD_MANAGER (422). */
export function parseManager(text: string): { hostname: string; port: number } {
  const colon = text.lastIndexOf(":");
  const hostname = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(text.slice(colon + 1));
  if (!hostname || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new FleetError("BAD_MANAGER", `--manager ${text}: expected HOST:PORT with a port in 1..65535`, 422);
  return { hostname, port };
}

/** A meter answering, on each call, the CPU use of this process since the last call, in percent of all `cores`. */
export function createCpuMeter(cores: number): () => number {
  let last = { usage: process.cpuUsage(), at: performance.now() };
  return () => {
    const now = { usage: process.cpuUsage(), at: performance.now() };
    const usedMs = (now.usage.user - last.usage.user + now.usage.system - last.usage.system) / 1000;
    const wallMs = Math.max(now.at - last.at, 1);
    last = now;
    return round2(Math.max(0, ((usedMs / wallMs) * 100) / cores));
  };
}
