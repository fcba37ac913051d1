// The manager role with two real grayscale workers on 127.0.0.1: jobs over HTTP, identical pixels, bad inputs, /events.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { checkOptions } from "../../agent/control/options";
import worker from "../../agent/roles/grayscale-worker";
import manager from "../../agent/roles/manager";
import type { RoleHandle } from "../../agent/roles/types";
import sharp from "../../agent/native/sharp";
import { quietContext, readPhotos, waitUntil } from "../helpers";

const PHOTOS = ["chelsea-480p.jpg", "coffee-480p.jpg"];
const photos = readPhotos();

let managerRole: RoleHandle;
let workers: RoleHandle[] = [];
let base = "";
let events: Record<string, unknown>[] = [];
let socket: WebSocket;

beforeAll(async () => {
  managerRole = await manager.start(checkOptions(manager.options, { port: 0, workerPort: 0 }, "api"), quietContext);
  const { port, worker_port } = managerRole.stats() as unknown as { port: number; worker_port: number };
  base = `http://127.0.0.1:${port}`;
  socket = new WebSocket(`ws://127.0.0.1:${port}/events`);
  socket.addEventListener("message", (message) => events.push(JSON.parse(String(message.data))));
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", reject);
  });
  const workerOptions = (id: string) => checkOptions(worker.options, { manager: `127.0.0.1:${worker_port}`, concurrency: 1, id }, "api");
  workers = await Promise.all(["w1", "w2"].map((id) => worker.start(workerOptions(id) as never, quietContext)));
  await waitUntil("both workers to join", () => managerRole.stats(), (stats) => (stats.workers as number) >= 2, undefined, 5);
});

afterAll(async () => {
  socket?.close();
  await Promise.all(workers.map((handle) => handle.stop()));
  await managerRole?.stop();
});

/** A multipart form of `files` (name -> bytes) in `images` and the other fields as given. */
function toForm(files: [string, Uint8Array | string][], fields: Record<string, string>): FormData {
  const form = new FormData();
  for (const [name, bytes] of files) form.append("images", new File([bytes], name));
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}

async function postJobs(form: FormData): Promise<{ status: number; body: any }> {
  const response = await fetch(`${base}/jobs`, { method: "POST", body: form });
  return { status: response.status, body: await response.json() };
}

async function waitDone(id: string): Promise<Record<string, unknown>> {
  const read = async () => (await (await fetch(`${base}/jobs/${id}`)).json()) as Record<string, unknown>;
  return await waitUntil(`job ${id} to settle`, read, (view) => view.state === "done" || view.state === "failed", undefined, 10);
}

async function decodeRaw(bytes: Uint8Array | ArrayBuffer, pipeline: (image: ReturnType<typeof sharp>) => ReturnType<typeof sharp> = (image) => image) {
  const { data, info } = await pipeline(sharp(bytes as Uint8Array)).raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, channels: info.channels, data: new Uint8Array(data) };
}

/** Runs `op` on `names` (both photos by default) in one request and checks each PNG result against sharp run locally; answers the job ids. */
async function expectSameAsSharp(fields: Record<string, string>, local: (image: ReturnType<typeof sharp>) => ReturnType<typeof sharp>, names = PHOTOS): Promise<string[]> {
  const { status, body } = await postJobs(toForm(names.map((name) => [name, photos.get(name)!]), fields));
  expect(status).toBe(202);
  expect(body.jobs).toHaveLength(names.length);
  for (const [index, { id }] of (body.jobs as { id: string }[]).entries()) {
    expect(await waitDone(id)).toEqual({ id, state: "done", progress: 1 });
    const result = await fetch(`${base}/jobs/${id}/result`);
    expect(result.headers.get("content-type")).toBe("image/png");
    const png = new Uint8Array(await result.arrayBuffer());
    // sharp decodes a grey PNG to sRGB unless told to keep `b-w`.
    const grey = (await sharp(png).metadata()).space === "b-w";
    const got = await decodeRaw(png, (image) => (grey ? image.toColourspace("b-w") : image));
    const want = await decodeRaw(photos.get(names[index]!)!, local);
    expect({ ...got, data: Buffer.from(got.data).equals(Buffer.from(want.data)) }).toEqual({ ...want, data: true });
  }
  return (body.jobs as { id: string }[]).map(({ id }) => id);
}

