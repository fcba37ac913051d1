// Prometheus text exposition (format 0.0.4) of the agent and its roles, through prom-client: counters, gauges, histograms, info gauges.
import { arch, hostname } from "node:os";
import { Counter, Gauge, Registry } from "prom-client";
import type { RoleInfo } from "../../wire";
import type { DurationHistograms } from "./durations";
import { FAMILIES, RESTARTS, type Family, type Sample } from "./_families";
import type { TelemetrySampler } from "../../telemetry";

/** Renders the exposition text; `contentType` is the header to answer it with. */
export interface MetricsExporter {
  contentType: string;
  render(): Promise<string>;
}

/** What the exporter reads: the agent's name and version, its roles, and the histograms they observe into. */
export interface ExporterSource {
  agent: string;
  version: string;
  listRoles(): RoleInfo[];
  durations: DurationHistograms;
  /** The box's telemetry (agent/telemetry): temperature, throttling, CPU, network and disk counters. */
  telemetry: TelemetrySampler;
}

const ROLE_LABELS = ["agent", "role", "id"];

/** Registers one family read at scrape time from every listed role that reports it. */
function registerFamily(registry: Registry, family: Family, roles: Set<string>, source: ExporterSource): void {
  const labelNames = [...ROLE_LABELS, ...(family.labels ?? [])];
  const fill = (set: (labels: Record<string, string>, value: number) => void): void => {
    for (const info of source.listRoles()) {
      if (!roles.has(info.role)) continue;
      const base = { agent: source.agent, role: info.role, id: info.id };
      for (const [labels, value] of family.read(info.stats) as Sample[]) if (Number.isFinite(value)) set({ ...base, ...labels }, value);
    }
  };
  if (family.type === "counter")
    new Counter({ name: family.name, help: family.help, labelNames, registers: [registry], collect() { this.reset(); fill((labels, value) => this.inc(labels, Math.max(value, 0))); } });
  else new Gauge({ name: family.name, help: family.help, labelNames, registers: [registry], collect() { this.reset(); fill((labels, value) => this.set(labels, value)); } });
}

/** Registers the agent's own gauges: info, role count, role info, its process's CPU and memory, and its box's telemetry (`registerBox`). */
function registerAgent(registry: Registry, source: ExporterSource): void {
  const { agent } = source;
  const registers = [registry];
  new Gauge({ name: "framefleet_agent_info", help: "Always 1; the agent's version, CPU architecture and host name as labels", labelNames: ["agent", "version", "arch", "host"], registers }).set(
    { agent, version: source.version, arch: arch(), host: hostname() },
    1,
  );
  new Gauge({ name: "framefleet_agent_roles", help: "Roles on this agent (running or ended, not yet stopped)", labelNames: ["agent"], registers, collect() { this.set({ agent }, source.listRoles().length); } });
  new Gauge({
    name: "framefleet_role_info",
    help: "Always 1 per role on this agent; its name, id and port (empty for roles without one) as labels",
    labelNames: ["agent", "role", "id", "port"],
    registers,
    collect() {
      this.reset();
      for (const info of source.listRoles()) this.set({ agent, role: info.role, id: info.id, port: "port" in info.stats ? String(info.stats.port) : "" }, 1);
    },
  });
  new Counter({ name: "framefleet_agent_cpu_seconds_total", help: "CPU time of the agent process, user plus system (seconds)", labelNames: ["agent"], registers, collect() { const usage = process.cpuUsage(); this.reset(); this.inc({ agent }, (usage.user + usage.system) / 1e6); } });
  new Gauge({ name: "framefleet_agent_resident_memory_bytes", help: "Resident memory of the agent process (bytes)", labelNames: ["agent"], registers, collect() { this.set({ agent }, process.memoryUsage.rss()); } });
  registerBox(registry, agent, source.telemetry);
}

/** THROTTLE_FLAGS: the Pi firmware's flags that hold now (agent/telemetry/parse.ts ThrottleFlags). */
const THROTTLE_FLAGS = ["under_voltage", "frequency_capped", "throttled", "soft_temperature_limit"] as const;

/**
 * Registers the box's telemetry from the sampler's latest reading (absent before the first,
 * and where the box has no such source): temperature, throttling flags, CPU busy share per
 * core, CPU frequency, and network and disk byte counters (totals since boot, so rate() works).
 */
