// The receiver's --ack modes (queued, written, fsync) against a naive saver, on tmpfs and on disk, loaded by wrk.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describeFolder } from "./disk";
import { PHOTO } from "./ingest";
import { AGENT, makeTempDir, readCpuMs, removeTempDir, spawnBun, timeCommand, type Child } from "./_process";
import { median } from "./_table";

/** Seconds of wrk load per counted round, and of uncounted warm-up once per server. */
export const ACK_RUN_SECONDS = 3;
const ACK_WARMUP_SECONDS = 1;
/** Counted rounds per cell; the subjects of a folder take turns. */
export const ACK_ROUNDS = 2;
/** wrk's settings: one thread (the client is C, the servers JavaScript), connections in flight. */
export const ACK_LOAD = { threads: 1, connections: 16 } as const;
/** The folders: tmpfs, and a disk folder outside tmpfs. */
const FOLDERS = { tmpfs: "/dev/shm", disk: "/var/tmp" } as const;
const SUBJECTS = ["naive", "queued", "written", "fsync"] as const;
type Subject = (typeof SUBJECTS)[number];

/** What one counted round measured. */
export interface AckRound {
  /** 2xx answers per second as wrk counts them. */
  acks_per_s: number;
  /** Files on disk after the round (and the receiver's drain) / (wrk's time + drain). */
  saved_per_s: number;
  non_2xx: number;
  drain_ms: number;
  /** Server CPU over wrk's time, in % of one core. */
  server_cpu_pct: number;
  /** fsync only: images per group commit in this round. */
  files_per_sync?: number;
}

/** One cell: a subject in a folder, its rounds and their medians. */
export interface AckCell {
  folder: keyof typeof FOLDERS;
  subject: Subject;
  rounds: AckRound[];
}

interface AckServer {
  subject: Subject;
  child: Child;
  port: number;
  out: string;
}

/** A wrk Lua script that POSTs the bench photo as image/jpeg. */
function writeWrkScript(dir: string): string {
  const path = join(dir, "post-jpeg.lua");
  writeFileSync(path, `wrk.method = "POST"\nlocal f = io.open(${JSON.stringify(PHOTO)}, "rb")\nwrk.body = f:read("*a")\nf:close()\nwrk.headers["Content-Type"] = "image/jpeg"\nwrk.headers["X-Topic"] = "bench"\n`);
  return path;
}

/** Runs wrk for `seconds` against `url`; answers its 2xx per second, its non-2xx count and its measured time. */
function runWrk(script: string, url: string, seconds: number): { acksPerS: number; non2xx: number; seconds: number } {
  const result = Bun.spawnSync(["wrk", "-t", String(ACK_LOAD.threads), "-c", String(ACK_LOAD.connections), "-d", `${seconds}s`, "-s", script, url], { stdout: "pipe", stderr: "pipe" });
  const text = result.stdout.toString();
  const match = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(text);
  if (result.exitCode !== 0 || !match) throw new Error(`wrk failed: ${text}${result.stderr.toString()}`);
  const elapsed = Number(match[2]) * (match[3] === "ms" ? 0.001 : match[3] === "m" ? 60 : 1);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0) + Number(/Socket errors: .*?timeout (\d+)/.exec(text)?.[1] ?? 0);
  return { acksPerS: (Number(match[1]) - non2xx) / elapsed, non2xx, seconds: elapsed };
}

