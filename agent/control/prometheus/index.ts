// Prometheus text exposition (format 0.0.4) of the agent and its roles, through prom-client: counters, gauges, histograms, info gauges.
import { arch, hostname } from "node:os";
import { Counter, Gauge, Registry } from "prom-client";
import type { RoleInfo } from "../../wire";
import type { DurationHistograms } from "./durations";
import { FAMILIES, RESTARTS, type Family, type Sample } from "./_families";
import { readTelemetry, THROTTLE_FLAGS, type Telemetry } from "./_telemetry";

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
  /** Where the board's sysfs is (temperature, throttling); default `/sys`. */
  sysRoot?: string;
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

/** Registers the agent's own gauges: info, role count, role info, CPU, memory, temperature, throttling (`telemetry()` read once per scrape). */
function registerAgent(registry: Registry, source: ExporterSource, telemetry: () => Telemetry): void {
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
  new Counter({ name: "framefleet_agent_cpu_seconds_total", help: "CPU time of the agent process, user plus system (seconds)", labelNames: ["agent"], registers, collect() { this.reset(); this.inc({ agent }, telemetry().cpuSeconds); } });
  new Gauge({ name: "framefleet_agent_resident_memory_bytes", help: "Resident memory of the agent process (bytes)", labelNames: ["agent"], registers, collect() { this.set({ agent }, telemetry().residentBytes); } });
  new Gauge({
    name: "framefleet_agent_temperature_celsius",
    help: "SoC temperature from thermal zone 0 (degrees Celsius); absent where the board has none",
    labelNames: ["agent"],
    registers,
    collect() {
      this.reset();
      const { temperatureCelsius } = telemetry();
      if (temperatureCelsius !== undefined) this.set({ agent }, temperatureCelsius);
    },
  });
  new Gauge({
    name: "framefleet_agent_throttled",
    help: "1 while the Raspberry Pi firmware reports the flag now (under_voltage, frequency_capped, throttled, soft_temp_limit), else 0; absent off a Pi",
    labelNames: ["agent", "flag"],
    registers,
    collect() {
      this.reset();
      const { throttled } = telemetry();
      if (throttled !== undefined) for (const [flag, bit] of Object.entries(THROTTLE_FLAGS)) this.set({ agent, flag }, (throttled >> bit) & 1);
    },
  });
}

/**
 * An exporter with a registry of its own: agent info and telemetry, every role's counters
 * and gauges (agent/control/prometheus/_families.ts) read from its figures at scrape time,
 * and the duration histograms the roles observe (`source.durations`).
 */
export function createMetricsExporter(source: ExporterSource): MetricsExporter {
  const registry = new Registry();
  let telemetry: Telemetry | undefined;
  registerAgent(registry, source, () => (telemetry ??= readTelemetry(source.sysRoot ?? "/sys")));
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
    render: () => {
      telemetry = undefined;
      return Registry.merge([registry, source.durations.registry]).metrics();
    },
  };
}

export { DURATIONS, DurationHistograms, type DurationName, type ObserveDuration } from "./durations";
export { readTelemetry, type Telemetry } from "./_telemetry";
