// At-least-once delivery over real sockets: timeouts, disconnects, missed heartbeats, late and duplicate results, attempts, bad versions.
import { describe, expect, test } from "bun:test";
import { applyOp } from "../../agent/imaging/ops";
import { Scheduler } from "../../agent/roles/manager/scheduler";
import { MESSAGE_TYPES, PROTOCOL_VERSION, encodeFrame } from "../../agent/protocol";
import { dialRaw } from "../protocol/peers";
import { checked, makeGradient, pick, recordEvents, startWorker } from "./_fleet";

function startScheduler(options: { taskTimeoutMs?: number; maxAttempts?: number; heartbeatMs?: number } = {}) {
  const scheduler = new Scheduler({ hostname: "127.0.0.1", port: 0, ...options });
  return { scheduler, log: recordEvents((listener) => scheduler.on(listener)) };
}

/** A one-stripe job (one row high), so one task carries the whole story. */
const image = makeGradient(24, 1);
const expected = await applyOp("grayscale", {}, image);
const job = { id: "j", op: "grayscale", params: {}, image };
/** The challenge an open scheduler sends first on every connection (its nonce is fresh each time). */
const challenge = { type: "challenge", version: PROTOCOL_VERSION, nonce: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/), auth: false } as const;

describe("Scheduler delivery", () => {
  test("a silent worker's task times out and is redone by the other worker; the result is taken once", async () => {
    // The retry must find "good" connected, or it goes back to "silent": 2 s leaves a loaded box's worker start a wide margin.
    const { scheduler, log } = startScheduler({ taskTimeoutMs: 2000 });
    await using _ = scheduler;
    await using silent = await startWorker(scheduler.port, { workerId: "silent", credit: 2 }, () => "silent");
    await log.waitFor((event) => event.type === "worker-joined");
    const result = scheduler.submit(checked(job));
    await silent.until(1);
    await using _good = await startWorker(scheduler.port, { workerId: "good" });
    expect(await result).toEqual(expected);
    expect(pick(log.events, "task-retry", ["detail"])).toEqual([
      { type: "task-retry", jobId: "j", taskId: "j/s0", stripe: 0, attempt: 2, fromWorker: "silent", reason: "timeout" },
    ]);
    expect(pick(log.events, "task-done", ["ms", "timing"])).toEqual([{ type: "task-done", jobId: "j", taskId: "j/s0", stripe: 0, attempt: 2, workerId: "good" }]);
    expect(silent.assigns.length).toBe(1);
  });

  test("a late result of an older attempt is discarded, even before the current attempt answers", async () => {
    // The first attempt must time out; the second must not before the test answers it: 1 s leaves the test's steps a wide margin.
    const { scheduler, log } = startScheduler({ taskTimeoutMs: 1000 });
    await using _ = scheduler;
    await using first = await startWorker(scheduler.port, { workerId: "first" }, () => "silent");
    await using second = await startWorker(scheduler.port, { workerId: "second" }, () => "silent");
    await log.waitFor((event) => event.type === "worker-joined" && event.workerId === "second");
    const result = scheduler.submit(checked(job));
    await second.until(1);
    await first.answer(first.assigns[0]!);
    await log.waitFor((event) => event.type === "task-discarded");
    await second.answer(second.assigns[0]!);
    expect(await result).toEqual(expected);
    await second.answer(second.assigns[0]!);
    await log.waitFor((event) => event.type === "task-discarded" && event.attempt === 2);
    expect(pick(log.events, "task-discarded")).toEqual([
      { type: "task-discarded", taskId: "j/s0", attempt: 1, workerId: "first", reason: "stale-attempt" },
      { type: "task-discarded", taskId: "j/s0", attempt: 2, workerId: "second", reason: "not-held" },
    ]);
    expect(pick(log.events, "task-done", ["ms", "timing"])).toEqual([{ type: "task-done", jobId: "j", taskId: "j/s0", stripe: 0, attempt: 2, workerId: "second" }]);
    expect(scheduler.workerList().map((worker) => worker.inFlight)).toEqual([0, 0]);
  });

  test("a worker disconnecting mid-task: the task goes to another worker", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using _leaver = await startWorker(scheduler.port, { workerId: "leaver", credit: 5 }, () => "leave");
    await log.waitFor((event) => event.type === "worker-joined");
    const result = scheduler.submit(checked(job));
    await log.waitFor((event) => event.type === "task-retry");
    await using _stayer = await startWorker(scheduler.port, { workerId: "stayer" });
    expect(await result).toEqual(expected);
    expect(pick(log.events, "task-retry", ["detail"])).toEqual([
      { type: "task-retry", jobId: "j", taskId: "j/s0", stripe: 0, attempt: 2, fromWorker: "leaver", reason: "disconnect" },
    ]);
    expect(pick(log.events, "worker-left")).toEqual([{ type: "worker-left", workerId: "leaver", reason: "PEER_BYE: peer said bye: leaving mid-task" }]);
  });

  test("a worker that misses 3 heartbeats is dropped and its task redone", async () => {
    // 3 missed beats of 200 ms: a live worker's beats survive a loaded box's event-loop lag; the muted one's stop for good.
    const { scheduler, log } = startScheduler({ heartbeatMs: 200, taskTimeoutMs: 60_000 });
    await using _ = scheduler;
    await using mute = await startWorker(scheduler.port, { workerId: "mute" }, () => "silent");
    await log.waitFor((event) => event.type === "worker-joined");
    const result = scheduler.submit(checked(job));
    await mute.until(1);
    mute.mute();
    await using _good = await startWorker(scheduler.port, { workerId: "good" });
    expect(await result).toEqual(expected);
    expect(pick(log.events, "task-retry", ["detail"])).toEqual([
      { type: "task-retry", jobId: "j", taskId: "j/s0", stripe: 0, attempt: 2, fromWorker: "mute", reason: "heartbeat" },
    ]);
    expect(pick(log.events, "worker-left", ["reason"])).toEqual([{ type: "worker-left", workerId: "mute" }]);
    expect(await mute.connection.closed.then((reason) => reason.code)).toBe("PEER_BYE");
  });

  test("a worker answering STOPPING gets no more tasks; its refusals do not spend attempts", async () => {
    const { scheduler, log } = startScheduler({ maxAttempts: 1 });
    await using _ = scheduler;
    await using stopping = await startWorker(scheduler.port, { workerId: "stopping", credit: 2 }, () => "stopping");
    await log.waitFor((event) => event.type === "worker-joined");
    const results = [scheduler.submit(checked({ ...job, id: "j1" })), scheduler.submit(checked({ ...job, id: "j2" }))];
    await log.waitFor((event) => event.type === "task-retry" && event.jobId === "j2");
    await using _good = await startWorker(scheduler.port, { workerId: "good" });
    expect(await Promise.all(results)).toEqual([expected, expected]);
    expect(stopping.assigns.length).toBe(2);
    expect(pick(log.events, "task-retry", ["detail", "taskId", "stripe", "jobId"])).toEqual([
      { type: "task-retry", attempt: 2, fromWorker: "stopping", reason: "refused" },
      { type: "task-retry", attempt: 2, fromWorker: "stopping", reason: "refused" },
    ]);
  });

  test("a failed job's other attempts stop holding credit at once, not at their timeout", async () => {
    // A timeout far beyond the test: the silent stripe's credit can only come back because its job failed.
    const { scheduler, log } = startScheduler({ maxAttempts: 1, taskTimeoutMs: 60_000 });
    await using _ = scheduler;
    await using _worker = await startWorker(scheduler.port, { workerId: "w", credit: 2 }, (_assign, index) => (index === 0 ? "error" : "silent"));
    await log.waitFor((event) => event.type === "worker-joined");
    const twoStripes = scheduler.submit(checked({ id: "two", op: "grayscale", params: {}, image: makeGradient(24, 2) })).catch((error) => error.code);
    expect(await twoStripes).toBe("TASK_FAILED");
    expect(scheduler.workerList().map((entry) => entry.inFlight)).toEqual([0]);
  });

  test("a job no connected worker offers fails with NO_WORKER after its patience (task timeout x attempts), naming the ops there are", async () => {
    const { scheduler, log } = startScheduler({ maxAttempts: 1, taskTimeoutMs: 40 });
    await using _ = scheduler;
    await using _worker = await startWorker(scheduler.port, { workerId: "w" });
    await log.waitFor((event) => event.type === "worker-joined");
    const orphan = await scheduler.submit(checked({ id: "orphan", op: "classify", params: {}, encoded: new Uint8Array([1]) })).catch((error) => `${error.code}: ${error.message}`);
    expect(orphan).toMatch(/^NO_WORKER: no worker offers classify \(grayscale, blur, resize\) after 40 ms/);
  });

  test("past maxAttempts the job fails with the reason", async () => {
    const { scheduler, log } = startScheduler({ maxAttempts: 3 });
    await using _ = scheduler;
    await using _a = await startWorker(scheduler.port, { workerId: "a" }, () => "error");
    await using _b = await startWorker(scheduler.port, { workerId: "b" }, () => "error");
    await log.waitFor((event) => event.type === "worker-joined" && event.workerId === "b");
    const failure = await scheduler.submit(checked({ ...job, image: makeGradient(24, 1) })).catch((error) => `${error.code} ${error.status}: ${error.message}`);
    expect(failure).toMatch(/^TASK_FAILED 502: task j\/s0 failed 3 of 3 attempts \(0 refused\); last: error: [ab]: BOOM: this worker always fails$/);
    expect(pick(log.events, "task-assigned").map((event) => event.workerId)).toEqual(["a", "b", "a"]);
    expect(pick(log.events, "job-failed").length).toBe(1);
    expect(scheduler.pendingJobs).toBe(0);
  });

  test("a hello of another protocol version gets reject; the scheduler goes on", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using peer = await dialRaw(scheduler.port);
    const hello = { version: 4, workerId: "future", ops: ["grayscale"], cores: 1, credit: 1 };
    peer.socket.write(Buffer.concat(encodeFrame(MESSAGE_TYPES.hello, JSON.stringify(hello), new Uint8Array(0))));
    await peer.closed;
    expect(peer.messages).toEqual([challenge, { type: "reject", reason: "hello speaks protocol version 4; this side speaks version 3" }]);
    await log.waitFor((event) => event.type === "worker-rejected");
    await using _a = await startWorker(scheduler.port, { workerId: "a" });
    expect(await scheduler.submit(checked(job))).toEqual(expected);
    expect(scheduler.workerList().map((worker) => worker.workerId)).toEqual(["a"]);
  });

  test("a first message that is not hello gets reject", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using peer = await dialRaw(scheduler.port);
    const heartbeat = { inFlight: 0, done: 0, cpuPercent: 0, rssBytes: 0 };
    peer.socket.write(Buffer.concat(encodeFrame(MESSAGE_TYPES.heartbeat, JSON.stringify(heartbeat), new Uint8Array(0))));
    await peer.closed;
    expect(peer.messages.slice(0, 2)).toEqual([challenge, { type: "reject", reason: "expected hello first, got heartbeat" }]);
    expect(pick(log.events, "worker-rejected", ["remote"])).toEqual([{ type: "worker-rejected", reason: "expected hello first, got heartbeat" }]);
  });
});
