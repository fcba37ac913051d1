// The manager with real worker processes: a worker SIGKILLed mid-run, 15% of answers lost, garbage on the worker port, a worker joining mid-run.
import { describe, expect, test } from "bun:test";
import { checkOptions } from "../../agent/control/options";
import manager from "../../agent/roles/manager";
import type { RoleContext, RoleHandle } from "../../agent/roles/types";
import { encodeFrame, MESSAGE_TYPES } from "../../agent/protocol";
import { dialRaw } from "../protocol/peers";
import { startWorker as startFakeWorker } from "./_fleet";
import { readPhotos, spawnAgent, waitUntil } from "../helpers";

const photo = readPhotos().get("coffee-480p.jpg")!;

/** A manager in process whose log lines are kept, its events collected from /events. */
async function startManager(options: Record<string, unknown>) {
  const lines: Record<string, unknown>[] = [];
  const context: RoleContext = { agent: "test", host: "127.0.0.1", log: (event, fields) => lines.push({ event, ...fields }) };
  const handle: RoleHandle = await manager.start(checkOptions(manager.options, { port: 0, workerPort: 0, ...options }, "api"), context);
  const { port, worker_port } = handle.stats() as unknown as { port: number; worker_port: number };
  const events: Record<string, any>[] = [];
  const socket = new WebSocket(`ws://127.0.0.1:${port}/events`);
  socket.addEventListener("message", (message) => events.push(JSON.parse(String(message.data))));
  await new Promise((resolve) => socket.addEventListener("open", resolve));
  return {
    handle,
    lines,
    events,
    base: `http://127.0.0.1:${port}`,
    workerAddress: `127.0.0.1:${worker_port}`,
    stats: () => handle.stats() as unknown as { workers: number; jobs_done: number; jobs_failed: number },
    async [Symbol.asyncDispose]() {
      socket.close();
      await handle.stop();
    },
  };
}

/** A grayscale worker as its own agent process (no control port). */
function spawnWorker(address: string, id: string, extra: string[] = []) {
  return spawnAgent(["--no-control", "--role", "grayscale-worker", "--manager", address, "--concurrency", "1", "--id", id, ...extra]);
}

/** Posts `count` copies of the photo as one request of blur jobs; answers their ids. */
async function postJobs(base: string, count: number, sigma = "2"): Promise<string[]> {
  const form = new FormData();
  for (let index = 0; index < count; index += 1) form.append("images", new File([photo], `p${index}.jpg`));
  form.append("op", "blur");
  form.append("sigma", sigma);
  const response = await fetch(`${base}/jobs`, { method: "POST", body: form });
  expect(response.status).toBe(202);
  return ((await response.json()) as { jobs: { id: string }[] }).jobs.map((job) => job.id);
}

/** Waits until `check` holds (failing with the check and the manager's figures past the deadline). */
async function until(fleet: { stats(): unknown }, check: () => boolean): Promise<void> {
  await waitUntil(check.toString(), () => ({ holds: check(), stats: fleet.stats() }), (seen) => seen.holds);
}

