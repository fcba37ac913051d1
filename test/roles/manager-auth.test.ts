// The manager role with a token: its HTTP endpoints and /events need it (scheme case-insensitive), the page stays open, foreign Origins get 403; the job runs on the worker with the token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { RoleHandle } from "../../agent/roles/types";
import { readPhotos, startRole, waitUntil } from "../helpers";

const TOKEN = "manager-secret-4f1c";
const photo = readPhotos().get("chelsea-480p.jpg")!;
let managerRole: RoleHandle & AsyncDisposable;
let workers: (RoleHandle & AsyncDisposable)[] = [];
let base = "";
let port = 0;
const rejected: Record<string, unknown>[] = [];
const rejectedSeen = Promise.withResolvers<void>();

beforeAll(async () => {
  const log = (event: string, fields?: Record<string, unknown>) => {
    if (event !== "worker_rejected") return;
    rejected.push(fields ?? {});
    if (rejected.length === 2) rejectedSeen.resolve();
  };
  managerRole = await startRole("manager", { port: 0, workerPort: 0 }, { token: TOKEN, log });
  ({ port } = managerRole.stats() as unknown as { port: number });
  base = `http://127.0.0.1:${port}`;
  const workerPort = (managerRole.stats() as unknown as { worker_port: number }).worker_port;
  const start = (id: string, token?: string) => startRole("grayscale-worker", { manager: `127.0.0.1:${workerPort}`, concurrency: 1, id, reconnect: "10s" }, { token });
  workers = [await start("no-token"), await start("wrong-token", "not-the-token"), await start("member", TOKEN)];
  await rejectedSeen.promise;
  await waitUntil("the member worker to join", () => managerRole.stats(), (stats) => (stats.workers as number) >= 1, undefined, 5);
});

afterAll(async () => {
  await Promise.all(workers.map((handle) => handle.stop()));
  await managerRole?.stop();
});

const bearer = (scheme = "Bearer", token = TOKEN) => ({ authorization: `${scheme} ${token}` });

function toForm(): FormData {
  const form = new FormData();
  form.append("images", new File([photo], "chelsea.jpg"));
  form.append("op", "grayscale");
  return form;
}

