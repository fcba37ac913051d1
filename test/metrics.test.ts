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

/** Receiver counters and gauges and the /stats figure each one mirrors. */
const RECEIVER_FIGURES = {
  framefleet_receiver_images_received_total: "received",
  framefleet_receiver_images_saved_total: "saved",
  framefleet_receiver_images_failed_total: "failed",
  framefleet_receiver_images_rejected_total: "rejected",
  framefleet_receiver_busy_responses_total: "busy",
  framefleet_receiver_saved_bytes_total: "bytes",
  framefleet_receiver_sync_passes_total: "sync_passes",
  framefleet_receiver_recovered_temp_files_total: "recovered_temp_files",
  framefleet_receiver_queue_images: "queue_depth",
  framefleet_receiver_queue_bytes: "queue_bytes",
} as const;

test("every receiver figure is a counter or gauge labelled agent, role, id (and topic) with the value /stats gives; latency a histogram", async () => {
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
  const text = await response.text();
  const families = parsePrometheusTextFormat(text) as Family[];
  const byName = new Map(families.map((family) => [family.name, family]));
  const role = { agent: "test", role: "receiver", id: started.id };
  // The parser drops a histogram's labels: its count and sum are read from the text.
  const latencySeries = (suffix: string) => text.split("\n").filter((line) => line.startsWith(`framefleet_receiver_save_latency_seconds_${suffix}{`));
  const receiverNames = families.map((family) => family.name).filter((name) => name.startsWith("framefleet_receiver_"));

  expect({
    contentType: response.headers.get("content-type"),
    names: receiverNames.sort(),
    types: Object.fromEntries(receiverNames.map((name) => [name, byName.get(name)!.type])),
    figures: Object.fromEntries(Object.keys(RECEIVER_FIGURES).map((name) => [name, byName.get(name)!.metrics])),
    roles: byName.get("framefleet_agent_roles")!.metrics,
    info: byName.get("framefleet_role_info")!.metrics,
    latencyCount: latencySeries("count"),
    latencyBuckets: latencySeries("bucket").length,
    topics: Object.fromEntries(["received", "saved"].map((field) => [field, byName.get(`framefleet_receiver_topic_images_${field}_total`)!.metrics])),
  }).toEqual({
    contentType: expect.stringContaining("text/plain; version=0.0.4"),
    names: [...Object.keys(RECEIVER_FIGURES), "framefleet_receiver_save_latency_seconds", "framefleet_receiver_topic_images_received_total", "framefleet_receiver_topic_images_saved_total"].sort(),
    types: Object.fromEntries(receiverNames.map((name) => [name, name.endsWith("_seconds") ? "HISTOGRAM" : name.endsWith("_total") ? "COUNTER" : "GAUGE"])),
    figures: Object.fromEntries(Object.entries(RECEIVER_FIGURES).map(([name, field]) => [name, [{ labels: role, value: String(stats[field]) }]])),
    roles: [{ labels: { agent: "test" }, value: "1" }],
    info: [{ labels: { ...role, port: String(stats.port) }, value: "1" }],
    latencyCount: [`framefleet_receiver_save_latency_seconds_count{agent="test",role="receiver",id="${started.id}"} 3`],
    latencyBuckets: 14,
    topics: Object.fromEntries(
      (["received", "saved"] as const).map((field) => [field, Object.entries(stats.topics).map(([topic, figures]) => ({ labels: { ...role, topic }, value: String(figures[field]) }))]),
    ),
  });
  expect({ saved: stats.saved, rejected: stats.rejected, topics: Object.keys(stats.topics).sort() }).toEqual({ saved: 3, rejected: 1, topics: ["garden", "kitchen"] });
  // Against counts made outside the role: what this test posted, and the files on disk.
  const value = (name: string, labels: Record<string, string> = role) =>
    byName.get(name)!.metrics.find((sample) => JSON.stringify(sample.labels) === JSON.stringify(labels))?.value;
  expect({
    saved: value("framefleet_receiver_images_saved_total"),
    rejected: value("framefleet_receiver_images_rejected_total"),
    kitchen: value("framefleet_receiver_topic_images_saved_total", { ...role, topic: "kitchen" }),
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
    senderOk: valueOf(families, "framefleet_sender_images_ok_total", sender.id),
    managerDone: valueOf(families, "framefleet_manager_jobs_done_total", manager.id),
    streamerViewers: families.find((family) => family.name === "framefleet_streamer_viewers")?.metrics.find((sample) => sample.labels?.id === streamer.id && sample.labels?.channel === "low")?.value,
  }).toEqual({ senderOk: String(saved), managerDone: "2", streamerViewers: "1" });
});

test("a stopped role's series leave /metrics: counters, gauges, info and histograms alike", async () => {
  using dir = makeTempDir();
  const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
  const app = await createControlApp({ agent: "test", version: "0.0.0", supervisor });
  await using _stop = { [Symbol.asyncDispose]: async () => void (await supervisor.stopAll()) };
  const scrape = async () => (await app.handle(new Request("http://localhost/metrics"))).text();
  const receiver = await supervisor.start("receiver", { port: 0, out: "images" }, "api");
  const photo = readPhotos().get("coffee-480p.jpg")!;
  await fetch(`http://127.0.0.1:${receiver.stats.port}/upload`, { method: "POST", body: photo, headers: { "content-type": "image/jpeg", "x-sent-at": String(Date.now()) } });
  await waitUntil("1 image saved", () => checkRole(supervisor.get(receiver.id), "receiver").stats.saved, (saved) => saved === 1);
  const seriesOf = (text: string) => text.split("\n").filter((line) => line.includes(`id="${receiver.id}"`)).map((line) => line.split("{")[0]);
  const before = seriesOf(await scrape());
  await supervisor.stop(receiver.id);
  const after = seriesOf(await scrape());
  expect({ before: ["framefleet_role_info", "framefleet_receiver_images_saved_total", "framefleet_receiver_save_latency_seconds_count"].filter((name) => before.includes(name)).length, after }).toEqual({ before: 3, after: [] });
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
