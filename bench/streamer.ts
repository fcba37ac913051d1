// Streamer load runs side by side with Debian's motion: one ffmpeg MJPEG source, N viewers, fps per viewer, p99 gap, CPU, first frame.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runViewerLoad, type LoadFigures } from "../agent/roles/streamer/load";
import { AGENT, REPO, readCpuMs, spawnBun } from "./_process";
import { median } from "./_table";

/** Viewer counts of the side-by-side runs; Framefleet also runs EXTRA_VIEWERS. */
export const VIEWER_COUNTS = [1, 10, 50, 100];
export const EXTRA_VIEWERS = 500;
/** Seconds of uncounted load before each counted window, and of the window. */
export const STREAM_WARMUP_S = 1;
export const STREAM_RUN_S = 5;
/** Warm-up of the 500-viewer runs (s). */
export const EXTRA_WARMUP_S = 3;
/** The source: the fixture photos in turn, scaled to 854x480, at 30 fps, as MJPEG over HTTP (ffmpeg -f mpjpeg -listen 1). */
export const SOURCE_FPS = 30;
const SOURCE_SIZE = "856:480"; // 854x480 rounded up to a multiple of 8, which motion needs

/** One counted run: the load's figures, the subject's CPU (% of one core) and memory over the window, and the load client's CPU. */
export interface StreamRun extends LoadFigures {
  cpu_pct: number;
  rss_mb: number;
  /** CPU of this process (the load client) over the whole run, % of one core: near 100 means the client, not the subject, set the pace. */
  load_cpu_pct: number;
}

/** A subject under test: its process id and the URL of its stream. */
interface Subject {
  name: string;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

const freePort = (): number => {
  const server = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
};

/** Whether something listens on 127.0.0.1:port, read from /proc/net/tcp (a probe connection would use up ffmpeg's one client). */
function isListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8").split("\n").some((line) => line.includes(`:${hex} `) && line.split(/\s+/)[4] === "0A");
}

/**
 * Starts ffmpeg serving the photos as MJPEG on a free port; resolves once it listens. `-listen 1`
 * serves one client and exits, and motion connects twice (a probe, then its reader), so a
 * shell loop starts ffmpeg again each time; both subjects get the same source this way.
 */
async function startSource(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = freePort();
  const ffmpeg = ["ffmpeg", "-hide_banner", "-loglevel", "fatal", "-re", "-stream_loop", "-1", "-framerate", String(SOURCE_FPS), "-pattern_type", "glob",
    "-i", `'${join(REPO, "test/fixtures/*-480p.jpg")}'`, "-vf", `scale=${SOURCE_SIZE},setsar=1`, "-c:v", "mjpeg", "-q:v", "4",
    "-f", "mpjpeg", "-listen", "1", `http://127.0.0.1:${port}/`].join(" ");
  const proc = Bun.spawn(["sh", "-c", `while :; do ${ffmpeg}; done`], { stdout: "ignore", stderr: "inherit", detached: true });
  while (!isListening(port)) await Bun.sleep(20);
  return {
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      process.kill(-proc.pid, "SIGKILL");
      await proc.exited;
    },
  };
}

/** Starts our streamer pulling from `source`; resolves once it listens. */
async function startFramefleet(source: string): Promise<Subject> {
  const port = freePort();
  const child = spawnBun([AGENT, "--no-control", "--host", "127.0.0.1", "--role", "streamer", "--port", String(port), "--source", `mjpeg-url:${source}`, "--fps", String(SOURCE_FPS)]);
  await child.waitForEvent("streamer_listening");
  return {
    name: "framefleet",
    pid: child.proc.pid,
    url: `http://127.0.0.1:${port}/stream?quality=medium`,
    async stop() {
      child.proc.kill("SIGTERM");
      await child.finished;
    },
  };
}