/** An HTTP request shaped as a browser's WebSocket upgrade of /events. */
function upgrade(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${base}${path}`, {
    headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", ...headers },
  });
}

async function answer(response: Response): Promise<{ status: number; error?: unknown }> {
  const text = await response.text();
  return { status: response.status, error: text.startsWith("{") ? JSON.parse(text).error : undefined };
}

describe("manager with a token", () => {
  test("every endpoint but the page answers 401 UNAUTHORIZED without the token or with a wrong one", async () => {
    const calls = [
      fetch(`${base}/stats`),
      fetch(`${base}/workers`),
      fetch(`${base}/ops`),
      fetch(`${base}/jobs/some-id`),
      fetch(`${base}/jobs/some-id/result`),
      fetch(`${base}/jobs`, { method: "POST", body: toForm() }),
      fetch(`${base}/stats`, { headers: bearer("Bearer", "wrong") }),
      fetch(`${base}/stats`, { headers: bearer("Basic") }),
      fetch(`${base}/stats?token=${TOKEN}`),
      upgrade("/events"),
    ];
    const answers = await Promise.all(calls.map(async (call) => answer(await call)));
    expect(answers).toEqual(Array.from({ length: calls.length }, () => ({ status: 401, error: "UNAUTHORIZED" })));
    const body = (await (await fetch(`${base}/stats`)).json()) as { message: string };
    expect(body.message).not.toContain(TOKEN);
  });

  test("the upload page and its files stay open", async () => {
    const statuses = await Promise.all(["/", "/upload.js", "/upload.css"].map(async (path) => (await fetch(`${base}${path}`)).status));
    expect(statuses).toEqual([200, 200, 200]);
  });

  test("with the token (scheme in any case) the job runs on the worker that holds it; the others never got a task", async () => {
    const events: Record<string, unknown>[] = [];
    const socket = new WebSocket(`ws://127.0.0.1:${port}/events?token=${encodeURIComponent(TOKEN)}`);
    socket.addEventListener("message", (message) => events.push(JSON.parse(String(message.data))));
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", reject);
    });
    const posted = await fetch(`${base}/jobs?wait=1`, { method: "POST", body: toForm(), headers: bearer("bearer") });
    const { jobs } = (await posted.json()) as { jobs: { id: string; state: string }[] };
    const result = await fetch(`${base}/jobs/${jobs[0]!.id}/result`, { headers: bearer("BEARER") });
    const workerRows = (await (await fetch(`${base}/workers`, { headers: bearer() })).json()) as { id: string }[];
    socket.close();
    expect({
      posted: posted.status,
      state: jobs[0]!.state,
      result: [result.status, result.headers.get("content-type")],
      workers: workerRows.map((row: { id: string }) => row.id),
      assigned: [...new Set(events.filter((event) => event.type === "task-assigned").map((event) => event.workerId))],
      tasks: workers.map((handle) => handle.stats().tasks_done),
      rejected: rejected.map((fields) => String(fields.reason).split(":")[0]).sort(),
    }).toEqual({
      posted: 200,
      state: "done",
      result: [200, "image/png"],
      workers: ["member"],
      assigned: ["member"],
      tasks: [0, 0, 1],
      rejected: ["authentication failed", "authentication failed"],
    });
  });

  test("a sender of jobs (--format job) sends the agent's token: with it every job is done, without it each is a 401", async () => {
    const sending = { target: [`${base}/jobs?wait=1`], source: "files:test/fixtures/chelsea-480p.jpg", format: "job", job: "op=invert", multiply: 1, fps: 10, duration: "0" };
    await using withToken = await startRole("sender", sending, { token: TOKEN });
    await using without = await startRole("sender", sending);
    const [member, stranger] = await Promise.all([
      waitUntil("3 jobs done", () => withToken.stats(), (stats) => (stats.ok as number) >= 3),
      waitUntil("3 jobs refused", () => without.stats(), (stats) => (stats.failed as number) >= 3),
    ]);
    expect({ failed: member.failed, ok: stranger.ok, errors: Object.keys(stranger.errors as object) }).toEqual({ failed: 0, ok: 0, errors: ["HTTP_401"] });
  });

  test("a foreign Origin gets 403 on POST /jobs and on the /events upgrade, even with the token; the manager's own Origin passes", async () => {
    const foreign = { origin: "http://evil.example" };
    const own = { origin: `http://127.0.0.1:${port}` };
    const answers = await Promise.all([
      fetch(`${base}/jobs`, { method: "POST", body: toForm(), headers: { ...bearer(), ...foreign } }).then(answer),
      upgrade(`/events?token=${TOKEN}`, foreign).then(answer),
      upgrade(`/events?token=${TOKEN}`, { origin: "null" }).then(answer),
      fetch(`${base}/jobs`, { method: "POST", body: toForm(), headers: { ...bearer(), ...own } }).then(answer),
    ]);
    expect(answers).toEqual([
      { status: 403, error: "FOREIGN_ORIGIN" },
      { status: 403, error: "FOREIGN_ORIGIN" },
      { status: 403, error: "FOREIGN_ORIGIN" },
      { status: 202, error: undefined },
    ]);
  });
});

describe("manager without a token", () => {
  test("open on loopback, it answers only loopback Host names: a page on a rebound DNS name gets 403", async () => {
    await using open = await startRole("manager", { port: 0, workerPort: 0 }, { auth: "loopback" });
    const base = `http://127.0.0.1:${open.stats().port}`;
    const [rebound, own] = await Promise.all([fetch(`${base}/stats`, { headers: { host: "rebound.evil.example" } }), fetch(`${base}/stats`)]);
    expect([rebound.status, ((await rebound.json()) as { error: string }).error, own.status]).toEqual([403, "FOREIGN_HOST", 200]);
  });

  test("stays open, but a cross-site form post still gets 403", async () => {
    await using open = await startRole("manager", { port: 0, workerPort: 0 });
    const openBase = `http://127.0.0.1:${(open.stats() as unknown as { port: number }).port}`;
    const answers = await Promise.all([
      fetch(`${openBase}/stats`).then(answer),
      fetch(`${openBase}/jobs`, { method: "POST", body: toForm(), headers: { origin: "https://attacker.example" } }).then(answer),
    ]);
    expect(answers).toEqual([
      { status: 200, error: undefined },
      { status: 403, error: "FOREIGN_ORIGIN" },
    ]);
  });
});
