// The scheduler over real sockets: striped jobs and whole files through fake workers equal the op on the whole photo; credit and queueing.
import { describe, expect, test } from "bun:test";
import { applyOp } from "../../agent/imaging/ops";
import { Scheduler } from "../../agent/roles/manager/scheduler";
import type { ImageOp, JobDraft } from "../../agent/protocol";
import { join } from "node:path";
import { FIXTURES } from "../helpers";
import { checked, makeGradient, pick, readRaw, recordEvents, startWorker } from "./_fleet";

function startScheduler(options: { taskTimeoutMs?: number; maxAttempts?: number; heartbeatMs?: number } = {}) {
  const scheduler = new Scheduler({ hostname: "127.0.0.1", port: 0, ...options });
  return { scheduler, log: recordEvents((listener) => scheduler.on(listener)) };
}

describe("Scheduler", () => {
  test.each([
    ["grayscale", {}],
    ["blur", { sigma: 2 }],
  ])("%s %p of chelsea.jpg through 2 workers equals the op on the whole image, byte for byte", async (op, params) => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using _a = await startWorker(scheduler.port, { workerId: "a", credit: 2 });
    await using _b = await startWorker(scheduler.port, { workerId: "b", credit: 1 });
    await log.waitFor((event) => event.type === "worker-joined" && event.workerId === "b");
    const image = await readRaw("chelsea.jpg");
    const [striped, whole] = await Promise.all([scheduler.submit(checked({ op, params, image })), applyOp(op as ImageOp, params, image)]);
    expect({ ...striped, data: Buffer.from(striped.data).toString("base64") }).toEqual({ ...whole, data: Buffer.from(whole.data).toString("base64") });
    const done = pick(log.events, "task-done", ["ms", "timing", "jobId", "taskId"]);
    expect(new Set(done.map((event) => event.workerId))).toEqual(new Set(["a", "b"]));
    expect(done.map((event) => event.stripe).sort()).toEqual([0, 1, 2]);
    expect(pick(log.events, "job-progress").at(-1)).toEqual({ type: "job-progress", jobId: "job-1", progress: 1 });
    expect(pick(log.events, "task-retry")).toEqual([]);
  });

  test("a non-stripeable op (resize) goes whole to one worker", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using _a = await startWorker(scheduler.port, { workerId: "a", credit: 3 });
    await log.waitFor((event) => event.type === "worker-joined");
    const image = await readRaw("chelsea.jpg");
    const result = await scheduler.submit(checked({ op: "resize", params: { width: 100 }, image }));
    expect(result).toEqual(await applyOp("resize", { width: 100 }, image));
    expect(pick(log.events, "job-started")).toEqual([{ type: "job-started", jobId: "job-1", op: "resize", stripes: 1 }]);
  });

  test("a whole file goes to one worker, which decodes it: the op on the decoded photo; a file that does not decode fails at once", async () => {
    const { scheduler, log } = startScheduler({ maxAttempts: 5 });
    await using _ = scheduler;
    await using _a = await startWorker(scheduler.port, { workerId: "a", credit: 2 });
    await using _b = await startWorker(scheduler.port, { workerId: "b", credit: 2 });
    await log.waitFor((event) => event.type === "worker-joined" && event.workerId === "b");
    const encoded = new Uint8Array(await Bun.file(join(FIXTURES, "chelsea.jpg")).arrayBuffer());
    const size = { width: 451, height: 300 };
    const result = await scheduler.submit(checked({ op: "blur", params: { sigma: 2 }, encoded, size }));
    expect(result).toEqual(await applyOp("blur", { sigma: 2 }, await readRaw("chelsea.jpg")));
    expect(pick(log.events, "job-started")).toEqual([{ type: "job-started", jobId: "job-1", op: "blur", stripes: 1 }]);
    // A cut JPEG keeps its header (the manager's check passes) but does not decode on any worker.
    const cut = scheduler.submit(checked({ op: "blur", params: { sigma: 2 }, encoded: encoded.subarray(0, encoded.length / 2), size })).catch((error) => `${error.code} ${error.status}`);
    expect(await cut).toBe("NOT_AN_IMAGE 422");
    expect(pick(log.events, "task-assigned").filter((event) => event.jobId === "job-2")).toHaveLength(1);
    expect(pick(log.events, "task-retry")).toEqual([]);
  });

  test("credit is respected: a worker with credit 1 never holds 2 tasks; the rest queue", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using one = await startWorker(scheduler.port, { workerId: "one", credit: 1 });
    await using three = await startWorker(scheduler.port, { workerId: "three", credit: 3 });
    await log.waitFor((event) => event.type === "worker-joined" && event.workerId === "three");
    const image = makeGradient(32, 40);
    const jobs = Array.from({ length: 5 }, () => scheduler.submit(checked({ op: "grayscale", params: {}, image })));
    const expected = await applyOp("grayscale", {}, image);
    expect(await Promise.all(jobs)).toEqual(Array(5).fill(expected));
    expect({ one: one.maxHeld, three: three.maxHeld, tasks: one.assigns.length + three.assigns.length }).toEqual({ one: 1, three: 3, tasks: 20 });
    expect(one.assigns.length).toBeGreaterThan(1);
  });

  test("a worker joining while tasks wait gets them at once", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using slow = await startWorker(scheduler.port, { workerId: "slow", credit: 1 }, () => "silent");
    await log.waitFor((event) => event.type === "worker-joined");
    const image = makeGradient(16, 8);
    const jobs = [1, 2, 3].map(() => scheduler.submit(checked({ op: "grayscale", params: {}, image })));
    await slow.until(1);
    await using late = await startWorker(scheduler.port, { workerId: "late", credit: 2 });
    const expected = await applyOp("grayscale", {}, image);
    await late.until(2);
    expect(late.assigns.map((assign) => assign.taskId)).toEqual(["job-2/s0", "job-3/s0"]);
    await slow.answer(slow.assigns[0]!);
    expect(await Promise.all(jobs)).toEqual([expected, expected, expected]);
    expect(pick(log.events, "task-retry")).toEqual([]);
  });

  test("a job submitted with no worker waits for the first one", async () => {
    const { scheduler } = startScheduler();
    await using _ = scheduler;
    const image = makeGradient(16, 8);
    const job = scheduler.submit(checked({ op: "grayscale", params: {}, image }));
    await using _a = await startWorker(scheduler.port, { workerId: "a" });
    expect(await job).toEqual(await applyOp("grayscale", {}, image));
  });

  test("bad jobs are refused at intake (checkJob); stop fails pending jobs with SCHEDULER_STOPPED", async () => {
    const { scheduler } = startScheduler();
    const image = makeGradient(16, 8);
    // Checked once, at intake (`checkJob`): the scheduler is never handed a job that fails these.
    const refused = [
      refusal({ op: "melt", params: {}, image }),
      refusal({ op: "blur", params: { sigma: 0 }, image }),
      refusal({ op: "grayscale", params: {}, image: { ...image, height: 9 } }),
    ];
    const files = [
      refusal({ op: "blur", params: { sigma: 2 }, encoded: new Uint8Array(0), size: { width: 16, height: 8 } }),
      refusal({ op: "resize", params: { width: 9000, height: 9000 }, encoded: new Uint8Array(9), size: { width: 16, height: 8 } }),
    ];
    expect([...refused, ...files]).toEqual(["UNKNOWN_OP", "BAD_PARAMS", "BAD_IMAGE", "BAD_IMAGE", "TOO_LARGE_FOR_OP"]);
    const pending = scheduler.submit(checked({ op: "grayscale", params: {}, image })).catch((error) => `${error.code} ${error.status}`);
    await scheduler.stop("test over");
    expect([await pending, scheduler.pendingJobs]).toEqual(["SCHEDULER_STOPPED 503", 0]);
    expect(await scheduler.submit(checked({ op: "grayscale", params: {}, image })).catch((error) => error.code)).toBe("SCHEDULER_STOPPED");
  });
});

/** The code `checkJob` refuses a draft with, or "accepted". */
function refusal(draft: JobDraft): string {
  try {
    checked(draft);
    return "accepted";
  } catch (error) {
    return (error as { code: string }).code;
  }
}
