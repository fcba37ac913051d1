// Whole-role load runs: our sender process against the receiver or the bare sink, over 127.0.0.1.
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { AGENT, REPO, readCpuMs, readExitedCpuMs, readLastJson, spawnBun, stopChild, timeCommand, type Child } from "./_process";

/** The photo every load run sends: a real 480p JPEG. */
export const PHOTO = join(REPO, "test", "fixtures", "coffee-480p.jpg");
/** Counted rounds per server; the servers take turns, so drift of the machine hits all alike. */
export const ROUNDS = 3;
/** Seconds of load in each counted round. */
export const RUN_SECONDS = 5;
/** Seconds of uncounted warm-up load each server gets once, after it starts. */
export const WARMUP_SECONDS = 1;
/** The load client's settings, the same for every run. */
export const LOAD = { concurrency: 8, multiply: 20 } as const;

/** What one counted load run measured. */
export interface LoadRun {
  /** 202 answers per second as the sender counts them (ok / sender's sending time). */
  images_per_s: number;
  /** Request-body bytes per second on the wire (JSON bodies are base64, ~4/3 of the JPEG). */
  wire_mbit_per_s: number;
  /** JPEG bytes per second (images/s x the photo's size). */
  image_mbit_per_s: number;
  ok: number;
  failed: number;
  retries: number;
  sender_elapsed_s: number;
  /** Sender CPU over its whole life (startup included) / its wall time, in % of one core (rusage). */
  sender_cpu_pct: number;
  /** Server CPU from just before the sender starts to its exit (/proc), over the sender's sending time, in % of one core. */
  server_cpu_pct: number;
  /** Receiver only: images and bytes saved in this run; the drain after the sender ended; `sync` after it (disk run). */
  saved?: number;
  saved_bytes?: number;
  drain_ms?: number;
  sync_ms?: number;
  /** Receiver only: sending time + drain (+ sync), the time `saved` took. */
  window_s?: number;
  saved_per_s?: number;
}

/** How a server is set up. */
export interface LoadSetup {
  server: "sink" | "receiver";
  format: "binary" | "json";
  /** Receiver only: the folder it saves into. */
  out?: string;
}

/** A running server, warmed up, and the URL the sender posts to. */
export interface Server {
  setup: LoadSetup;
  child: Child;
  port: number;
  url: string;
}

/** Runs our sender against `url` for `seconds` and answers its final figures and CPU. */
async function runSender(url: string, format: string, seconds: number): Promise<{ stats: Record<string, number>; cpuMs: number; wallMs: number }> {
  const began = performance.now();
  const child = spawnBun([AGENT, "--role", "sender", "--no-control", "--target", url, "--source", `files:${PHOTO}`, "--format", format,
    "--concurrency", String(LOAD.concurrency), "--multiply", String(LOAD.multiply), "--duration", `${seconds}s`]);
  const { code, stdout, stderr } = await child.finished;
  const stats = readLastJson(stdout) as Record<string, number> | undefined;
  if (code !== 0 || !stats) throw new Error(`sender exited ${code}: ${stderr.slice(-2000)}`);
  return { stats, cpuMs: readExitedCpuMs(child), wallMs: performance.now() - began };
}

/** Polls the receiver's /stats every 5 ms until its save queue is empty; answers the figures then. */
async function waitForDrained(port: number): Promise<Record<string, number>> {
  for (;;) {
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Record<string, number>;
    if (stats.queue_depth === 0) return stats;
    await Bun.sleep(5);
  }
}

