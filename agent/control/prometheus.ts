// Prometheus text exposition (format 0.0.4) of every role's figures, through prom-client.
import { Gauge, Registry } from "prom-client";
import type { RoleInfo } from "../wire";

const NAME = /[^a-zA-Z0-9_]/g;

/** Renders the exposition text; `contentType` is the header to answer it with. */
export interface MetricsExporter {
  contentType: string;
  render(): Promise<string>;
}

/**
 * An exporter whose gauges are read from the roles' live figures at scrape time:
 * each numeric figure F of a role R becomes `framefleet_R_F{agent, role, id}`, each receiver
 * topic figure `framefleet_receiver_topic_F{agent, role, id, topic}`, latencies
 * `framefleet_R_latency_ms{agent, role, id, quantile}`.
 */
export function createMetricsExporter(agent: string, listRoles: () => RoleInfo[]): MetricsExporter {
  const registry = new Registry();
  const gauges = new Map<string, Gauge>();
  const gauge = (name: string, labelNames: string[]): Gauge => {
    let found = gauges.get(name);
    if (!found) {
      found = new Gauge({ name, help: `Framefleet figure ${name}`, labelNames, registers: [registry] });
      gauges.set(name, found);
    }
    return found;
  };
  const roleCount = new Gauge({ name: "framefleet_roles", help: "Roles on this agent", labelNames: ["agent"], registers: [registry] });
  const refresh = (): void => {
    const roles = listRoles();
    roleCount.set({ agent }, roles.length);
    for (const existing of gauges.values()) existing.reset();
    for (const info of roles) {
      const prefix = `framefleet_${info.role.replace(NAME, "_")}`;
      const labels = { agent, role: info.role, id: info.id };
      for (const [field, value] of Object.entries(info.stats)) {
        if (typeof value === "number") gauge(`${prefix}_${field.replace(NAME, "_")}`, ["agent", "role", "id"]).set(labels, value);
      }
      const latency = "latency_ms" in info.stats ? info.stats.latency_ms : undefined;
      if (latency) {
        const latencyGauge = gauge(`${prefix}_latency_ms`, ["agent", "role", "id", "quantile"]);
        latencyGauge.set({ ...labels, quantile: "0.5" }, latency.p50 ?? 0);
        latencyGauge.set({ ...labels, quantile: "0.99" }, latency.p99 ?? 0);
      }
      const topics = "topics" in info.stats ? info.stats.topics : {};
      for (const [topic, figures] of Object.entries(topics)) {
        for (const [field, value] of Object.entries(figures)) {
          gauge(`${prefix}_topic_${field.replace(NAME, "_")}`, ["agent", "role", "id", "topic"]).set({ ...labels, topic }, value);
        }
      }
    }
  };
  return {
    contentType: registry.contentType,
    render: () => {
      refresh();
      return registry.metrics();
    },
  };
}
