// Fuzz surface: the control API's POST /v1/roles (any JSON, roles, options, impairments, content types), in process via app.handle.
import fc from "fast-check";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createControlApp } from "../../agent/control/app";
import { roles } from "../../agent/roles";
import { Supervisor } from "../../agent/control/supervisor";
import { quietContext } from "../helpers";
import { anyJson, oddText } from "./_arbitraries";
import { tallyAnswer, type RawAnswer } from "./_http";
import { createCounts, type FuzzSurface } from "./_surface";

/** Values an option may plausibly hold, so some requests get past the schema into the roles and the network policy. */
const plausible = fc.constantFrom<unknown>(
  0,
  1,
  -1,
  65536,
  "0",
  "1s",
  "500ms",
  "8MB",
  "-5s",
  "127.0.0.1:1",
  "synthetic:64x48",
  "synthetic:0x0",
  "files:test/fixtures/*.jpg",
  "files:*/../../etc/*.jpg",
  "files:/etc/passwd",
  "mjpeg-cmd:true",
  "camera",
  "http://127.0.0.1:1/upload",
  "header",
  "json",
  "low",
  "out",
  "../outside",
  "/tmp",
);

const roleNames = roles.map((role) => role.name);
const optionNames = [...new Set(roles.flatMap((role) => Object.keys((role.options as { properties: object }).properties)))];

/** A start request: a known role or an odd name, options by the roles' own names (and odd ones), an impairment. */
const startRequest = fc.record(
  {
    role: fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...roleNames) }, oddText, anyJson),
    options: fc.oneof(
      { weight: 4, arbitrary: fc.dictionary(fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...optionNames) }, oddText), fc.oneof(plausible, anyJson), { maxKeys: 5 }) },
      anyJson,
    ),
    impair: fc.oneof(
      fc.record({ delay: fc.oneof(plausible, anyJson), loss: fc.oneof(fc.double(), anyJson), cpu: fc.double(), fail: fc.double(), seed: anyJson }, { requiredKeys: [] }),
      anyJson,
    ),
    extra: anyJson,
  },
  { requiredKeys: [] },
);

const CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""];

/** One POST /v1/roles: a start request as JSON, any JSON, or text that is not JSON; with a content type and maybe a foreign Origin. */
const controlCase = fc.record({
  body: fc.oneof(
    { weight: 4, arbitrary: startRequest.map((value) => JSON.stringify(value)) },
    anyJson.map((value) => JSON.stringify(value) ?? ""),
    fc.string({ maxLength: 200 }),
    fc.constantFrom("role=sender&options=x", "{", "", "null", '{"role":"receiver","options":{"port":0,"out":"fuzz-out"}}'),
  ),
  type: fc.constantFrom(...CONTENT_TYPES),
  origin: fc.option(fc.constantFrom("http://evil.example", "null", "http://127.0.0.1")),
});

async function toRawAnswer(response: Response): Promise<RawAnswer & { kind: "answer" }> {
  return { kind: "answer", status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

/**
 * The control API on a Supervisor whose network policy is the default one, data dir a temp
 * folder. A role that a case starts (201) is stopped at once with DELETE.
 */
export const controlSurface: FuzzSurface = {
  name: "control POST /v1/roles",
  testRuns: 3000,
  async start() {
    const dataDir = mkdtempSync(join(tmpdir(), "framefleet-fuzz-control-"));
    const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir });
    const app = await createControlApp({ agent: "fuzz", version: "0.0.0", supervisor });
    const counts = createCounts();
    const call = (method: string, path: string, init: RequestInit = {}) => app.handle(new Request(`http://127.0.0.1${path}`, { method, ...init }));
    const property = fc.asyncProperty(controlCase, async ({ body, type, origin }) => {
      const headers: Record<string, string> = {};
      if (type) headers["content-type"] = type;
      if (origin) headers.origin = origin;
      const response = await call("POST", "/v1/roles", { body, headers });
      const answer = await toRawAnswer(response);
      if (answer.status === 201) {
        const stopped = await call("DELETE", `/v1/roles/${(JSON.parse(answer.body) as { id: string }).id}`);
        if (stopped.status !== 200) throw new Error(`stopping a started role answered ${stopped.status}: ${await stopped.text()}`);
      }
      tallyAnswer(answer, counts);
    });
    return {
      property,
      counts,
      async checkAlive() {
        const health = await call("GET", "/v1/health");
        const list = (await (await call("GET", "/v1/roles")).json()) as unknown[];
        if (health.status !== 200 || list.filter((role) => (role as { state: string }).state === "running").length > 0)
          throw new Error(`health ${health.status}, roles left running: ${JSON.stringify(list).slice(0, 300)}`);
      },
      async [Symbol.asyncDispose]() {
        await supervisor.stopAll();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};