/** The `/events` of job `id` once its job-done event has arrived (the WebSocket may trail the HTTP answers). */
async function eventsOf(id: string): Promise<Record<string, unknown>[]> {
  await waitUntil(`the job-done event of ${id}`, () => events.some((event) => event.type === "job-done" && event.jobId === id), (seen) => seen, undefined, 5);
  return events.filter((event) => event.jobId === id);
}

describe("manager", () => {
  test("grayscale of two photos equals sharp's, pixel for pixel", async () => {
    await expectSameAsSharp({ op: "grayscale" }, (image) => image.grayscale());
  });

  test("blur sigma=2 (a string field converted by the op's schema) equals sharp's", async () => {
    await expectSameAsSharp({ op: "blur", sigma: "2" }, (image) => image.blur(2));
  });

  test("an image alone is cut into stripes for both workers; two at once go whole, one file to each; all equal sharp's", async () => {
    // A cut JPEG passes the header check; alone it is decoded here (stripes) and refused with the request.
    const photo = photos.get("coffee-480p.jpg")!;
    const cut = photo.subarray(0, photo.length >> 1);
    const refused = await postJobs(toForm([["cut.jpg", cut]], { op: "blur", sigma: "3" }));
    expect([refused.status, refused.body.error, refused.body.message]).toEqual([422, "NOT_AN_IMAGE", expect.stringContaining("images[0] (cut.jpg): does not decode")]);
    const [alone] = await expectSameAsSharp({ op: "blur", sigma: "3" }, (image) => image.blur(3), ["coffee-480p.jpg"]);
    const pair = await expectSameAsSharp({ op: "blur", sigma: "3" }, (image) => image.blur(3));
    const split = async (id: string) => {
      const seen = await eventsOf(id);
      const started = seen.find((event) => event.type === "job-started")!;
      const workers = new Set(seen.filter((event) => event.type === "task-done").map((event) => event.workerId));
      return { stripes: started.stripes, workers: [...workers].sort() };
    };
    expect(await split(alone!)).toEqual({ stripes: 2, workers: ["w1", "w2"] });
    const whole = await Promise.all(pair.map(split));
    expect(whole.map((job) => job.stripes)).toEqual([1, 1]);
    expect(whole.flatMap((job) => job.workers).sort()).toEqual(["w1", "w2"]);
    // Two at once go whole: the cut one fails on its worker, at once, named; the request answers 422.
    const response = await fetch(`${base}/jobs?wait=1`, { method: "POST", body: toForm([["good.jpg", photo], ["cut.jpg", cut]], { op: "blur", sigma: "3" }) });
    const body = (await response.json()) as { error: string; message: string; jobs: { state: string; error?: string }[] };
    expect([response.status, body.error, body.jobs.map((job) => job.state)]).toEqual([422, "JOB_FAILED", ["done", "failed"]]);
    expect(body.jobs[1]!.error).toMatch(/^NOT_AN_IMAGE: images\[1\] \(cut\.jpg\): w[12]: task blur file: does not decode/);
  });

  test("jpeg and webp results decode to the image's size", async () => {
    for (const format of ["jpeg", "webp"]) {
      const { body } = await postJobs(toForm([["chelsea.jpg", photos.get("chelsea-480p.jpg")!]], { op: "invert", format }));
      const id = body.jobs[0].id;
      await waitDone(id);
      const result = await fetch(`${base}/jobs/${id}/result`);
      expect(result.headers.get("content-type")).toBe(`image/${format}`);
      const meta = await sharp(new Uint8Array(await result.arrayBuffer())).metadata();
      const want = await sharp(photos.get("chelsea-480p.jpg")!).metadata();
      expect({ format: meta.format as string, width: meta.width, height: meta.height }).toEqual({ format, width: want.width, height: want.height });
    }
  });

  test("bad inputs answer 4xx JSON naming the problem, and the manager still serves", async () => {
    const photo: [string, Uint8Array][] = [["chelsea.jpg", photos.get("chelsea-480p.jpg")!]];
    const cases: [FormData, number, string, RegExp][] = [
      [toForm([], { op: "grayscale" }), 422, "BAD_JOB", /images: no file/],
      [toForm([["notes.txt", new TextEncoder().encode("hello, not a picture")]], { op: "grayscale" }), 422, "NOT_AN_IMAGE", /images\[0\] \(notes\.txt\)/],
      [toForm(photo, { op: "teapot" }), 422, "BAD_JOB", /op: unknown op "teapot"; known: grayscale, .*classify/],
      [toForm(photo, { op: "blur", sigma: "abc" }), 422, "BAD_JOB", /\/sigma: Expected number/],
      [toForm(photo, { op: "grayscale", format: "gif" }), 422, "BAD_JOB", /format: "gif"/],
      [toForm(photo, { op: "resize", width: "9000", height: "9000" }), 413, "TOO_LARGE_FOR_OP", /9000x9000 is up to 324000000 bytes raw, over the \d+-byte limit of one protocol frame/],
    ];
    for (const [form, status, error, message] of cases) {
      const answer = await postJobs(form);
      expect({ status: answer.status, error: answer.body.error }).toEqual({ status, error });
      expect(answer.body.message).toMatch(message);
    }
    const notMultipart = await fetch(`${base}/jobs`, { method: "POST", body: "op=grayscale", headers: { "content-type": "text/plain" } });
    expect({ status: notMultipart.status, error: ((await notMultipart.json()) as { error: string }).error }).toEqual({ status: 400, error: "BAD_BODY" });
    const unknown = await fetch(`${base}/jobs/nope`);
    expect({ status: unknown.status, body: await unknown.json() }).toMatchObject({ status: 404, body: { error: "JOB_NOT_FOUND" } });
    const missing = await fetch(`${base}/jobs/nope/result`);
    expect(missing.status).toBe(404);
    await expectSameAsSharp({ op: "grayscale" }, (image) => image.grayscale());
  });

  test("/events carried task-assigned and job-done events and job state changes", () => {
    const types = new Set(events.map((event) => event.type));
    expect(["worker-joined", "job-started", "task-assigned", "task-done", "job-done", "job-state"].filter((type) => !types.has(type))).toEqual([]);
    const done = events.filter((event) => event.type === "job-state" && event.state === "done");
    expect(done.length).toBeGreaterThanOrEqual(4);
    const busy = new Set(events.filter((event) => event.type === "task-done").map((event) => event.workerId));
    expect([...busy].sort()).toEqual(["w1", "w2"]);
  });

  test("stats count jobs and workers", () => {
    const stats = managerRole.stats();
    expect(stats).toMatchObject({ role: "manager", workers: 2, jobs_queued: 0, jobs_running: 0, jobs_failed: 1, tasks_retried: 0 });
    expect(stats.jobs_done).toBeGreaterThanOrEqual(8);
  });
});

