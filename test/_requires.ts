// Tests that need a tool of this machine (Chromium, ffmpeg, qemu, network namespaces, Prometheus and its tools, libfaketime, nats-server, sshd, systemd-analyze): run, skip counted with its reason, or fail where CI requires the tool.
import { describe, test } from "bun:test";
import { existsSync } from "node:fs";
import { Glob } from "bun";
import { NetnsFleet } from "../controller/netns";
import { CHROMIUM } from "./web/chromium";
import { findNatsServer } from "../controller/nats-server";
import { probeSshd } from "./sshd";

/** A tool some tests need, and why it may be missing. */
export type Tool = "chromium" | "ffmpeg" | "qemu" | "netns" | "promtool" | "prometheus" | "prometheus-pushgateway" | "faketime" | "nats-server" | "sshd" | "systemd-analyze";

/** Why each tool is missing on this machine, or undefined where it is present. Probed once, on first use. */
const missing = new Map<Tool, string | undefined>();
const probes: Record<Tool, () => string | undefined> = {
  chromium: () => (existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium)`),
  ffmpeg: () => (Bun.which("ffmpeg") ? undefined : "ffmpeg not found (apt-get install ffmpeg)"),
  "nats-server": () => (findNatsServer() ? undefined : "nats-server not found (apt-get install nats-server)"),
  qemu: () => (Bun.which("qemu-aarch64-static") ? undefined : "qemu-aarch64-static not found (apt-get install qemu-user-static)"),
  promtool: () => (Bun.which("promtool") ? undefined : "promtool not found (apt-get install prometheus)"),
  prometheus: () => (Bun.which("prometheus") ? undefined : "prometheus not found (apt-get install prometheus)"),
  "prometheus-pushgateway": () => (Bun.which("prometheus-pushgateway") ? undefined : "prometheus-pushgateway not found (apt-get install prometheus-pushgateway)"),
  faketime: () => (findLibfaketime() ? undefined : "libfaketime not found (apt-get install faketime)"),
  sshd: probeSshd,
  "systemd-analyze": () => (Bun.which("systemd-analyze") ? undefined : "systemd-analyze not found (apt-get install systemd)"),
  netns: () => {
    if (!Bun.which("tc")) return "tc not found (apt-get install iproute2)";
    const probe = NetnsFleet.probe();
    return probe.ok ? undefined : `ip netns not permitted (needs root and CAP_NET_ADMIN): ${probe.reason}`;
  },
};

/**
 * Debian's libfaketime (`/usr/lib/TRIPLET/faketime/libfaketime.so.1`), for LD_PRELOAD with
 * FAKETIME: preloaded straight into the process, so the process is the one the test spawns
 * and kills (the `faketime` wrapper forks, and killing it leaves its child running).
 */
export function findLibfaketime(): string | undefined {
  return [...new Glob("/usr/lib/*/faketime/libfaketime.so.1").scanSync({ absolute: true, onlyFiles: true })][0];
}

function whyMissing(tool: Tool): string | undefined {
  if (!missing.has(tool)) missing.set(tool, probes[tool]());
  return missing.get(tool);
}

/** Tools whose absence fails the run instead of skipping: `FRAMEFLEET_REQUIRE=chromium,ffmpeg,...` or `all` (.ci/run sets `all`). */
function isRequired(tool: Tool): boolean {
  const required = (process.env.FRAMEFLEET_REQUIRE ?? "").split(",").map((name) => name.trim());
  return required.includes("all") || required.includes(tool);
}

/** True where `tool` is present. */
export function has(tool: Tool): boolean {
  return whyMissing(tool) === undefined;
}

/**
 * `test` when `tool` is present. Otherwise a counted `test.skip` whose name carries the
 * reason, or, when the run requires the tool, a test that fails naming what is missing.
 */
export function testWith(tool: Tool): typeof test {
  const reason = whyMissing(tool);
  if (reason === undefined) return test;
  if (isRequired(tool)) return ((name: string) => test(name, () => { throw new Error(`required tool missing: ${reason}`); })) as unknown as typeof test;
  return ((name: string, fn: () => unknown) => test.skip(`${name} [skipped: ${reason}]`, fn as () => void)) as unknown as typeof test;
}

/** `describe` when `tool` is present; else every test inside is skipped with the reason (or fails where required), as `testWith`. */
export function describeWith(tool: Tool): typeof describe {
  const reason = whyMissing(tool);
  if (reason === undefined) return describe;
  if (isRequired(tool)) return ((name: string) => describe(name, () => test(`needs ${tool}`, () => { throw new Error(`required tool missing: ${reason}`); }))) as unknown as typeof describe;
  return ((name: string, fn: () => void) => describe.skip(`${name} [skipped: ${reason}]`, fn)) as unknown as typeof describe;
}
