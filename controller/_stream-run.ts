// One run of a streamer scenario: streamers first, then viewer loads on their streams; fps per viewer, p99 gap, encodes/s and CPU in the window.
import type { ControlClient } from "../agent/client";
import { round2 } from "../agent/metrics";
import { checkRole, type StreamerStats } from "../agent/wire";
import type { RunResult } from "./results";
import type { Scenario } from "./scenarios";
import { startAll, waitForEnded } from "./_started";
import type { SweepPoint } from "./sweep";
import type { Started } from "./window";

/** Figures of a streamer run beyond those every run has (RunResult). */
export interface StreamFigures {
  viewers: number;
  /** Mean and lowest frames per second of one viewer in the window. */
  fps_per_viewer: number;
  fps_min: number;
  gap_p99_ms: number;
  first_frame_p99_ms: number;
  /** Encodes per second over all tiers and continuous channels, and CPU (% of one core) and memory of the streamer's process, in the window. */
  encodes_per_s: number;
  cpu_pct: number;
  rss_mb: number;
}

const num = (value: number | undefined): number => Number(value) || 0;
/** Encodes of every tier and of the continuous channels (auto, gaming). */
const totalEncodes = (stats: StreamerStats): number =>
  [...Object.values(stats.tiers ?? {}), ...Object.values(stats.continuous ?? {})].reduce((sum, channel) => sum + channel.encodes, 0);

/** Whether a scenario point is a streamer experiment (it runs a `streamer` role). */
export function isStreamPoint(point: SweepPoint): boolean {
  return point.roles.some((plan) => plan.role === "streamer");
}

/**
 * Runs one repeat of a streamer point: each streamer on a free port, then every `viewers`
 * role pointed at the streamers in turn for warm-up + duration. The streamers' encode
 * counts and CPU time are read when the warm-up ends and when the loads end; viewer
 * figures come from the loads (which leave the warm-up out themselves). Stops all in
 * reverse order, also on failure. Load stats go under `senders`, streamer stats under
 * `receivers` (the serving side), so reports and results need no new shape.
 */
export async function runStreamOnce(scenario: Scenario, point: SweepPoint, repeat: number, clients: Map<string, ControlClient>): Promise<RunResult & StreamFigures> {
  const started: Started[] = [];
  const runMs = scenario.warmupMs + scenario.durationMs;
  try {
    const streamers: Started[] = [];
    for (const plan of point.roles.filter((entry) => entry.role === "streamer"))
      streamers.push(...(await startAll(clients, plan, () => ({ ...plan.options, port: 0 }), started)));
    const urls = streamers.map((entry) => `http://${new URL(entry.client.baseUrl).hostname}:${checkRole(entry.info, "streamer").stats.port}/stream`);
    const loads: Started[] = [];
    let turn = 0;
    for (const plan of point.roles.filter((entry) => entry.role === "viewers"))
      for (const agent of plan.agents)
        loads.push(...(await startAll(clients, { ...plan, agents: [agent] }, () => ({ ...plan.options, target: urls[turn++ % urls.length], duration: `${runMs}ms`, warmup: `${scenario.warmupMs}ms` }), started)));
    // parseScenarios refuses a streamer scenario without viewers; without loads there is no warm-up to wait for.
    if (loads.length > 0) await Bun.sleep(Math.max(0, scenario.warmupMs - (Date.now() - Math.min(...loads.map((entry) => entry.startedAt)))));
    const readStreamers = async () => (await Promise.all(streamers.map((entry) => entry.client.getRole(entry.info.id)))).map((info) => checkRole(info, "streamer").stats);
    const before = await readStreamers();
    await waitForEnded(loads, runMs);
    const after = await readStreamers();
    for (const entry of [...started].reverse()) entry.info = await entry.client.stopRole(entry.info.id);
    started.length = 0;

    const loadStats = loads.map((entry) => checkRole(entry.info, "viewers").stats);
    const viewers = loadStats.reduce((sum, stats) => sum + num(stats.viewers), 0);
    const frames = loadStats.reduce((sum, stats) => sum + num(stats.frames), 0);
    const bytes = loadStats.reduce((sum, stats) => sum + num(stats.bytes), 0);
    const worst = (key: "gap_ms" | "first_frame_ms", quantile: "p50" | "p99") => Math.max(0, ...loadStats.map((stats) => stats[key]?.[quantile] ?? 0));
    const perStreamer = after.map((stats, index) => {
      const was = before[index]!;
      const seconds = Math.max(0.001, num(stats.uptime_s) - num(was.uptime_s));
      return {
        encodes: (totalEncodes(stats) - totalEncodes(was)) / seconds,
        cpu: ((num(stats.cpu_s) - num(was.cpu_s)) / seconds) * 100,
        rss: num(stats.rss) / 2 ** 20,
        sourceFrames: num(stats.source?.frames) - num(was.source?.frames),
      };
    });
    const label = (entry: Started) => ({ agent: entry.client.name, ...entry.info.stats });
    return {
      repeat,
      status: "ok",
      images_per_s: round2(frames / (scenario.durationMs / 1000)),
      mbit_per_s: round2((bytes * 8) / 1e6 / (runMs / 1000)),
      sent: perStreamer.reduce((sum, entry) => sum + entry.sourceFrames, 0),
      saved: frames,
      lost: 0,
      failed: loadStats.reduce((sum, stats) => sum + num(stats.failed), 0),
      duration_s: scenario.durationMs / 1000,
      latency_ms: { p50: worst("gap_ms", "p50"), p99: worst("gap_ms", "p99") },
      viewers,
      fps_per_viewer: round2(frames / (scenario.durationMs / 1000) / Math.max(1, viewers)),
      fps_min: loadStats.length > 0 ? Math.min(...loadStats.map((stats) => num(stats.fps_min))) : 0,
      gap_p99_ms: worst("gap_ms", "p99"),
      first_frame_p99_ms: worst("first_frame_ms", "p99"),
      encodes_per_s: round2(perStreamer.reduce((sum, entry) => sum + entry.encodes, 0)),
      cpu_pct: round2(perStreamer.reduce((sum, entry) => sum + entry.cpu, 0)),
      rss_mb: round2(Math.max(0, ...perStreamer.map((entry) => entry.rss))),
      senders: loads.map(label),
      receivers: streamers.map(label),
    };
  } finally {
    await Promise.allSettled([...started].reverse().map((entry) => entry.client.stopRole(entry.info.id)));
  }
}
