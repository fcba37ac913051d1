// Crash test on the compiled agent: a receiver SIGKILLed 3 times under load loses no acknowledged image and never reuses a number.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FIXTURES, spawnAgent, waitUntil, type AgentProcess } from "../helpers";

const ROOT = resolve(import.meta.dir, "../..");
const scratch = mkdtempSync(join(tmpdir(), "framefleet-crash-"));
const agent = join(scratch, "bin", "agent-linux-x64");
/** Images each receiver saves before it is killed (and after the last restart, before the end). */
const SAVED_PER_LIFE = 300;
const KILLS = 3;

/** A fresh HOME for the binary's libvips cache, as test/build/compiled.test.ts gives it. */
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: scratch, XDG_CACHE_HOME: join(scratch, ".cache"), TMPDIR: scratch };

beforeAll(async () => {
  await using build = Bun.spawn([process.execPath, "scripts/build.ts", "x64", "agent", "--outdir", join(scratch, "bin")], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, output] = await Promise.all([build.exited, new Response(build.stderr).text()]);
  if (code !== 0) throw new Error(`scripts/build.ts failed:\n${output}`);
});

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Starts a compiled receiver on loopback (port 0 picks one; restarts reuse it); answers it with its port. */
async function startReceiver(work: string, ack: string, port: number): Promise<{ receiver: AgentProcess; port: number }> {
  const receiver = spawnAgent(["--role", "receiver", "--host", "127.0.0.1", "--no-control", "--port", String(port), "--out", "out", "--ack", ack, "--verify", "header"], [agent], work, env);
  return { receiver, port: Number((await receiver.waitFor("receiver_listening")).port) };
}

/** Reads a live receiver's /stats until it has saved `count` images; answers the last figures. */
function waitForSaved(port: number, count: number): Promise<Record<string, number>> {
  const read = async () => (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Record<string, number>;
  return waitUntil(`the receiver to save ${count} images`, read, (stats) => stats.saved! >= count);
}

/** The numbers in the names of every saved file: OUT/TOPIC/<UTC>_<counter>_<name>.jpg. */
function listSavedIds(out: string): number[] {
  const ids: number[] = [];
  for (const topic of readdirSync(out).filter((name) => !name.startsWith("."))) {
    for (const file of readdirSync(join(out, topic))) ids.push(Number(/^[^_]+_(\d+)_/.exec(file)![1]));
  }
  return ids;
}

/** Values that occur more than once. */
function findRepeats(values: number[]): number[] {
  const seen = new Set<number>();
  return values.filter((value) => (seen.has(value) ? true : (seen.add(value), false)));
}

describe("receiver crash (compiled agent, SIGKILL under load)", () => {
  for (const ack of ["written", "fsync"]) {
    test(`--ack ${ack}: every acknowledged id is a file after ${KILLS} kills, no number used twice`, async () => {
      const work = join(scratch, ack);
      mkdirSync(work, { recursive: true });
      let { receiver, port } = await startReceiver(work, ack, 0);
      const url = `http://127.0.0.1:${port}/upload`;
      await using sender = spawnAgent(
        ["--role", "sender", "--host", "127.0.0.1", "--no-control", "--target", url, "--source", `files:${join(FIXTURES, "chelsea.jpg")}`,
          "--concurrency", "16", "--multiply", "1", "--duration", "0", "--ack-log", "acks.txt"],
        [agent], work, env,
      );
      const lives: Record<string, number>[] = [];
      for (let kill = 0; kill < KILLS; kill += 1) {
        lives.push(await waitForSaved(port, SAVED_PER_LIFE));
        receiver.process.kill("SIGKILL");
        await receiver.process.exited;
        ({ receiver } = await startReceiver(work, ack, port));
      }
      lives.push(await waitForSaved(port, SAVED_PER_LIFE));
      sender.process.kill("SIGTERM");
      const sent = JSON.parse((await new Response(sender.process.stdout).text()).trim().split("\n").at(-1)!) as Record<string, number>;
      receiver.process.kill("SIGTERM");
      expect(await receiver.process.exited).toBe(0);

      const acked = readFileSync(join(work, "acks.txt"), "utf8").trim().split("\n").map((line) => Number(line.split(" ")[1]));
      const saved = new Set(listSavedIds(join(work, "out")));
      const leftovers = existsSync(join(work, "out", ".framefleet", "tmp")) ? readdirSync(join(work, "out", ".framefleet", "tmp")) : [];
      expect({
        ackedMissing: acked.filter((id) => !saved.has(id)),
        ackedTwice: findRepeats(acked),
        numbersUsedTwice: findRepeats(listSavedIds(join(work, "out"))),
        acksLogged: acked.length,
        senderBalanced: sent.sent === sent.ok! + sent.failed!,
        everyLifeUnderLoad: lives.map((stats) => stats.saved! >= SAVED_PER_LIFE),
        leftovers,
      }).toEqual({
        ackedMissing: [],
        ackedTwice: [],
        numbersUsedTwice: [],
        acksLogged: sent.ok!,
        senderBalanced: true,
        everyLifeUnderLoad: [true, true, true, true],
        leftovers: [],
      });
      expect(acked.length).toBeGreaterThanOrEqual(SAVED_PER_LIFE * (KILLS + 1));
      expect(sent.unreachable).toBeGreaterThan(0);
    });
  }
});
