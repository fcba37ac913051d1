// The control API in process (app.handle): token, schema checks, command sources refused, role lifecycle.
import { describe, expect, test } from "bun:test";
import { createControlApp } from "../agent/control";
import { Supervisor } from "../agent/supervisor";
import { makeTempDir, quietContext } from "./helpers";

const TOKEN = "s3cret-token";

async function makeApp(dataDir: string, allowSourceCmd = false) {
  const supervisor = new Supervisor(quietContext, { allowSourceCmd, dataDir });
  return { app: await createControlApp({ agent: "test", version: "0.0.0", token: TOKEN, supervisor }), supervisor };
}

async function call(app: Awaited<ReturnType<typeof makeApp>>["app"], method: string, path: string, body?: unknown, token: string | null = TOKEN) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await app.handle(new Request(`http://localhost${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await response.text();
  return { status: response.status, body: text.startsWith("{") || text.startsWith("[") ? JSON.parse(text) : text };
}

describe("control API", () => {
  test("401 without the token, except health and the status page", async () => {
    using dir = makeTempDir();
    const { app } = await makeApp(dir.path);
    const answers = {
      roles: (await call(app, "GET", "/v1/roles", undefined, null)).status,
      wrong: (await call(app, "GET", "/v1/roles", undefined, "nope")).status,
      metrics: (await call(app, "GET", "/metrics", undefined, null)).status,
      health: (await call(app, "GET", "/v1/health", undefined, null)).status,
      page: (await call(app, "GET", "/", undefined, null)).status,
      withToken: (await call(app, "GET", "/v1/roles")).status,
    };
    expect(answers).toEqual({ roles: 401, wrong: 401, metrics: 401, health: 200, page: 200, withToken: 200 });
  });

  test("422 names the unknown role or the bad option; 403 for command sources and paths outside the data dir", async () => {
    using dir = makeTempDir();
    const { app } = await makeApp(dir.path);
    const unknown = await call(app, "POST", "/v1/roles", { role: "teapot", options: {} });
    const badOption = await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: "eighty", bogus: 1 } });
    const badManager = await call(app, "POST", "/v1/roles", { role: "manager", options: { port: 0, workerPort: 0, maxAttempts: 0 } });
    const command = await call(app, "POST", "/v1/roles", { role: "sender", options: { target: ["http://127.0.0.1:1/upload"], source: "mjpeg-cmd:rm -rf /" } });
    const camera = await call(app, "POST", "/v1/roles", { role: "sender", options: { target: ["http://127.0.0.1:1/upload"], source: "camera" } });
    const escape = await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: 0, out: "../../etc" } });
    const readsOutside = await call(app, "POST", "/v1/roles", { role: "sender", options: { target: ["http://127.0.0.1:1/upload"], source: "files:/etc/**/*.jpg" } });
    const modelOutside = await call(app, "POST", "/v1/roles", { role: "recognition-worker", options: { manager: "127.0.0.1:1", model: "/etc/passwd" } });
    const noBody = await call(app, "POST", "/v1/roles", { options: {} });
    const badImpair = await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: 0, out: "x" }, impair: { dealy: "100ms" } });
    const extraKey = await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: 0, out: "x" }, surprise: true });
    expect([unknown, badOption, badManager, command, camera, escape, readsOutside, modelOutside, noBody, badImpair, extraKey].map((answer) => [answer.status, answer.body.error])).toEqual([
      [422, "UNKNOWN_ROLE"],
      [422, "BAD_OPTIONS"],
      [422, "BAD_OPTIONS"],
      [403, "SOURCE_CMD_REFUSED"],
      [403, "SOURCE_CMD_REFUSED"],
      [403, "PATH_REFUSED"],
      [403, "PATH_REFUSED"],
      [403, "PATH_REFUSED"],
      [422, "BAD_REQUEST"],
      [422, "BAD_REQUEST"],
      [422, "BAD_REQUEST"],
    ]);
    expect(badImpair.body.message).toContain("dealy");
    expect(badOption.body.message).toContain("options.port");
    expect(badOption.body.message).toContain("options.bogus");
  });

  test("start, list, stats, metrics, stop: a receiver's life over the API", async () => {
    using dir = makeTempDir();
    const { app } = await makeApp(dir.path);
    const started = await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: 0, out: "images" } });
    expect(started.status).toBe(201);
    const id = started.body.id as string;
    const listed = await call(app, "GET", "/v1/roles");
    const stats = await call(app, "GET", `/v1/roles/${id}/stats`);
    const metrics = await call(app, "GET", "/metrics");
    const stopped = await call(app, "DELETE", `/v1/roles/${id}`);
    const gone = await call(app, "GET", `/v1/roles/${id}/stats`);
    expect({
      listed: listed.body.map((role: { id: string; state: string }) => [role.id, role.state]),
      out: listed.body[0].options.out,
      stats: [stats.status, stats.body.role, stats.body.saved],
      metrics: metrics.body.includes(`framefleet_receiver_saved{agent="test",role="receiver",id="${id}"} 0`),
      stopped: [stopped.status, stopped.body.state],
      gone: [gone.status, gone.body.error],
    }).toEqual({
      listed: [[id, "running"]],
      out: `${dir.path}/images`,
      stats: [200, "receiver", 0],
      metrics: true,
      stopped: [200, "ended"],
      gone: [404, "NO_SUCH_ROLE"],
    });
  });
});
