// GET /metrics of a receiver read back with a Prometheus text-format parser: names, labels and values match its /stats.
import { expect, test } from "bun:test";
// @ts-expect-error the package ships no types; what it answers is typed below
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { createControlApp } from "../agent/control";
import { Supervisor } from "../agent/supervisor";
import type { ReceiverStats, RoleInfo } from "../agent/wire";
import { makeTempDir, quietContext, readPhotos, waitUntil } from "./helpers";

/** One metric family as the parser answers it (the shape of prom2json). */
interface Family {
  name: string;
  type: string;
  metrics: { labels?: Record<string, string>; value: string }[];
}

/** The receiver figures that do not move while nothing is posted (rates and elapsed time do). */
const STEADY = ["port", "received", "saved", "failed", "rejected", "busy", "queue_depth", "queue_bytes", "bytes"] as const;

test("every receiver figure is a gauge labelled agent, role, id (and topic, quantile) with the value /stats gives", async () => {
  using dir = makeTempDir();
  const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
  const app = await createControlApp({ agent: "test", version: "0.0.0", supervisor });
  await using _stop = { [Symbol.asyncDispose]: async () => void (await supervisor.stopAll()) };
  const call = async (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));
  const started = (await (await call("/v1/roles", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ role: "receiver", options: { port: 0, out: "images" } }) })).json()) as RoleInfo;
  const photo = readPhotos().get("coffee-480p.jpg")!;
  const uploads = [["kitchen", photo], ["kitchen", photo], ["garden", photo], ["garden", new TextEncoder().encode("not a jpeg")]] as const;
  for (const [topic, body] of uploads)
    await fetch(`http://127.0.0.1:${started.stats.port}/upload`, { method: "POST", body, headers: { "content-type": "image/jpeg", "x-topic": topic, "x-sent-at": String(Date.now()) } });
  await waitUntil("3 images saved", () => supervisor.get(started.id).stats, (stats) => stats.saved === 3, undefined, 5);

  const stats = (await (await call(`/v1/roles/${started.id}/stats`)).json()) as ReceiverStats;
  const response = await call("/metrics");
  const families = parsePrometheusTextFormat(await response.text()) as Family[];
  const byName = new Map(families.map((family) => [family.name, family]));
  const role = { agent: "test", role: "receiver", id: started.id };
  const numeric = Object.keys(stats).filter((key) => typeof stats[key as keyof ReceiverStats] === "number");
  const topicFields = ["received", "saved", "images_per_s"];

  expect({
    contentType: response.headers.get("content-type"),
    names: families.map((family) => family.name).sort(),
    types: [...new Set(families.map((family) => family.type))],
    roles: byName.get("framefleet_roles")!.metrics,
    steady: Object.fromEntries(STEADY.map((field) => [field, byName.get(`framefleet_receiver_${field}`)!.metrics])),
    rates: ["images_per_s", "mbit_per_s", "elapsed_s"].map((field) => byName.get(`framefleet_receiver_${field}`)!.metrics.map((sample) => sample.labels)),
    latency: byName.get("framefleet_receiver_latency_ms")!.metrics,
    topics: Object.fromEntries(["received", "saved"].map((field) => [field, byName.get(`framefleet_receiver_topic_${field}`)!.metrics])),
  }).toEqual({
    contentType: expect.stringContaining("text/plain; version=0.0.4"),
    names: ["framefleet_roles", ...numeric.map((field) => `framefleet_receiver_${field}`), "framefleet_receiver_latency_ms", ...topicFields.map((field) => `framefleet_receiver_topic_${field}`)].sort(),
    types: ["GAUGE"],
    roles: [{ labels: { agent: "test" }, value: "1" }],
    steady: Object.fromEntries(STEADY.map((field) => [field, [{ labels: role, value: String(stats[field]) }]])),
    rates: [[role], [role], [role]],
    latency: [
      { labels: { ...role, quantile: "0.5" }, value: String(stats.latency_ms.p50) },
      { labels: { ...role, quantile: "0.99" }, value: String(stats.latency_ms.p99) },
    ],
    topics: Object.fromEntries(
      (["received", "saved"] as const).map((field) => [field, Object.entries(stats.topics).map(([topic, figures]) => ({ labels: { ...role, topic }, value: String(figures[field]) }))]),
    ),
  });
  expect({ saved: stats.saved, rejected: stats.rejected, topics: Object.keys(stats.topics).sort() }).toEqual({ saved: 3, rejected: 1, topics: ["garden", "kitchen"] });
});