function registerBox(registry: Registry, agent: string, telemetry: TelemetrySampler): void {
  const registers = [registry];
  const gauge = (name: string, help: string, labels: string[], fill: (set: (labels: Record<string, string>, value: number) => void) => void) =>
    new Gauge({ name, help, labelNames: ["agent", ...labels], registers, collect() { this.reset(); fill((extra, value) => this.set({ agent, ...extra }, value)); } });
  const counter = (name: string, help: string, labels: string[], fill: (add: (labels: Record<string, string>, value: number) => void) => void) =>
    new Counter({ name, help, labelNames: ["agent", ...labels], registers, collect() { this.reset(); fill((extra, value) => this.inc({ agent, ...extra }, Math.max(0, value))); } });
  gauge("framefleet_agent_temperature_celsius", "SoC temperature from thermal zone 0 (degrees Celsius); absent where the board has none", [], (set) => {
    const temp = telemetry.latest()?.temp_c;
    if (typeof temp === "number") set({}, temp);
  });
  gauge("framefleet_agent_throttled", "1 while the Raspberry Pi firmware reports the flag now (under_voltage, frequency_capped, throttled, soft_temperature_limit), else 0; absent off a Pi", ["flag"], (set) => {
    const flags = telemetry.latest()?.throttled;
    if (flags) for (const flag of THROTTLE_FLAGS) set({ flag }, flags[flag] ? 1 : 0);
  });
  gauge("framefleet_host_cpu_busy_ratio", "Share of the last second each core was busy (0-1), from /proc/stat", ["cpu"], (set) => {
    telemetry.latest()?.cpu_pct?.forEach((pct, index) => set({ cpu: String(index) }, pct / 100));
  });
  gauge("framefleet_host_cpu_frequency_hertz", "Current frequency of CPU 0 (hertz), from cpufreq", [], (set) => {
    const mhz = telemetry.latest()?.freq_mhz;
    if (typeof mhz === "number") set({}, mhz * 1e6);
  });
  counter("framefleet_host_network_received_bytes_total", "Bytes received by the interface since boot, from /proc/net/dev", ["interface"], (add) => {
    for (const [name, counters] of Object.entries(telemetry.latestCounters()?.net ?? {})) add({ interface: name }, counters.rx_bytes);
  });
  counter("framefleet_host_network_transmitted_bytes_total", "Bytes sent by the interface since boot, from /proc/net/dev", ["interface"], (add) => {
    for (const [name, counters] of Object.entries(telemetry.latestCounters()?.net ?? {})) add({ interface: name }, counters.tx_bytes);
  });
  counter("framefleet_host_disk_read_bytes_total", "Bytes read from the whole disk since boot, from /proc/diskstats", ["disk"], (add) => {
    for (const [name, counters] of Object.entries(telemetry.latestCounters()?.disk ?? {})) add({ disk: name }, counters.read_bytes);
  });
  counter("framefleet_host_disk_written_bytes_total", "Bytes written to the whole disk since boot, from /proc/diskstats", ["disk"], (add) => {
    for (const [name, counters] of Object.entries(telemetry.latestCounters()?.disk ?? {})) add({ disk: name }, counters.written_bytes);
  });
  counter("framefleet_host_disk_io_time_seconds_total", "Time the whole disk had I/O in flight since boot (seconds), from /proc/diskstats", ["disk"], (add) => {
    for (const [name, counters] of Object.entries(telemetry.latestCounters()?.disk ?? {})) add({ disk: name }, counters.busy_ms / 1000);
  });
}

/**
 * An exporter with a registry of its own: agent info and telemetry, every role's counters
 * and gauges (agent/control/prometheus/_families.ts) read from its figures at scrape time,
 * and the duration histograms the roles observe (`source.durations`).
 */
export function createMetricsExporter(source: ExporterSource): MetricsExporter {
  const registry = new Registry();
  registerAgent(registry, source);
  const byName = new Map<string, { family: Family; roles: Set<string> }>();
  for (const [role, families] of Object.entries(FAMILIES))
    for (const family of families as Family[]) {
      const entry = byName.get(family.name) ?? { family, roles: new Set<string>() };
      entry.roles.add(role);
      byName.set(family.name, entry);
    }
  for (const { family, roles } of byName.values()) registerFamily(registry, family, roles, source);
  for (const family of RESTARTS) registerFamily(registry, family, new Set(Object.keys(FAMILIES)), source);
  return {
    contentType: registry.contentType,
    render: () => Registry.merge([registry, source.durations.registry]).metrics(),
  };
}

export { DURATIONS, DurationHistograms, type DurationName, type ObserveDuration } from "./durations";
