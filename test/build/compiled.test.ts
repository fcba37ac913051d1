// The x64 agent from scripts/build.ts, run away from the repository (no node_modules): --self-test and --version.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { readEmbeddedModel } from "../../agent/recognition/model";
import { startInferencePool } from "../../agent/recognition/pool";
import { DEFAULT_LIMITS, type Detection } from "../../agent/recognition/postprocess";
import { readModelInput } from "../../agent/recognition/preprocess";
import { FIXTURES, readPhotos, spawnAgent, startRole, waitUntil } from "../helpers";
import { testWith } from "../_requires";
import { startNatsServer } from "../../controller/nats-server";
import { describeImage, expectedOf, managerClient } from "../broker/broker-fleet";
import { listenManager } from "../roles/fake-manager";
import { buildAgentX64 } from "./agent-binary";

const scratch = mkdtempSync(join(tmpdir(), "framefleet-compiled-"));
/** The binary (test/build/agent-binary.ts) and the folder it runs from: nothing else in it, no node_modules above it. */
let agent = "";
let bin = "";

/** Runs a command to its end and answers its exit code and output. */
async function run(cmd: string[], options: { cwd: string; env?: Record<string, string> }) {
  await using proc = Bun.spawn({ cmd, ...options, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** A fresh HOME whose cache starts empty, so the binary copies its libvips there. */
function createHome(name: string): Record<string, string> {
  const home = join(scratch, name);
  mkdirSync(home, { recursive: true });
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_CACHE_HOME: join(home, ".cache"), TMPDIR: scratch };
}

/** A passed check of the self-test, whatever its detail and timing. */
function passed(name: string) {
  return { name, ok: true, detail: expect.any(String), ms: expect.any(Number) };
}

beforeAll(async () => {
  agent = await buildAgentX64();
  bin = dirname(agent);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("agent-linux-x64", () => {
  test("--self-test passes, copying libvips to the cache on the first run and reusing it after", async () => {
    const env = createHome("home");
    const cache = join(env.XDG_CACHE_HOME!, "framefleet");
    const runs = [];
    for (let i = 0; i < 2; i++) {
      const { exitCode, stdout, stderr } = await run([agent, "--self-test"], { cwd: bin, env });
      expect({ exitCode, stderr }).toMatchObject({ exitCode: 0 });
      runs.push(JSON.parse(stdout));
    }
    const report = {
      ok: true,
      version: pkg.version,
      arch: "x64",
      checks: expect.arrayContaining([passed("sharp"), passed("decode"), passed("grayscale"), passed("recognition")]),
    };
    expect(runs).toEqual([report, report]);
    const details = runs.map((r) => r.checks.find((c: { name: string }) => c.name === "sharp").detail);
    expect(details).toEqual([expect.stringContaining(`copied to ${cache}/`), expect.stringContaining(`loaded from ${cache}/`)]);
  });

  test("--self-test fails with a clear message when libvips cannot be copied", async () => {
    const env = createHome("unwritable");
    writeFileSync(join(env.HOME!, "cache-file"), "");
    env.XDG_CACHE_HOME = join(env.HOME!, "cache-file");
    const { exitCode, stdout } = await run([agent, "--self-test"], { cwd: bin, env });
    const report = JSON.parse(stdout);
    expect({ exitCode, ok: report.ok, sharp: report.checks[0] }).toEqual({
      exitCode: 1,
      ok: false,
      sharp: { name: "sharp", ok: false, detail: expect.stringMatching(/^NATIVE_UNAVAILABLE: .*XDG_CACHE_HOME/), ms: expect.any(Number) },
    });
  });

  test("--version prints the package version", async () => {
    const { exitCode, stdout } = await run([agent, "--version"], { cwd: bin, env: createHome("version") });
    expect({ exitCode, stdout }).toEqual({ exitCode: 0, stdout: `${pkg.version}\n` });
  });

  for (const format of ["binary", "json"]) {
    test(`${format}: compiled sender to compiled receiver, real photos, every 202 saved byte-identical`, async () => {
      const work = join(scratch, `transfer-${format}`);
      cpSync(FIXTURES, join(work, "photos"), { recursive: true });
      const env = createHome(`transfer-${format}-home`);
      await using receiver = spawnAgent(["--role", "receiver", "--port", "0", "--out", "received", "--no-control", "--verify", "decode"], [agent], work, env);
      const port = Number((await receiver.waitFor("receiver_listening")).port);
      const sender = await run(
        [agent, "--role", "sender", "--no-control", "--target", `http://127.0.0.1:${port}/upload`, "--source", "files:photos", "--format", format, "--topics", "2", "--multiply", "3", "--fps", "25", "--duration", "800ms"],
        { cwd: work, env },
      );
      receiver.process.kill("SIGTERM");
      await receiver.process.exited;
      const sent = JSON.parse(sender.stdout.trim().split("\n").at(-1)!);
      const received = JSON.parse((await new Response(receiver.process.stdout).text()).trim().split("\n").at(-1)!);
      const photos = readPhotos();
      let identical = 0;
      for (const topic of ["topic-0", "topic-1"]) {
        for (const name of readdirSync(join(work, "received", topic))) {
          const original = photos.get(name.replace(/^[^_]+_\d+_/, ""));
          if (original && Buffer.compare(readFileSync(join(work, "received", topic, name)), original) === 0) identical += 1;
        }
      }
      expect(sent.ok).toBeGreaterThan(0);
      expect({ exit: sender.exitCode, failed: sent.failed, saved: received.saved, identical }).toEqual({ exit: 0, failed: 0, saved: sent.ok, identical: sent.ok });
    });
  }

  test("recognition worker: the compiled binary finds the same labels and scores (3 decimals) as bun run", async () => {
    const names = ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"];
    const photos = readPhotos();
    const toFigures = ({ objects, top5 }: Detection) => ({
      objects: objects.map(({ label, score }) => `${label} ${score.toFixed(3)}`),
      top5: top5.map(({ label, score }) => `${label} ${score.toFixed(3)}`),
    });
    const pool = await startInferencePool({ model: readEmbeddedModel(), threads: 1, batch: 1 });
    const expected: Record<string, unknown> = {};
    try {
      for (const name of names) expected[name] = toFigures(await pool.detect(await readModelInput(photos.get(name)!), DEFAULT_LIMITS));
    } finally {
      await pool.close();
    }
    await using manager = listenManager();
    await using worker = spawnAgent(["--role", "recognition-worker", "--no-control", "--manager", `127.0.0.1:${manager.listener.port}`, "--concurrency", "1"], [agent], bin, createHome("recognition"));
    const { connection } = await manager.next("hello");
    for (const name of names) await connection.send({ type: "assign", taskId: name, attempt: 1, op: "classify", params: {}, payload: photos.get(name)! });
    const found: Record<string, unknown> = {};
    for (const _ of names) {
      const { event } = await manager.next("result");
      found[event.taskId] = toFigures(event.meta as unknown as Detection);
    }
    expect(found).toEqual(expected);
    expect((expected["chelsea.jpg"] as { top5: string[] }).top5[0]).toStartWith("cat 0.9");
    worker.process.kill("SIGTERM");
    expect(await worker.process.exited).toBe(0);
  });

  test("serves the embedded status page and control API", async () => {
    const env = createHome("control");
    await using idle = spawnAgent(["--control-port", "0", "--host", "127.0.0.1"], [agent], bin, env);
    const port = Number((await idle.waitFor("control_listening")).port);
    const page = await fetch(`http://127.0.0.1:${port}/`);
    const script = await fetch(`http://127.0.0.1:${port}/status.js`);
    const health = (await (await fetch(`http://127.0.0.1:${port}/v1/health`)).json()) as { version: string; arch: string };
    expect({ page: page.status, title: (await page.text()).includes("<title>Framefleet agent</title>"), script: script.status, health: [health.version, health.arch] }).toEqual({
      page: 200,
      title: true,
      script: 200,
      health: [pkg.version, "x64"],
    });
  });

  testWith("nats-server")("a grayscale worker over the broker: the binary alone in a folder pulls a job and its result equals sharp's", async () => {
    await using server = await startNatsServer();
    const tokenFile = join(scratch, "broker-token");
    writeFileSync(tokenFile, `${server.token}\n`);
    await using manager = await startRole("manager", { port: 0, broker: server.url, split: "file" }, { token: server.token });
    await using worker = spawnAgent(["--role", "grayscale-worker", "--broker", server.url, "--token-file", tokenFile, "--no-control", "--id", "compiled", "--concurrency", "1"], [agent], bin, createHome("broker-home"));
    await worker.waitFor("worker_broker_connected");
    const client = managerClient(manager.stats().port as number, server.token);
    const photo = readPhotos().get("chelsea.jpg")!;
    const id = await client.post(photo, "sepia");
    await waitUntil("the job", () => client.view(id), (view) => view.state === "done" || view.state === "failed");
    expect(describeImage(await client.result(id))).toBe(describeImage(await expectedOf(photo, "sepia")));
  });
});
