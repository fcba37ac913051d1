// docs/grafana/framefleet.json without Grafana: importable shape, the datasource variable on every query, the panels issue 17 asks for, and only metrics /metrics has.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DURATIONS } from "../../agent/control/prometheus";
import { makeTempDir, REPO } from "../helpers";
import { startFleet, writeFakeSysfs } from "./_fleet";

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource: { uid: string } }[];
}
const dashboard = JSON.parse(readFileSync(join(REPO, "docs", "grafana", "framefleet.json"), "utf8")) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown }[] };
};

test("the dashboard has a datasource variable that every panel and query uses, unique panel ids, and the panels of the issue", () => {
  const queries = dashboard.panels.filter((panel) => panel.type !== "row");
  expect({
    variables: dashboard.templating.list.map((variable) => [variable.name, variable.type]),
    datasourceQuery: dashboard.templating.list[0]!.query,
    uniqueIds: new Set(dashboard.panels.map((panel) => panel.id)).size === dashboard.panels.length,
    notOnVariable: queries.filter((panel) => panel.datasource?.uid !== "${datasource}" || panel.targets!.some((target) => target.datasource.uid !== "${datasource}")).map((panel) => panel.title),
    titles: queries.map((panel) => panel.title),
  }).toEqual({
    variables: [["datasource", "datasource"], ["agent", "query"]],
    datasourceQuery: "prometheus",
    uniqueIds: true,
    notOnVariable: [],
    titles: [
      "Images/s saved per agent and topic",
      "Mbit/s per agent",
      "Save latency (sender's X-Sent-At to saved)",
      "Save latency p50 and p99",
      "Receiver queue depth",
      "503 answers/s (queue full)",
      "Manager jobs",
      "Retransmissions/s",
      "Worker credit and tasks in flight",
      "Job and task duration p99",
      "Streamer viewers per channel",
      "Delivered frames/s",
      "Encodes/s per tier",
      "Pi temperature",
      "Pi throttling (1 = now)",
      "Agent CPU (cores)",
    ],
  });
});

test("every metric the dashboard's queries name is one an agent running every role exports", async () => {
  using sys = makeTempDir();
  writeFakeSysfs(sys.path);
  await using fleet = await startFleet({ boardRoot: sys.path });
  const exported = new Set([...(await fleet.scrape()).matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === "histogram" ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!])));
  const named = [...new Set(dashboard.panels.flatMap((panel) => panel.targets ?? []).flatMap((target) => target.expr.match(/framefleet_[a-z0-9_]+/g) ?? []))];
  expect({ unknown: named.filter((name) => !exported.has(name)), histogramsShown: Object.values(DURATIONS).filter(({ name }) => named.includes(`${name}_bucket`)).map(({ name }) => name) }).toEqual({
    unknown: [],
    histogramsShown: ["framefleet_receiver_save_latency_seconds", "framefleet_manager_job_duration_seconds", "framefleet_worker_task_duration_seconds"],
  });
});
