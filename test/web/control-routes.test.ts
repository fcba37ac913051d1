// The control API routes the status page needs, in process: the last saved frame of a receiver and the embedded Chart.js.
import { expect, test } from "bun:test";
import { createControlApp } from "../../agent/control/app";
import { Supervisor } from "../../agent/control/supervisor";
import { checkRole, type RoleInfoOf } from "../../agent/wire";
import { makeTempDir, quietContext, readPhotos, waitUntil } from "../helpers";

const TOKEN = "frame-token";

test("GET /v1/roles/:id/frame.jpg: 404 JSON before a frame, the last saved bytes after, token required", async () => {
  using dir = makeTempDir();
  const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
  const app = await createControlApp({ agent: "test", version: "0.0.0", token: TOKEN, supervisor });
  await using _stop = { [Symbol.asyncDispose]: async () => void (await supervisor.stopAll()) };
  const call = (path: string, init: RequestInit = {}, token: string | null = TOKEN) =>
    app.handle(new Request(`http://localhost${path}`, { ...init, headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) } }));
  const info = (await (await call("/v1/roles", { method: "POST", body: JSON.stringify({ role: "receiver", options: { port: 0, out: "images" } }) })).json()) as RoleInfoOf<"receiver">;
  const frame = `/v1/roles/${info.id}/frame.jpg`;
  const before = await call(frame);
  const unknown = await call("/v1/roles/receiver-99/frame.jpg");
  const photos = readPhotos();
  for (const name of ["coffee-480p.jpg", "chelsea-480p.jpg"]) {
    await fetch(`http://127.0.0.1:${info.stats.port}/upload`, { method: "POST", body: photos.get(name)!, headers: { "content-type": "image/jpeg" } });
    await waitUntil(`${name} saved`, () => checkRole(supervisor.get(info.id), "receiver").stats, (stats) => stats.saved === (name === "coffee-480p.jpg" ? 1 : 2), undefined, 5);
  }
  const after = await call(frame);
  expect({
    before: [before.status, before.headers.get("content-type"), await before.json()],
    unknown: [unknown.status, ((await unknown.json()) as { error: string }).error],
    noToken: (await call(frame, {}, null)).status,
    after: [after.status, after.headers.get("content-type"), after.headers.get("cache-control"), Buffer.from(await after.arrayBuffer()).equals(photos.get("chelsea-480p.jpg")!)],
  }).toEqual({
    before: [404, "application/json", { error: "NO_FRAME", message: `role "${info.id}" has no saved frame yet` }],
    unknown: [404, "NO_SUCH_ROLE"],
    noToken: 401,
    after: [200, "image/jpeg", "no-store", true],
  });
});

test("GET /vendor/chart.js: the embedded Chart.js, without the token (a <script> cannot send one)", async () => {
  using dir = makeTempDir();
  const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
  const app = await createControlApp({ agent: "test", version: "0.0.0", token: TOKEN, supervisor });
  const response = await app.handle(new Request("http://localhost/vendor/chart.js"));
  const text = await response.text();
  expect({ status: response.status, type: response.headers.get("content-type"), umd: text.includes("Chart.js v4"), big: text.length > 100_000 }).toEqual({
    status: 200,
    type: "text/javascript; charset=utf-8",
    umd: true,
    big: true,
  });
});