/** Starts motion re-streaming `source` at quality 50 (as our medium tier), 30 fps, no detection output; undefined when not installed. */
async function startMotion(source: string): Promise<Subject | undefined> {
  if (!Bun.which("motion")) return undefined;
  const dir = mkdtempSync(join(tmpdir(), "framefleet-motion-"));
  const port = freePort();
  const config = join(dir, "motion.conf");
  writeFileSync(config, [
    "daemon off", "setup_mode off", "log_level 3", `target_dir ${dir}`, `netcam_url ${source}`, "width 856", "height 480",
    `framerate ${SOURCE_FPS}`, "picture_output off", "movie_output off", "webcontrol_port 0", `stream_port ${port}`,
    "stream_localhost on", `stream_maxrate ${SOURCE_FPS}`, "stream_quality 50", "stream_motion off", "stream_limit 0", "stream_auth_method 0",
  ].join("\n"));
  const proc = Bun.spawn(["motion", "-n", "-c", config], { stdout: "ignore", stderr: "ignore" });
  // motion answers on its stream port once the camera thread has its first image.
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const figures = await runViewerLoad({ url: `http://127.0.0.1:${port}/`, viewers: 1, durationMs: 2000 }).catch(() => undefined);
    if (figures && figures.frames > 0) break;
    await Bun.sleep(100);
  }
  return {
    name: "motion",
    pid: proc.pid,
    url: `http://127.0.0.1:${port}/`,
    async stop() {
      proc.kill("SIGTERM");
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function readRssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Math.round(Number(match[1]) / 1024) : 0;
}

/** Runs `viewers` viewers on a subject: warm-up, then the counted window with the subject's CPU read from /proc around it. */
async function measure(subject: Subject, viewers: number, silent = false, warmupS = STREAM_WARMUP_S): Promise<StreamRun> {
  const durationMs = (warmupS + STREAM_RUN_S) * 1000;
  let cpuAtWindow = 0;
  let windowAt = 0;
  let rss = 0;
  const mark = setTimeout(() => ((cpuAtWindow = readCpuMs(subject.pid)), (windowAt = performance.now())), warmupS * 1000);
  const sample = setTimeout(() => (rss = readRssMb(subject.pid)), durationMs - 500);
  const stalled = silent ? openSilentViewer(new URL(subject.url)) : undefined;
  const loadCpu = process.cpuUsage();
  const began = performance.now();
  const figures = await runViewerLoad({ url: subject.url, viewers, durationMs, warmupMs: warmupS * 1000 });
  const cpu = readCpuMs(subject.pid) - cpuAtWindow;
  const wall = performance.now() - windowAt;
  clearTimeout(mark);
  clearTimeout(sample);
  stalled?.kill("SIGKILL");
  const used = process.cpuUsage(loadCpu);
  const loadCpuPct = Math.round((used.user + used.system) / 10 / (performance.now() - began)) ;
  return { ...figures, cpu_pct: Math.round((cpu / wall) * 1000) / 10, rss_mb: rss, load_cpu_pct: loadCpuPct };
}

/** A viewer that sends its request and never reads (bash holding the socket). */
function openSilentViewer(url: URL): Bun.Subprocess {
  const request = `GET ${url.pathname}${url.search} HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n`;
  return Bun.spawn(["bash", "-c", `exec 3<>/dev/tcp/${url.hostname}/${url.port}; printf '${request}' >&3; exec sleep 600`], { stdout: "ignore" });
}

/** Rounds of the side-by-side runs; the subjects take turns within each round, first one then the other. */
export const STREAM_ROUNDS = 2;

/** Results: per subject, per run label (`100`, `500 low`, `100+stalled`), the runs of every round. */
export type StreamResults = { framefleet: Record<string, StreamRun[]>; motion: Record<string, StreamRun[]> | undefined };

/**
 * Both subjects up at once, each on its own ffmpeg source; per round and viewer count they
 * take turns (so drift of this shared machine hits both alike); then Framefleet alone at
 * 500 viewers (medium and low tier) and at 100 viewers beside one that reads nothing.
 * Motion is left out, with a note, when it is not installed.
 */
export async function runStreamer(): Promise<StreamResults> {
  const sources = [await startSource(), await startSource()];
  const framefleet = await startFramefleet(sources[0]!.url);
  const motion = await startMotion(sources[1]!.url);
  const results: StreamResults = { framefleet: {}, motion: motion ? {} : undefined };
  const add = (into: Record<string, StreamRun[]>, key: string, run: StreamRun) => (into[key] ??= []).push(run);
  try {
    for (let round = 0; round < STREAM_ROUNDS; round += 1)
      for (const viewers of VIEWER_COUNTS) {
        const order = round % 2 === 0 ? [framefleet, motion] : [motion, framefleet];
        for (const subject of order) {
          if (!subject) continue;
          add(subject === framefleet ? results.framefleet : results.motion!, String(viewers), await measure(subject, viewers));
        }
      }
    // 500 streams opened at once take a moment to settle (their first frames queue in the kernel): a longer warm-up.
    add(results.framefleet, `${EXTRA_VIEWERS}`, await measure(framefleet, EXTRA_VIEWERS, false, EXTRA_WARMUP_S));
    add(results.framefleet, `${EXTRA_VIEWERS} low`, await measure({ ...framefleet, url: framefleet.url.replace("medium", "low") }, EXTRA_VIEWERS, false, EXTRA_WARMUP_S));
    add(results.framefleet, "100+stalled", await measure(framefleet, 100, true));
    return results;
  } finally {
    await framefleet.stop();
    await motion?.stop();
    for (const source of sources) await source.stop();
  }
}


/** One line per subject and run label, each figure the median over its rounds (the mean of the two for two). */
export function formatStreamRuns(results: StreamResults): string {
  const header = "subject     viewers      fps/viewer  fps min  gap p99 ms  first frame p50/max ms  CPU % of a core  RSS MB  load CPU %  rounds";
  const line = (name: string, key: string, runs: StreamRun[]) => {
    const m = (pick: (run: StreamRun) => number) => median(runs.map(pick));
    return `${name.padEnd(10)}  ${key.padEnd(11)}  ${m((run) => run.fps_per_viewer).toFixed(1).padStart(10)}  ${m((run) => run.fps_min).toFixed(1).padStart(7)}  ${m((run) => run.gap_ms.p99).toFixed(1).padStart(10)}  ${`${m((run) => run.first_frame_ms.p50).toFixed(0)}/${m((run) => run.first_frame_ms.max).toFixed(0)}`.padStart(22)}  ${m((run) => run.cpu_pct).toFixed(1).padStart(15)}  ${String(m((run) => run.rss_mb)).padStart(6)}  ${String(m((run) => run.load_cpu_pct)).padStart(10)}  ${String(runs.length).padStart(6)}`;
  };
  const rows = [header];
  for (const [key, runs] of Object.entries(results.framefleet)) rows.push(line("framefleet", key, runs));
  if (results.motion) for (const [key, runs] of Object.entries(results.motion)) rows.push(line("motion", key, runs));
  else rows.push("motion      (not installed: apt-get install motion; skipped)");
  return rows.join("\n");
}

/** What the streamer rows measure, printed under them. */
export const STREAM_NOTE = `source: ffmpeg, fixture photos at ${SOURCE_SIZE.replace(":", "x")}, ${SOURCE_FPS} fps, -f mpjpeg -listen 1 (one per subject); framefleet --fps ${SOURCE_FPS} quality=medium (q50, full size; "low": q30, half size), motion stream_quality 50, framerate ${SOURCE_FPS}; ${STREAM_WARMUP_S}s warm-up (${EXTRA_WARMUP_S}s at ${EXTRA_VIEWERS} viewers) + ${STREAM_RUN_S}s counted; figures: median of ${STREAM_ROUNDS} rounds (subjects in turn); first frame from the TCP connection made; CPU of the subject's process over the counted window (/proc)`;

if (import.meta.main) {
  const results = await runStreamer();
  console.log(STREAM_NOTE);
  console.log(formatStreamRuns(results));
  writeFileSync(join(REPO, "bench", "results", "streamer.json"), `${JSON.stringify(results, null, 2)}\n`);
}