describe("manager with worker processes", () => {
  test("100 jobs, one of two workers SIGKILLed mid-run: all 100 done, each result taken once, the log shows the retransmissions", async () => {
    await using fleet = await startManager({ taskTimeout: "5s" });
    await using w1 = spawnWorker(fleet.workerAddress, "w1");
    await using w2 = spawnWorker(fleet.workerAddress, "w2");
    await until(fleet, () => fleet.stats().workers === 2);
    const ids = await postJobs(fleet.base, 100);
    await until(fleet, () => fleet.stats().jobs_done >= 25);
    w1.process.kill("SIGKILL");
    await until(fleet, () => fleet.stats().jobs_done + fleet.stats().jobs_failed === 100);
    await until(fleet, () => fleet.events.filter((event) => event.type === "job-done").length >= fleet.stats().jobs_done);
    expect({ done: fleet.stats().jobs_done, failed: fleet.stats().jobs_failed }).toEqual({ done: 100, failed: 0 });
    const doneIds = fleet.events.filter((event) => event.type === "job-done").map((event) => event.jobId);
    expect([doneIds.length, new Set(doneIds).size, ids.every((id) => doneIds.includes(id))]).toEqual([100, 100, true]);
    const retries = fleet.lines.filter((line) => line.event === "task_retry");
    expect(retries.length).toBeGreaterThan(0);
    expect(retries.every((line) => line.from === "w1" && line.reason === "disconnect")).toBe(true);
    expect(fleet.lines.some((line) => line.event === "worker_left" && line.workerId === "w1")).toBe(true);
    const views = await Promise.all(ids.map(async (id) => ((await (await fetch(`${fleet.base}/jobs/${id}`)).json()) as { state: string }).state));
    expect(new Set(views)).toEqual(new Set(["done"]));
    void w2;
  });

  test("with 15% of the workers' answers lost, every job completes through retransmission after the task timeout", async () => {
    await using fleet = await startManager({ taskTimeout: "400ms", maxAttempts: 10 });
    await using w1 = spawnWorker(fleet.workerAddress, "w1", ["--impair", '{"loss":0.15,"seed":11}']);
    await using w2 = spawnWorker(fleet.workerAddress, "w2", ["--impair", '{"loss":0.15,"seed":12}']);
    await until(fleet, () => fleet.stats().workers === 2);
    await postJobs(fleet.base, 40, "1");
    await until(fleet, () => fleet.stats().jobs_done + fleet.stats().jobs_failed === 40);
    expect({ done: fleet.stats().jobs_done, failed: fleet.stats().jobs_failed }).toEqual({ done: 40, failed: 0 });
    const reasons = new Set(fleet.lines.filter((line) => line.event === "task_retry").map((line) => line.reason));
    expect(reasons).toEqual(new Set(["timeout"]));
    void [w1, w2];
  });

  test("delay hits the manager's assignment and the worker's answer alike: one job takes at least twice the delay", async () => {
    await using fleet = await startManager({ taskTimeout: "10s" });
    await using w1 = spawnWorker(fleet.workerAddress, "w1", ["--impair", '{"delay":"400ms"}']);
    await until(fleet, () => fleet.stats().workers === 1);
    const posted = performance.now();
    await postJobs(fleet.base, 1, "1");
    await until(fleet, () => fleet.stats().jobs_done === 1);
    expect(performance.now() - posted).toBeGreaterThanOrEqual(800);
    void w1;
  });

  test("garbage, an oversize frame and a wrong protocol version on the worker port: each connection is closed, the manager goes on", async () => {
    await using fleet = await startManager({});
    const port = Number(fleet.workerAddress.split(":")[1]);
    const garbage = await dialRaw(port);
    garbage.socket.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    await garbage.closed;
    const oversize = await dialRaw(port);
    const prefix = new Uint8Array(9);
    new DataView(prefix.buffer).setUint32(0, 0x7fffffff);
    oversize.socket.write(prefix);
    await oversize.closed;
    const wrongVersion = await dialRaw(port);
    const hello = JSON.stringify({ version: 99, workerId: "old", ops: ["grayscale"], cores: 1, credit: 1 });
    for (const part of encodeFrame(MESSAGE_TYPES.hello, hello)) wrongVersion.socket.write(part);
    await wrongVersion.closed;
    expect(wrongVersion.messages.map((message) => message.type)).toEqual(["challenge", "reject"]);
    await using w1 = spawnWorker(fleet.workerAddress, "w1");
    await until(fleet, () => fleet.stats().workers === 1);
    await postJobs(fleet.base, 2);
    await until(fleet, () => fleet.stats().jobs_done === 2);
    expect(fleet.stats().workers).toBe(1);
    void w1;
  });

  test("a worker joining mid-run is assigned queued work at once, before any heartbeat", async () => {
    await using fleet = await startManager({ taskTimeout: "60s" });
    const port = Number(fleet.workerAddress.split(":")[1]);
    const silent = await startFakeWorker(port, { workerId: "silent", credit: 1 }, () => "silent");
    await until(fleet, () => fleet.stats().workers === 1);
    await postJobs(fleet.base, 10);
    await silent.until(1);
    await using late = spawnWorker(fleet.workerAddress, "late");
    await until(fleet, () => fleet.events.some((event) => event.type === "task-assigned" && event.workerId === "late"));
    // The scheduler's own events, without the job table's state changes interleaved.
    const scheduled = fleet.events.filter((event) => event.type !== "job-state");
    const joined = scheduled.findIndex((event) => event.type === "worker-joined" && event.workerId === "late");
    expect(scheduled[joined + 1]).toMatchObject({ type: "task-assigned", workerId: "late" });
    await silent[Symbol.asyncDispose]();
    await until(fleet, () => fleet.stats().jobs_done === 10);
    void late;
  });
});
