// The grayscale worker against a real fake manager on 127.0.0.1: hello, raw-pixel tasks, errors, reconnects, heartbeats, bye.
import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { applyOp, type RawImage } from "../../agent/imaging/ops";
import { cutStripe, planStripes } from "../../agent/imaging/stripes";
import { checkOptions } from "../../agent/control/options";
import { PROTOCOL_VERSION, type Assign } from "../../agent/protocol";
import worker from "../../agent/roles/grayscale-worker";
import sharp from "../../agent/native/sharp";
import { listenManager } from "./fake-manager";
import { quietContext, readPhotos } from "../helpers";

const IMAGE_OPS = ["grayscale", "invert", "sepia", "brightness", "contrast", "blur", "sharpen", "edges", "resize"];

/** chelsea.jpg decoded to raw sRGB pixels. */
async function decodePhoto(): Promise<RawImage> {
  const { data, info } = await sharp(readPhotos().get("chelsea.jpg")!).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

async function startWorker(port: number, extra: Record<string, unknown> = {}) {
  const options = { manager: `127.0.0.1:${port}`, concurrency: 2, id: "worker-test", reconnect: "20ms", ...extra };
  const handle = await worker.start(checkOptions(worker.options, options, "api"), quietContext);
  return { ...handle, [Symbol.asyncDispose]: () => handle.stop() };
}

function assignOf(taskId: string, op: Assign["op"], params: Record<string, unknown>, image: RawImage): Assign {
  const { width, height, channels } = image;
  return { type: "assign", taskId, attempt: 1, op, params: { ...params, image: { width, height, channels } }, payload: image.data };
}

describe("grayscale-worker", () => {
  test("says hello with every image op, its cores and its credit", async () => {
    await using manager = listenManager();
    await using _ = await startWorker(manager.listener.port, { concurrency: 3 });
    const { event } = await manager.next("hello");
    expect(event).toEqual({ type: "hello", version: PROTOCOL_VERSION, workerId: "worker-test", ops: IMAGE_OPS as never, cores: availableParallelism(), credit: 3, nonce: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) });
  });

  test("a grayscale stripe of a real photo, a blur (sigma 2) of raw pixels and of the whole file come back exactly as applyOp makes them", async () => {
    const photo = await decodePhoto();
    const stripe = planStripes(photo.height, 4, 0)[1]!;
    const stripeImage = { ...photo, height: stripe.rows, data: cutStripe(photo.data, photo.width, photo.channels, stripe) };
    const grey = await applyOp("grayscale", {}, stripeImage);
    const blurred = await applyOp("blur", { sigma: 2 }, photo);
    await using manager = listenManager();
    await using _ = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    await connection.send(assignOf("job-1/stripe-1", "grayscale", {}, stripeImage));
    await connection.send({ ...assignOf("job-2", "blur", { sigma: 2 }, photo), attempt: 2 });
    await connection.send({ type: "assign", taskId: "job-3", attempt: 1, op: "blur", params: { sigma: 2, image: "file" }, payload: readPhotos().get("chelsea.jpg")! });
    const results = [];
    for (let count = 0; count < 3; count++) results.push((await manager.next("result")).event);
    results.sort((a, b) => a.taskId.localeCompare(b.taskId));
    for (const result of results) {
      const { ms, wait_ms } = result.meta as { ms: number; wait_ms: number };
      expect([ms > 0, wait_ms >= 0]).toEqual([true, true]);
      delete result.meta.ms;
      delete result.meta.wait_ms;
    }
    expect(results).toEqual([
      { type: "result", taskId: "job-1/stripe-1", attempt: 1, meta: { width: photo.width, height: stripe.rows, channels: 1 }, payload: new Uint8Array(grey.data) },
      { type: "result", taskId: "job-2", attempt: 2, meta: { width: photo.width, height: photo.height, channels: 3 }, payload: new Uint8Array(blurred.data) },
      { type: "result", taskId: "job-3", attempt: 1, meta: { width: photo.width, height: photo.height, channels: 3 }, payload: new Uint8Array(blurred.data) },
    ]);
  });

  test("bad tasks get an error message naming the problem; the connection stays up", async () => {
    const pixel = { data: new Uint8Array([1, 2, 3]), width: 1, height: 1, channels: 3 };
    await using manager = listenManager();
    await using handle = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    await connection.send({ type: "assign", taskId: "no-image", attempt: 1, op: "grayscale", params: {}, payload: pixel.data });
    await connection.send({ ...assignOf("short", "grayscale", {}, pixel), payload: new Uint8Array(2) });
    await connection.send(assignOf("classify", "classify", {}, pixel));
    await connection.send(assignOf("bad-sigma", "blur", { sigma: 99 }, pixel));
    await connection.send({ type: "assign", taskId: "not-a-file", attempt: 1, op: "invert", params: { image: "file" }, payload: new TextEncoder().encode("no picture") });
    const errors = [];
    for (let count = 0; count < 5; count++) errors.push((await manager.next("error")).event);
    expect(errors.map(({ taskId, code }) => `${taskId} ${code}`).sort()).toEqual(["bad-sigma BAD_PARAMS", "classify BAD_TASK", "no-image BAD_TASK", "not-a-file NOT_AN_IMAGE", "short BAD_TASK"]);
    expect(errors.find((error) => error.taskId === "short")!.message).toBe("payload has 2 bytes; raw 1x1x3 needs 3");
    expect([connection.isOpen, handle.stats().tasks_failed]).toEqual([true, 5]);
  });

  test("past its credit and as many queued, the worker answers BUSY", async () => {
    const photo = await decodePhoto();
    await using manager = listenManager();
    await using _ = await startWorker(manager.listener.port, { concurrency: 1 });
    const { connection } = await manager.next("hello");
    for (const taskId of ["a", "b", "c"]) void connection.send(assignOf(taskId, "blur", { sigma: 20 }, photo));
    const busy = (await manager.next("error")).event;
    expect([busy.taskId, busy.code]).toEqual(["c", "BUSY"]);
    const done = [(await manager.next("result")).event.taskId, (await manager.next("result")).event.taskId];
    expect(done).toEqual(["a", "b"]);
  });

  test("heartbeats arrive every heartbeatMs with the worker's load", async () => {
    await using manager = listenManager(10);
    await using _ = await startWorker(manager.listener.port);
    await manager.next("hello");
    const beats = [(await manager.next("heartbeat")).event, (await manager.next("heartbeat")).event];
    for (const beat of beats) {
      expect(beat).toEqual({ type: "heartbeat", inFlight: 0, done: 0, cpuPercent: expect.any(Number), rssBytes: expect.any(Number) });
      expect(beat.rssBytes).toBeGreaterThan(0);
    }
  });

  test("when the manager closes the connection the worker dials again and says hello again", async () => {
    await using manager = listenManager();
    await using handle = await startWorker(manager.listener.port);
    const first = await manager.next("hello");
    await first.connection.close("manager restarting");
    const second = await manager.next("hello");
    expect(second.connection).not.toBe(first.connection);
    expect(second.event.workerId).toBe("worker-test");
    await manager.next("heartbeat");
    expect(handle.stats()).toMatchObject({ role: "grayscale-worker", connected: true, reconnects: 1 });
  });

  test("a result past the protocol's frame limit is answered as RESULT_TOO_LARGE; the worker serves on", async () => {
    await using manager = listenManager();
    await using _ = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    const pixel = { data: new Uint8Array([10, 20, 30]), width: 1, height: 1, channels: 3 };
    await connection.send(assignOf("huge", "resize", { width: 7000, height: 7000 }, pixel));
    const { event } = await manager.next("error");
    expect({ code: event.code, task: event.taskId, message: event.message }).toEqual({ code: "RESULT_TOO_LARGE", task: "huge", message: expect.stringContaining("exceeds the 134217728-byte limit") });
    await connection.send(assignOf("after", "invert", {}, pixel));
    expect((await manager.next("result")).event.payload).toEqual(new Uint8Array([245, 235, 225]));
  });

  test("stop() says bye and reports final figures", async () => {
    await using manager = listenManager();
    const handle = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    await connection.send(assignOf("one", "invert", {}, { data: new Uint8Array([0, 128, 255]), width: 1, height: 1, channels: 3 }));
    expect((await manager.next("result")).event.payload).toEqual(new Uint8Array([255, 127, 0]));
    await handle.stop();
    const { event } = await manager.next("closed");
    expect(`${event.reason.code}: ${event.reason.message}`).toBe("PEER_BYE: peer said bye: worker stopping");
    await handle.stop();
    expect(handle.stats()).toMatchObject({ role: "grayscale-worker", connected: false, tasks_done: 1, tasks_failed: 0, in_flight: 0, reconnects: 0 });
  });

  test("an unreachable manager and a bad address: start, stop; BAD_MANAGER", async () => {
    const handle = await worker.start(checkOptions(worker.options, { manager: "127.0.0.1:9", reconnect: "10ms" }, "api"), quietContext);
    await handle.stop();
    expect(handle.stats()).toMatchObject({ connected: false, worker_id: expect.stringMatching(/-\d+$/) });
    const refused = await worker.start(checkOptions(worker.options, { manager: "host:70000" }, "api"), quietContext).catch((error) => error.code);
    expect(refused).toBe("BAD_MANAGER");
  });
});
