// GET /metrics of a receiver read back with a Prometheus text-format parser: names, labels and values match its /stats.
import { expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
// @ts-expect-error the package ships no types; what it answers is typed below
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { createControlApp } from "../agent/control/app";
import { RateSeries } from "../agent/metrics";
import { Supervisor } from "../agent/control/supervisor";
import { checkRole, type ReceiverStats, type RoleInfoOf } from "../agent/wire";
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
  const started = (await (await call("/v1/roles", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ role: "receiver", options: { port: 0, out: "images" } }) })).json()) as RoleInfoOf<"receiver">;
  const photo = readPhotos().get("coffee-480p.jpg")!;
  const uploads = [["kitchen", photo], ["kitchen", photo], ["garden", photo], ["garden", new TextEncoder().encode("not a jpeg")]] as const;
  for (const [topic, body] of uploads)
    await fetch(`http://127.0.0.1:${started.stats.port}/upload`, { method: "POST", body, headers: { "content-type": "image/jpeg", "x-topic": topic, "x-sent-at": String(Date.now()) } });
  await waitUntil("3 images saved", () => checkRole(supervisor.get(started.id), "receiver").stats, (stats) => stats.saved === 3, undefined, 5);

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
  // Against counts made outside the role: what this test posted, and the files on disk.
  const value = (name: string, labels: Record<string, string> = role) =>
    byName.get(name)!.metrics.find((sample) => JSON.stringify(sample.labels) === JSON.stringify(labels))?.value;
  expect({
    saved: value("framefleet_receiver_saved"),
    rejected: value("framefleet_receiver_rejected"),
    kitchen: value("framefleet_receiver_topic_saved", { ...role, topic: "kitchen" }),
    files: String(readdirSync(join(dir.path, "images", "kitchen")).length + readdirSync(join(dir.path, "images", "garden")).length),
  }).toEqual({ saved: "3", rejected: "1", kitchen: "2", files: "3" });
});

test("sender, manager and streamer figures are exported too, each equal to a count made outside the role", async () => {
  using dir = makeTempDir();
  const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
  const app = await createControlApp({ agent: "test", version: "0.0.0", supervisor });
  await using _stop = { [Symbol.asyncDispose]: async () => void (await supervisor.stopAll()) };
  const start = async <Name extends string>(role: Name, options: Record<string, unknown>) => supervisor.start(role, options, "api");
  const scrape = async () => parsePrometheusTextFormat(await (await app.handle(new Request("http://localhost/metrics"))).text()) as Family[];
  const valueOf = (families: Family[], name: string, id: string) => families.find((family) => family.name === name)?.metrics.find((sample) => sample.labels?.id === id)?.value;

  const receiver = await start("receiver", { port: 0, out: "images" });
  // A sender that ends by itself stays listed (ended) with its final figures.
  const sender = await start("sender", { target: [`http://127.0.0.1:${receiver.stats.port}/upload`], source: "synthetic:64x48", multiply: 2, fps: 20, duration: "500ms" });
  await supervisor.ended(sender.id);
  const manager = await start("manager", { port: 0, workerPort: 0 });
  await start("grayscale-worker", { manager: `127.0.0.1:${manager.stats.worker_port}`, concurrency: 1 });
  await waitUntil("the worker to join", () => checkRole(supervisor.get(manager.id), "manager").stats, (stats) => stats.workers === 1);
  const form = new FormData();
  for (const name of ["a.jpg", "b.jpg"]) form.append("images", new File([readPhotos().get("chelsea-480p.jpg")!], name));
  form.append("op", "invert");
  expect((await fetch(`http://127.0.0.1:${manager.stats.port}/jobs?wait=1`, { method: "POST", body: form })).status).toBe(200);
  const streamer = await start("streamer", { port: 0, source: "synthetic:64x48", fps: 10 });
  const viewer = await fetch(`http://127.0.0.1:${streamer.stats.port}/stream?quality=low`);
  await waitUntil("one viewer", () => checkRole(supervisor.get(streamer.id), "streamer").stats, (stats) => stats.viewer_count === 1);

  const families = await scrape();
  await viewer.body?.cancel();
  const saved = readdirSync(join(dir.path, "images", "topic-0")).length;
  expect({
    senderOk: valueOf(families, "framefleet_sender_ok", sender.id),
    managerDone: valueOf(families, "framefleet_manager_jobs_done", manager.id),
    streamerViewers: valueOf(families, "framefleet_streamer_viewer_count", streamer.id),
  }).toEqual({ senderOk: String(saved), managerDone: "2", streamerViewers: "1" });
});

test("rate_5s counts the last 5 complete seconds only: the current second and older ones are left out", () => {
  const series = new RateSeries();
  const second = (s: number, ms = 0) => s * 1000 + ms;
  series.add(100, 0, second(1000)); // 6 s before "now": outside the window
  for (const s of [1001, 1002, 1003, 1004, 1005]) series.add(10, 1000, second(s, 500));
  series.add(7, 0, second(1006, 10)); // the current, incomplete second
  expect({ rate: series.rate(5, second(1006, 900)), points: series.points().length }).toEqual({ rate: 10, points: 7 });
  expect(series.rate(5, second(1012))).toBe(0);
});