async function readStats(port: number): Promise<Record<string, number>> {
  return (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as Record<string, number>;
}

/** Polls a receiver's /stats every 5 ms until its queue is empty; answers the figures then. */
async function waitForDrained(port: number): Promise<Record<string, number>> {
  for (;;) {
    const stats = await readStats(port);
    if (stats.queue_depth === 0) return stats;
    await Bun.sleep(5);
  }
}

/** Empties a server's output between rounds: every file and topic folder, never the receiver's .framefleet state. */
function emptyOutput(out: string): void {
  for (const name of readdirSync(out)) if (!name.startsWith(".")) rmSync(join(out, name), { recursive: true, force: true });
}

function countFiles(out: string): number {
  let files = 0;
  for (const entry of readdirSync(out, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    files += entry.isDirectory() ? readdirSync(join(out, entry.name)).length : 1;
  }
  return files;
}

async function startAckServer(subject: Subject, out: string, script: string): Promise<AckServer> {
  mkdirSync(out, { recursive: true });
  const child = subject === "naive"
    ? spawnBun([join(import.meta.dir, "naive-saver-fixture.ts"), out])
    : spawnBun([AGENT, "--role", "receiver", "--no-control", "--host", "127.0.0.1", "--port", "0", "--out", out, "--ack", subject, "--verify", "header"]);
  const listening = await child.waitForEvent(subject === "naive" ? "naive_listening" : "receiver_listening");
  const server = { subject, child, port: Number(listening.port), out };
  runWrk(script, `http://127.0.0.1:${server.port}/upload`, ACK_WARMUP_SECONDS);
  if (subject !== "naive") await waitForDrained(server.port);
  emptyOutput(out);
  return server;
}

/** One counted round: sync first (not counted), wrk, then the receiver's drain. */
async function measureAckRound(server: AckServer, script: string): Promise<AckRound> {
  const receiver = server.subject !== "naive";
  const before = receiver ? await waitForDrained(server.port) : undefined;
  timeCommand(["sync"]);
  const cpuBefore = readCpuMs(server.child.proc.pid);
  const wrk = runWrk(script, `http://127.0.0.1:${server.port}/upload`, ACK_RUN_SECONDS);
  const cpuMs = readCpuMs(server.child.proc.pid) - cpuBefore;
  const drainBegan = performance.now();
  const after = receiver ? await waitForDrained(server.port) : undefined;
  const drainMs = performance.now() - drainBegan;
  const files = countFiles(server.out);
  emptyOutput(server.out);
  const round: AckRound = {
    acks_per_s: Math.round(wrk.acksPerS),
    saved_per_s: Math.round(files / (wrk.seconds + drainMs / 1000)),
    non_2xx: wrk.non2xx,
    drain_ms: Math.round(drainMs),
    server_cpu_pct: Math.round(cpuMs / wrk.seconds / 10),
  };
  if (server.subject === "fsync" && before && after) round.files_per_sync = Math.round(((after.saved! - before.saved!) / Math.max(after.sync_passes! - before.sync_passes!, 1)) * 10) / 10;
  return round;
}

/** Runs every subject in each folder, `ACK_ROUNDS` rounds taken in turn; folders made fresh and removed afterwards. */
export async function runAck(): Promise<{ cells: AckCell[]; folders: ReturnType<typeof describeFolder>[] }> {
  const cells: AckCell[] = [];
  const folders: ReturnType<typeof describeFolder>[] = [];
  for (const [folder, parent] of Object.entries(FOLDERS) as [keyof typeof FOLDERS, string][]) {
    const dir = makeTempDir(parent);
    const servers: AckServer[] = [];
    try {
      folders.push(describeFolder(dir));
      const script = writeWrkScript(dir);
      for (const subject of SUBJECTS) servers.push(await startAckServer(subject, join(dir, subject), script));
      const rounds: AckRound[][] = servers.map(() => []);
      for (let round = 0; round < ACK_ROUNDS; round += 1) {
        for (const [index, server] of servers.entries()) rounds[index]!.push(await measureAckRound(server, script));
      }
      for (const [index, server] of servers.entries()) cells.push({ folder, subject: server.subject, rounds: rounds[index]! });
    } finally {
      for (const server of servers) server.child.proc.kill("SIGKILL");
      await Promise.all(servers.map((server) => server.child.finished));
      removeTempDir(dir);
    }
  }
  return { cells, folders };
}

/** The medians of a cell's rounds, with the range of the main figure. */
function summarize(cell: AckCell) {
  const pick = (key: keyof AckRound) => Math.round(median(cell.rounds.map((round) => round[key] ?? 0)) * 10) / 10;
  const acks = cell.rounds.map((round) => round.acks_per_s);
  const saved = Math.round(pick("saved_per_s"));
  return { acks: Math.round(pick("acks_per_s")), min: Math.min(...acks), max: Math.max(...acks), saved, cpu: Math.round(pick("server_cpu_pct")), non2xx: cell.rounds.reduce((sum, round) => sum + round.non_2xx, 0), perSync: pick("files_per_sync") };
}

/** Prints the cells side by side: per folder, each subject's 2xx/s and its ratio to the naive saver in that folder. */
export function formatAck(cells: AckCell[]): string {
  const header = ["folder", "subject", "2xx/s (median [min-max])", "x naive", "saved/s incl. drain", "server CPU %", "non-2xx", "files/fsync pass"];
  const rows = cells.map((cell) => {
    const s = summarize(cell);
    const naive = summarize(cells.find((other) => other.folder === cell.folder && other.subject === "naive")!);
    const name = cell.subject === "naive" ? "naive saver (Bun.write per body)" : `receiver --ack ${cell.subject}`;
    return [cell.folder, name, `${s.acks.toLocaleString("en")} [${s.min.toLocaleString("en")}-${s.max.toLocaleString("en")}]`, `${(s.acks / naive.acks).toFixed(2)}x`, s.saved.toLocaleString("en"), String(s.cpu), String(s.non2xx), cell.subject === "fsync" ? String(s.perSync) : ""];
  });
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((text, column) => text.padEnd(widths[column]!)).join("  ").trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}
