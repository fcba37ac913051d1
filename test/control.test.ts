// The control API in process (app.handle): token, schema checks, command sources refused, role lifecycle.
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { createControlApp } from "../agent/control/app";
import { Supervisor } from "../agent/control/supervisor";
import { FIXTURES, makeTempDir, quietContext } from "./helpers";

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
      metrics: metrics.body.includes(`framefleet_receiver_images_saved_total{agent="test",role="receiver",id="${id}"} 0`),
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

  test("cross-site calls: a form POST gets 415 (403 from a foreign Origin), any Bearer spelling works, JSON from our own page passes", async () => {
    using dir = makeTempDir();
    const { app } = await makeApp(dir.path);
    const post = (headers: Record<string, string>, body: string) =>
      app.handle(new Request("http://127.0.0.1:7700/v1/roles", { method: "POST", headers: { host: "127.0.0.1:7700", ...headers }, body }));
    const form = "role=receiver&options=x";
    const json = JSON.stringify({ role: "teapot", options: {} });
    const answers = await Promise.all([
      post({ "content-type": "application/x-www-form-urlencoded", origin: "http://evil.example" }, form),
      post({ "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${TOKEN}` }, form),
      post({ "content-type": "text/plain", authorization: `Bearer ${TOKEN}` }, json),
      post({ "content-type": "application/json", authorization: `Bearer ${TOKEN}`, origin: "http://evil.example" }, json),
      post({ "content-type": "application/json", authorization: `bearer ${TOKEN}`, origin: "http://127.0.0.1:7700" }, json),
      post({ "content-type": "application/json", authorization: `BEARER   ${TOKEN}` }, json),
      post({ "content-type": "application/json", authorization: `Bearer ${TOKEN}x` }, json),
    ]);
    const seen = await Promise.all(answers.map(async (response) => [response.status, ((await response.json()) as { error: string }).error]));
    expect(seen).toEqual([
      [403, "FOREIGN_ORIGIN"],
      [415, "UNSUPPORTED_TYPE"],
      [415, "UNSUPPORTED_TYPE"],
      [403, "FOREIGN_ORIGIN"],
      [422, "UNKNOWN_ROLE"],
      [422, "UNKNOWN_ROLE"],
      [401, "UNAUTHORIZED"],
    ]);
  });

  test("without a token (loopback mode) a Host that is not loopback gets 403: DNS rebinding finds nothing", async () => {
    using dir = makeTempDir();
    const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
    const app = await createControlApp({ agent: "test", version: "0.0.0", supervisor });
    const get = (host: string) => app.handle(new Request(`http://${host}/v1/roles`, { headers: { host } }));
    const answers = await Promise.all(["127.0.0.1:7700", "localhost:7700", "[::1]:7700", "rebind.evil.example:7700", "192.168.1.20:7700"].map(get));
    expect(answers.map((response) => response.status)).toEqual([200, 200, 200, 403, 403]);
    const health = (await (await app.handle(new Request("http://127.0.0.1/v1/health"))).json()) as { auth: string };
    expect(health.auth).toBe("loopback");
  });

  test("paths: '..' in a glob, a symlink to /etc and a symlink to a photo outside get 403 PATH_REFUSED; a photo inside starts", async () => {
    using dir = makeTempDir();
    using outside = makeTempDir();
    copyFileSync(join(FIXTURES, "chelsea.jpg"), join(outside.path, "cat.jpg"));
    mkdirSync(join(dir.path, "photos"));
    copyFileSync(join(FIXTURES, "chelsea.jpg"), join(dir.path, "photos", "inside.jpg"));
    symlinkSync("/etc", join(dir.path, "etc-link"));
    symlinkSync(join(outside.path, "cat.jpg"), join(dir.path, "photos", "linked.jpg"));
    symlinkSync(outside.path, join(dir.path, "outside-link"));
    const { app } = await makeApp(dir.path);
    const sender = (source: string) => call(app, "POST", "/v1/roles", { role: "sender", options: { target: ["http://127.0.0.1:1/upload"], source, duration: "0" } });
    const answers = [
      await sender("files:*/../../x/*.jpg"),
      await sender(`files:${dir.path}/etc-link`),
      await sender(`files:${dir.path}/etc-link/*.conf`),
      await sender(`files:${dir.path}/photos/linked.jpg`),
      await sender(`files:${dir.path}/outside-link/*.jpg`),
      await call(app, "POST", "/v1/roles", { role: "recognition-worker", options: { manager: "127.0.0.1:1", model: `${dir.path}/etc-link/passwd` } }),
      await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: 0, out: "etc-link/x" } }),
      // A receiver's own state folder is no output folder: topics there would land among its temp files.
      await call(app, "POST", "/v1/roles", { role: "receiver", options: { port: 0, out: "images/.framefleet" } }),
      await call(app, "POST", "/v1/roles", { role: "sender", options: { target: ["http://127.0.0.1:1/upload"], source: `files:${dir.path}/photos/inside.jpg`, duration: "0", ackLog: "images/.framefleet/image_counter.txt" } }),
    ];
    expect(answers.map((answer) => [answer.status, answer.body.error])).toEqual(Array(9).fill([403, "PATH_REFUSED"]));
    expect(answers[3]!.body.message).toContain(join(outside.path, "cat.jpg"));
    const inside = await sender(`files:${dir.path}/photos/inside.jpg`);
    expect(inside.status).toBe(201);
    await call(app, "DELETE", `/v1/roles/${inside.body.id}`);
  });
});