/** Empties the receiver's topic folders between rounds (it is idle then), so tmpfs does not fill up. */
function clearSaved(out: string): void {
  for (const entry of readdirSync(out, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    rmSync(join(out, entry.name), { recursive: true, force: true });
    mkdirSync(join(out, entry.name));
  }
}

/** Starts a server process (the receiver or the bare sink) and runs the uncounted warm-up against it. */
export async function startServer(setup: LoadSetup): Promise<Server> {
  const child = setup.server === "sink"
    ? spawnBun([join(import.meta.dir, "sink-fixture.ts")])
    : spawnBun([AGENT, "--role", "receiver", "--no-control", "--host", "127.0.0.1", "--port", "0", "--out", setup.out!, "--verify", "header"]);
  const listening = await child.waitForEvent(setup.server === "sink" ? "sink_listening" : "receiver_listening");
  const server = { setup, child, port: Number(listening.port), url: `http://127.0.0.1:${listening.port}/upload` };
  await runSender(server.url, setup.format, WARMUP_SECONDS);
  if (setup.server === "receiver") await waitForDrained(server.port);
  return server;
}

/**
 * One counted round against a warmed-up server. For the receiver, `saved` counts what it
 * wrote in this round; `final` stops it (SIGTERM drains its queue), then runs `sync` and
 * counts that too; otherwise the round ends when /stats shows an empty queue.
 */
export async function measureRound(server: Server, final?: "stop-and-sync"): Promise<LoadRun> {
  const { setup, child } = server;
  const before = setup.server === "receiver" ? await waitForDrained(server.port) : undefined;
  if (final) timeCommand(["sync"]);
  const cpuBefore = readCpuMs(child.proc.pid);
  const sender = await runSender(server.url, setup.format, RUN_SECONDS);
  const senderExited = performance.now();
  const s = sender.stats;
  const run: LoadRun = {
    images_per_s: s.images_per_s!,
    wire_mbit_per_s: s.mbit_per_s!,
    image_mbit_per_s: Math.round(s.images_per_s! * statSync(PHOTO).size * 8) / 1e6,
    ok: s.ok!,
    failed: s.failed!,
    retries: s.retries!,
    sender_elapsed_s: s.elapsed_s!,
    sender_cpu_pct: Math.round((sender.cpuMs / sender.wallMs) * 1000) / 10,
    server_cpu_pct: Math.round(((readCpuMs(child.proc.pid) - cpuBefore) / (s.elapsed_s! * 1000)) * 1000) / 10,
  };
  if (!before) return run;
  const after = (final ? await stopChild(child) : await waitForDrained(server.port)) as Record<string, number> | undefined;
  if (!after) throw new Error("the receiver printed no final figures");
  const drained = performance.now();
  const syncMs = final ? timeCommand(["sync"]) : 0;
  const windowMs = s.elapsed_s! * 1000 + (drained - senderExited) + syncMs;
  run.saved = after.saved! - before.saved!;
  run.saved_bytes = after.bytes! - before.bytes!;
  run.drain_ms = Math.round(drained - senderExited);
  run.sync_ms = Math.round(syncMs);
  run.window_s = Math.round(windowMs) / 1000;
  run.saved_per_s = Math.round((run.saved / windowMs) * 100_000) / 100;
  if (!final) clearSaved(setup.out!);
  return run;
}

/** Kills a server process (SIGKILL; a receiver stopped by its final round has already exited). */
export async function killServer(server: Server): Promise<void> {
  server.child.proc.kill("SIGKILL");
  await server.child.finished;
}

/** The tmpfs subjects: the bare sink, the receiver with binary bodies and with JSON bodies, `ROUNDS` rounds taken in turn. */
export async function runIngest(tmpfsDir: string): Promise<{ sink: LoadRun[]; binary: LoadRun[]; json: LoadRun[] }> {
  const servers: Server[] = [];
  try {
    servers.push(await startServer({ server: "sink", format: "binary" }));
    servers.push(await startServer({ server: "receiver", format: "binary", out: join(tmpfsDir, "binary") }));
    servers.push(await startServer({ server: "receiver", format: "json", out: join(tmpfsDir, "json") }));
    const rounds: LoadRun[][] = servers.map(() => []);
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [index, server] of servers.entries()) rounds[index]!.push(await measureRound(server));
    }
    return { sink: rounds[0]!, binary: rounds[1]!, json: rounds[2]! };
  } finally {
    for (const server of servers) await killServer(server);
  }
}
