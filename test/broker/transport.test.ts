// The NATS JetStream transport end to end: a real nats-server, real worker processes, a manager with --broker; results equal sharp's, late results discarded, poison tasks fail and leave nothing behind.
import { describe, expect, test } from "bun:test";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import { jetstream } from "@nats-io/jetstream";
import { fromBody, HEADERS, TASK_STREAMS, toBody } from "../../agent/broker";
import { describeWith } from "../_requires";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, readPhotos, spawnAgent, startRole, waitUntil } from "../helpers";
import { countAckPending, countMessages, describeImage, expectedOf, managerClient, spawnWorker, startBroker } from "./broker-fleet";

const photos = readPhotos();
const IMAGE_STREAM = TASK_STREAMS.image.name;

/** A manager in process on the broker, its log lines kept. */
async function startManager(url: string, token: string, options: Record<string, unknown>) {
  const lines: Record<string, unknown>[] = [];
  const manager = await startRole("manager", { port: 0, broker: url, ...options }, { token, log: (event, fields) => void lines.push({ event, ...fields }) });
  return { manager, lines, client: managerClient(manager.stats().port as number, token) };
}

describeWith("nats-server")("broker transport", () => {
  test("stripes over the Object Store and a whole file, on two worker processes, come back equal to sharp's", async () => {
    await using broker = await startBroker();
    const { manager, client } = await startManager(broker.server.url, broker.server.token, { split: "stripes", taskTimeout: "5s" });
    await using _manager = manager;
    await using _a = await spawnWorker(broker, "wa");
    await using _b = await spawnWorker(broker, "wb");
    await waitUntil("both workers heard", () => manager.stats().workers, (workers) => workers === 2);
    const photo = photos.get("chelsea-480p.jpg")!;
    // 722 x 480 x 3 in 2 stripes: each over 512 KiB, so each goes through the Object Store both ways.
    const striped = await client.post(photo, "blur", { sigma: "2" });
    await waitUntil("the striped job", () => client.view(striped), (view) => view.state === "done" || view.state === "failed");
    // resize is not stripeable: the file goes whole to one worker, which decodes it.
    const whole = photos.get("astronaut.jpg")!;
    const wholeId = await client.post(whole, "resize", { width: "100" });
    await waitUntil("the whole-file job", () => client.view(wholeId), (view) => view.state === "done" || view.state === "failed");
    expect({
      striped: describeImage(await client.result(striped)),
      whole: describeImage(await client.result(wholeId)),
      left: await waitUntil("the stream to be empty", () => countMessages(broker, IMAGE_STREAM), (count) => count === 0, 10_000).catch(() => -1),
    }).toEqual({
      striped: describeImage(await expectedOf(photo, "blur", { sigma: 2 })),
      whole: describeImage(await expectedOf(whole, "resize", { width: 100 })),
      left: 0,
    });
  });

  test("--split stripes over the broker: N stripes for N workers, an 8K photo (99.5 MB raw) in 2 stripes on 2 workers", async () => {
    await using broker = await startBroker();
    const { manager, client } = await startManager(broker.server.url, broker.server.token, { split: "stripes", taskTimeout: "60s" });
    await using _manager = manager;
    await using _a = await spawnWorker(broker, "wa");
    await using _b = await spawnWorker(broker, "wb");
    await waitUntil("both workers heard", () => manager.stats().workers, (workers) => workers === 2);
    const events = watchEvents(manager.stats().port as number, broker.server.token);
    await events.opened;
    const id = await client.post(new Uint8Array(readFileSync(join(FIXTURES, "large", "coffee-8k.jpg"))), "invert");
    const view = await waitUntil("the 8K job", () => client.view(id), (view) => view.state === "done" || view.state === "failed", 120_000, 100);
    const started = events.list.filter((event) => event.type === "job-started").map(({ stripes }) => stripes);
    const workers = new Set(events.list.filter((event) => event.type === "task-done").map(({ workerId }) => workerId));
    events.close();
    // Without the exact split the scheduler pipelines past 16 MiB a stripe: 6 stripes.
    expect({ state: view.state, started, workers: workers.size }).toEqual({ state: "done", started: [2], workers: 2 });
  });

  test("classify on a recognition worker process over the broker: top labels cat, cup, person", async () => {
    await using broker = await startBroker();
    const { manager, client } = await startManager(broker.server.url, broker.server.token, { taskTimeout: "10s" });
    await using _manager = manager;
    await using _worker = await spawnWorker(broker, "rw", [], "recognition-worker");
    const ids = await Promise.all(["chelsea.jpg", "coffee.jpg", "astronaut.jpg"].map((name) => client.post(photos.get(name)!, "classify")));
    for (const id of ids) await waitUntil(`classify job ${id}`, () => client.view(id), (view) => view.state === "done" || view.state === "failed");
    const tops = await Promise.all(ids.map(async (id) => (await client.json(id)).top5?.[0]?.label ?? (await client.view(id)).error));
    // A worker acks after it publishes: the last ack may land just after the manager took the result.
    const left = await waitUntil("the classify stream to be empty", () => countMessages(broker, TASK_STREAMS.recognition.name), (count) => count === 0, 10_000).catch(() => -1);
    expect({ tops, left }).toEqual({ tops: ["cat", "cup", "person"], left: 0 });
  });

  test("late result: a worker whose answer waits past AckWait has it discarded; the redelivered attempt's result is kept", async () => {
    await using broker = await startBroker();
    const { manager, client, lines } = await startManager(broker.server.url, broker.server.token, { taskTimeout: "1s", maxAttempts: 3, split: "file" });
    await using _manager = manager;
    const events = watchEvents(manager.stats().port as number, broker.server.token);
    // The impairment `delay` holds each of its answers 2.5 s after the work is done, past the 1 s AckWait.
    await using _slow = await spawnWorker(broker, "slow", ["--impair", '{"delay":"2500ms"}']);
    const photo = photos.get("chelsea-480p.jpg")!;
    const id = await client.post(photo, "grayscale");
    await waitUntil("the slow worker to hold attempt 1", () => countAckPending(broker, IMAGE_STREAM), (pending) => pending === 1);
    await using _fast = await spawnWorker(broker, "fast");
    await waitUntil("the job", () => client.view(id), (view) => view.state === "done" || view.state === "failed");
    await waitUntil("the late answer", () => lines.filter((line) => line.event === "task_discarded"), (found) => found.length > 0);
    const done = events.list.filter((event) => event.type === "task-done").map(({ attempt, workerId }) => ({ attempt, workerId }));
    const discarded = lines.filter((line) => line.event === "task_discarded").map(({ attempt, from, reason }) => ({ attempt, from, reason }));
    expect({ done, discarded, result: describeImage(await client.result(id)), discardedCount: manager.stats().tasks_discarded }).toEqual({
      done: [{ attempt: 2, workerId: "fast" }],
      discarded: [{ attempt: 1, from: "slow", reason: "stale-attempt" }],
      result: describeImage(await expectedOf(photo, "grayscale")),
      discardedCount: 1,
    });
    events.close();
  });

  test("a task running past AckWait is kept alive by working(): done by its first delivery, never sent again", async () => {
    await using broker = await startBroker();
    const { manager, client, lines } = await startManager(broker.server.url, broker.server.token, { taskTimeout: "500ms", maxAttempts: 2, split: "file" });
    await using _manager = manager;
    const events = watchEvents(manager.stats().port as number, broker.server.token);
    // cpu 0.05: each task idles 19x its CPU time inside the task, so it runs several AckWaits long.
    await using _slow = await spawnWorker(broker, "slow", ["--impair", '{"cpu":0.05}']);
    const photo = photos.get("chelsea-480p.jpg")!;
    const began = performance.now();
    const id = await client.post(photo, "blur", { sigma: "4" });
    await waitUntil("the job", () => client.view(id), (view) => view.state === "done" || view.state === "failed");
    const ms = performance.now() - began;
    const done = events.list.filter((event) => event.type === "task-done").map(({ attempt, workerId }) => ({ attempt, workerId }));
    expect({ longerThanAckWait: ms > 1000, done, retried: lines.filter((line) => line.event === "task_retry" || line.event === "task_discarded"), result: describeImage(await client.result(id)) }).toEqual({
      longerThanAckWait: true,
      done: [{ attempt: 1, workerId: "slow" }],
      retried: [],
      result: describeImage(await expectedOf(photo, "blur", { sigma: 4 })),
    });
    events.close();
  });

  test("poison: a task no worker answers fails after MaxDeliver (3) deliveries with its reason; the stream keeps no message of it", async () => {
    await using broker = await startBroker();
    const { manager, client } = await startManager(broker.server.url, broker.server.token, { taskTimeout: "1s", maxAttempts: 3, split: "file" });
    await using _manager = manager;
    // loss 1: the worker runs every task and sends no answer, so it never acks: each delivery times out.
    await using _mute = await spawnWorker(broker, "mute", ["--impair", '{"loss":1}']);
    const id = await client.post(photos.get("chelsea.jpg")!, "invert");
    const view = await waitUntil("the job", () => client.view(id), (view) => view.state === "done" || view.state === "failed");
    await waitUntil("the stream to be empty", () => countMessages(broker, IMAGE_STREAM), (count) => count === 0);
    expect([view.state, view.error]).toEqual(["failed", expect.stringMatching(/^TASK_FAILED: images\[0\] \(photo.jpg\): task \S+ was delivered 3 of 3 times; last: timeout: no answer within AckWait \(1000 ms\)$/)]);
  });

  test("poison: a file every worker fails to decode fails at once with the worker's reason, its message terminated", async () => {
    await using broker = await startBroker();
    const { manager, client } = await startManager(broker.server.url, broker.server.token, { taskTimeout: "5s", maxAttempts: 3, split: "file" });
    await using _manager = manager;
    await using _worker = await spawnWorker(broker, "wa");
    // The header is whole (the manager reads the size from it), the scan data is cut: only a worker's decode finds out.
    const id = await client.post(photos.get("chelsea.jpg")!.slice(0, 2000), "invert", {}, "cut.jpg");
    const view = await waitUntil("the job", () => client.view(id), (view) => view.state === "done" || view.state === "failed");
    // The worker terminates the task after it publishes the error: wait for that to land.
    const left = await waitUntil("the stream to be empty", async () => (await countMessages(broker, IMAGE_STREAM)) + (await countAckPending(broker, IMAGE_STREAM)), (count) => count === 0, 10_000).catch(() => -1);
    expect({ state: view.state, error: view.error, left }).toEqual({
      state: "failed",
      error: expect.stringMatching(/^(NOT_AN_IMAGE|BAD_IMAGE): images\[0\] \(cut.jpg\): wa: /),
      left: 0,
    });
  });

  test("a task message that fails the task contract is answered with an error result saying why, never run", async () => {
    await using broker = await startBroker();
    await using _worker = await spawnWorker(broker, "wa");
    const nc = await connect({ servers: broker.server.url, token: broker.server.token });
    const answers: { worker: string | undefined; message: unknown }[] = [];
    nc.subscribe("framefleet.result.test.>", { callback: (_error, msg) => void answers.push({ worker: msg.headers?.get(HEADERS.worker), message: fromBody(msg.data) }) });
    const js = jetstream(nc);
    const send = async (taskId: string, params: Record<string, unknown>, payload: Uint8Array) => {
      const headers = natsHeaders();
      headers.set(HEADERS.task, taskId);
      headers.set(HEADERS.reply, "framefleet.result.test.job");
      await js.publish("framefleet.task.blur", toBody({ type: "assign", taskId, attempt: 1, op: "blur", params, payload }), { headers });
    };
    await send("job/s0", { sigma: 99, image: { width: 2, height: 2, channels: 1 } }, new Uint8Array(4));
    await send("job/s1", { sigma: 2, image: { width: 2, height: 2, channels: 1 } }, new Uint8Array(3));
    // Not input faults: each is sent again (attempt + 1) up to MaxDeliver, as on TCP; the first attempts are what this test reads.
    await waitUntil("both first answers", () => answers.filter(({ message }) => (message as { attempt: number }).attempt === 1).length, (count) => count === 2);
    await nc.close();
    const firsts = answers.map(({ worker, message }) => ({ worker, ...(message as { type: string; taskId: string; attempt: number; code: string }) })).filter((answer) => answer.attempt === 1);
    expect(firsts.map(({ worker, type, taskId, attempt, code }) => ({ worker, type, taskId, attempt, code })).sort((a, b) => a.taskId.localeCompare(b.taskId))).toEqual([
      { worker: "wa", type: "error", taskId: "job/s0", attempt: 1, code: "BAD_PARAMS" },
      { worker: "wa", type: "error", taskId: "job/s1", attempt: 1, code: "BAD_TASK" },
    ]);
  });

  test("a second live manager with the same --id is refused (it would read the first one's results)", async () => {
    await using broker = await startBroker();
    const { manager } = await startManager(broker.server.url, broker.server.token, { id: "twin" });
    await using _first = manager;
    const second = await startManager(broker.server.url, broker.server.token, { id: "twin" }).then(
      async ({ manager: twin }) => (await twin.stop(), "started"),
      (error) => `${error.code}: ${error.message}`,
    );
    expect(second).toBe("MANAGER_ID_IN_USE: a live manager on the broker already has the id twin; give this one another --id");
  });

  test("a broker that is not there: the worker exits with one line naming the package nats-server, no stack trace", async () => {
    const port = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const free = port.port;
    port.stop(true);
    await using worker = spawnAgent(["--role", "grayscale-worker", "--broker", `nats://127.0.0.1:${free}`, "--no-control"]);
    const code = await worker.process.exited;
    const text = worker.stderr().trim();
    expect({ code, lines: text.split("\n").length, names: text.includes("nats-server"), stack: /\n\s+at /.test(text) }).toEqual({ code: 2, lines: 1, names: true, stack: false });
  });
});

/** The manager's `/events`, collected. */
function watchEvents(port: number, token: string) {
  const list: Record<string, unknown>[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${port}/events?token=${token}`);
  socket.onmessage = (message) => void list.push(JSON.parse(String(message.data)));
  const opened = new Promise<void>((resolve) => (socket.onopen = () => resolve()));
  return { list, opened, close: () => socket.close() };
}
