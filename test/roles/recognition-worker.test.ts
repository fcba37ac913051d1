// The recognition worker against a fake manager on 127.0.0.1: hello, classify on real photos, bad input answered while serving on, bad --model refused.
import { describe, expect, test } from "bun:test";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { checkOptions } from "../../agent/control/options";
import { PROTOCOL_VERSION, type Assign, type Result } from "../../agent/protocol";
import worker from "../../agent/roles/recognition-worker";
import { REPO, makeTempDir, quietContext } from "../helpers";
import { garbage, makeHugeHeader, photos } from "../recognition/photos";
import { listenManager } from "./fake-manager";

async function startWorker(port: number, extra: Record<string, unknown> = {}) {
  const options = { manager: `127.0.0.1:${port}`, concurrency: 1, id: "recognizer-test", reconnect: "20ms", ...extra };
  const handle = await worker.start(checkOptions(worker.options, options, "api"), quietContext);
  return { ...handle, [Symbol.asyncDispose]: () => handle.stop() };
}

function classifyOf(taskId: string, payload: Uint8Array, params: Record<string, unknown> = {}): Assign {
  return { type: "assign", taskId, attempt: 1, op: "classify", params, payload };
}

/** A result's meta without its timing, which varies. */
function withoutTiming(result: Result) {
  const { ms, wait_ms, ...meta } = result.meta as { ms: number; wait_ms: number };
  expect([ms > 0, wait_ms >= 0]).toEqual([true, true]);
  return meta as { objects: { label: string; score: number; box: number[] }[]; top5: { label: string; score: number }[]; width: number; height: number };
}

describe("recognition-worker", () => {
  test("says hello with classify, its cores, and two images of credit per thread and batch slot", async () => {
    await using manager = listenManager();
    await using _ = await startWorker(manager.listener.port, { concurrency: 2, batch: 2 });
    const { event } = await manager.next("hello");
    expect(event).toEqual({ type: "hello", version: PROTOCOL_VERSION, workerId: "recognizer-test", ops: ["classify"], cores: availableParallelism(), credit: 8, nonce: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/) });
  });

  test("classify answers objects, top5 and the image's size in meta, with an empty payload: cat, cup, person", async () => {
    await using manager = listenManager();
    await using handle = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    for (const name of ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"]) await connection.send(classifyOf(name, photos.get(name)!));
    const results = new Map<string, Result>();
    for (let count = 0; count < 3; count++) {
      const { event } = await manager.next("result");
      results.set(event.taskId, event);
    }
    const seen = [...results.entries()].sort().map(([name, result]) => {
      const meta = withoutTiming(result);
      return { name, payload: result.payload.length, size: [meta.width, meta.height], top: meta.top5[0]!.label, first: meta.objects[0]!.label, box: meta.objects[0]!.box.length };
    });
    expect(seen).toEqual([
      { name: "astronaut.jpg", payload: 0, size: [512, 512], top: "person", first: "person", box: 4 },
      { name: "chelsea.jpg", payload: 0, size: [451, 300], top: "cat", first: "cat", box: 4 },
      { name: "coffee.jpg", payload: 0, size: [600, 400], top: "cup", first: "cup", box: 4 },
    ]);
    expect(withoutTiming(results.get("chelsea.jpg")!).top5[0]!.score).toBeGreaterThanOrEqual(0.8);
    expect(handle.stats()).toMatchObject({ role: "recognition-worker", tasks_done: 3, tasks_failed: 0, model: "embedded coco-ssd", threads: 1, images: 3 });
  });

  test("corrupt, huge, wrong op, empty and bad params: each an error naming it; the worker keeps serving", async () => {
    await using manager = listenManager();
    await using handle = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    await connection.send(classifyOf("corrupt", garbage));
    await connection.send(classifyOf("huge", makeHugeHeader()));
    await connection.send({ ...classifyOf("grey", garbage), op: "grayscale" });
    await connection.send(classifyOf("empty", new Uint8Array(0)));
    await connection.send(classifyOf("params", photos.get("chelsea.jpg")!, { minScore: 2, format: "png" }));
    const errors = [];
    for (let count = 0; count < 5; count++) errors.push((await manager.next("error")).event);
    expect(errors.map(({ taskId, code }) => `${taskId} ${code}`).sort()).toEqual(["corrupt BAD_IMAGE", "empty BAD_TASK", "grey BAD_TASK", "huge TOO_MANY_PIXELS", "params BAD_PARAMS"]);
    expect(errors.find((error) => error.taskId === "params")!.message).toContain("/format: Unexpected property");
    await connection.send(classifyOf("after", photos.get("chelsea.jpg")!, { minScore: 0.9, maxObjects: 1 }));
    const { event } = await manager.next("result");
    expect([event.taskId, withoutTiming(event).objects.length, connection.isOpen, handle.stats().tasks_failed]).toEqual(["after", 1, true, 5]);
  });

  test("a --model that does not exist or is not a model: the role refuses to start", async () => {
    using dir = makeTempDir();
    const start = (model: string) => worker.start(checkOptions(worker.options, { manager: "127.0.0.1:9", concurrency: 1, model }, "api"), quietContext);
    const codes = await Promise.all([join(dir.path, "nowhere"), join(REPO, "test", "fixtures")].map((model) => start(model).catch((error) => error.code)));
    expect(codes).toEqual(["MODEL_NOT_FOUND", "MODEL_NOT_FOUND"]);
    const notJson = join(dir.path, "model.json");
    await Bun.write(notJson, "not json");
    expect(await start(notJson).catch((error) => error.code)).toBe("BAD_MODEL");
  });

  test("on the command line, a bad --model ends the agent with exit code 2 and one line saying why", async () => {
    await using agent = Bun.spawn([process.execPath, join(REPO, "agent", "main.ts"), "--role", "recognition-worker", "--manager", "127.0.0.1:9", "--no-control", "--model", "/no/such/model"], { stdout: "pipe", stderr: "pipe" });
    const [stderr, exitCode] = await Promise.all([new Response(agent.stderr).text(), agent.exited]);
    expect({ exitCode, stderr }).toEqual({ exitCode: 2, stderr: "agent: MODEL_NOT_FOUND: --model /no/such/model: no such file or folder\n" });
  });

  test("stop() says bye, ends the threads and reports final figures", async () => {
    await using manager = listenManager();
    const handle = await startWorker(manager.listener.port);
    const { connection } = await manager.next("hello");
    await connection.send(classifyOf("one", photos.get("coffee.jpg")!));
    await manager.next("result");
    await handle.stop();
    const { event } = await manager.next("closed");
    expect(`${event.reason.code}: ${event.reason.message}`).toBe("PEER_BYE: peer said bye: worker stopping");
    expect(handle.stats()).toMatchObject({ role: "recognition-worker", connected: false, tasks_done: 1, in_flight: 0, threads: 1, batch: 1 });
  });
});
