// `mode = "netem"`: probes whether the kernel's netem qdisc could be used here, and refuses when not.
import { FleetError } from "../errors";

/** What the probe needs from the host; tests pass their own. */
export interface NetemHost {
  /** The effective user id (0 = root). */
  uid: number;
  /** Runs a command, answering its exit code and stderr. */
  run(command: string[]): { exitCode: number; stderr: string };
}

const realHost: NetemHost = {
  uid: process.getuid?.() ?? -1,
  run(command) {
    try {
      const result = Bun.spawnSync(command, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
      return { exitCode: result.exitCode ?? 1, stderr: result.stderr.toString().trim() };
    } catch (error) {
      return { exitCode: 127, stderr: (error as Error).message };
    }
  },
};

/**
 * Why netem cannot be used on this host, or undefined when it can. The probe adds a netem
 * qdisc to the loopback device of a fresh, empty network namespace (`unshare --net`), so it
 * touches no device anyone uses and vanishes with the namespace.
 */
export function findNetemProblem(host: NetemHost = realHost): string | undefined {
  if (host.uid !== 0) return "netem needs root (tc qdisc changes the kernel's queueing); this agent runs as a normal user";
  const probe = host.run(["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"]);
  if (probe.exitCode === 0) return undefined;
  if (/unknown/i.test(probe.stderr)) return `this kernel has no netem qdisc (sch_netem): tc says "${probe.stderr}"`;
  return `tc qdisc add ... netem failed (exit ${probe.exitCode}): ${probe.stderr || "no message"}`;
}

/**
 * Refuses `mode = "netem"`. Where the probe finds netem usable the refusal still stands,
 * since this build applies impairment in the app only; it says so.
 * @throws FleetError NETEM_UNAVAILABLE (422), always.
 */
export function refuseNetem(host?: NetemHost): never {
  const problem = findNetemProblem(host);
  const advice = 'use mode "app" (the default), which Framefleet applies itself';
  throw new FleetError(
    "NETEM_UNAVAILABLE",
    problem
      ? `impair.mode "netem": ${problem}; ${advice}`
      : `impair.mode "netem": netem works on this host, but this build applies impairment in the app only; ${advice}`,
    422,
  );
}