describe("manager without workers", () => {
  test("a queued job answers 409 for its result, a full table 503, and stop fails it", async () => {
    const role = await manager.start(checkOptions(manager.options, { port: 0, workerPort: 0, maxJobs: 1 }, "api"), quietContext);
    try {
      base = `http://127.0.0.1:${role.stats().port as number}`;
      const { status, body } = await postJobs(toForm([["chelsea.jpg", photos.get("chelsea-480p.jpg")!]], { op: "grayscale" }));
      expect(status).toBe(202);
      const id = body.jobs[0].id;
      expect(await (await fetch(`${base}/jobs/${id}`)).json()).toEqual({ id, state: "queued", progress: 0 });
      const early = await fetch(`${base}/jobs/${id}/result`);
      expect({ status: early.status, error: ((await early.json()) as { error: string }).error }).toEqual({ status: 409, error: "JOB_NOT_DONE" });
      const full = await postJobs(toForm([["chelsea.jpg", photos.get("chelsea-480p.jpg")!]], { op: "grayscale" }));
      expect({ status: full.status, error: full.body.error }).toEqual({ status: 503, error: "JOBS_FULL" });
    } finally {
      await role.stop();
    }
    expect(role.stats()).toMatchObject({ jobs_queued: 0, jobs_failed: 1, jobs_done: 0 });
  });
});
