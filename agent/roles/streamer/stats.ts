// The streamer's figures (/stats and the role's final figures), read from its hub.
import type { StreamHub } from "./hub";
import { CONTINUOUS, TIERS, type Channel, type Tier } from "./tiers";
import type { Viewer } from "./viewer";

/** Figures of one tier: viewers now; encodes and bytes (its JPEGs) as running totals. */
export interface TierStats {
  viewers: number;
  encodes: number;
  bytes: number;
  /** Encodes per second over the last 5 complete seconds. */
  encodes_per_s: number;
  /** Bytes of the last JPEG encoded, or the estimate the auto policy uses before one was. */
  bytes_per_frame: number;
  quality: number;
  scale: number;
}

/** Figures of a continuous channel (auto, gaming): viewers now, encodes and bytes as running totals, and its quality now. */
export interface ChannelStats {
  viewers: number;
  encodes: number;
  bytes: number;
  encodes_per_s: number;
  quality: number;
}

/** Figures of one viewer: its channel and that channel's JPEG quality now, frames handed to its socket, frames it skipped (newer ones came while its socket was full), bytes. */
export interface ViewerStats {
  id: number;
  tier: Channel;
  quality: number;
  mode: string;
  client: string;
  delivered: number;
  skipped: number;
  bytes: number;
}

/** What the streamer reports (`GET /stats`, the role's figures). */
export type StreamerStats = {
  role: "streamer";
  port: number;
  /** The source: up or down (with its error), frames per second over 2 s, frames taken, frames a live source dropped (newer came first), reopenings. */
  source: { spec: string; up: boolean; fps: number; frames: number; dropped: number; restarts: number; error?: string; kind: string };
  tiers: Record<Tier, TierStats>;
  /** The original's continuous-quality channels: `auto` (100 / viewers, clamped at 10) and `gaming` (follows motion). */
  continuous: Record<(typeof CONTINUOUS)[number], ChannelStats>;
  viewers: ViewerStats[];
  /** Viewers connected now, and all that ever connected. */
  viewer_count: number;
  viewers_total: number;
  /** Viewers closed because their socket took nothing for 30 s (a connection that died silently). */
  viewers_timed_out: number;
  /** Totals over every viewer, past and present. */
  delivered: number;
  skipped: number;
  bytes: number;
  /** Parts written again at a tick where the source's frame was late (part of `delivered`). */
  repeated: number;
  /** Smoothed share of pixels that changed between frames, 0..1. */
  motion: number;
  reactions: number;
  /** The auto viewers' uplink budget (bit/s), or null for the 100 / viewers rule. */
  uplink_bit_s: number | null;
  /** CPU time of the whole process (user + system, s), and seconds since the role started: CPU share = delta cpu_s / delta uptime_s. */
  cpu_s: number;
  uptime_s: number;
  /** Resident memory of the process (bytes). */
  rss: number;
};

/** What `GET /stats?client=NAME` answers: the figures the viewer page shows, a few hundred bytes however many viewers there are. */
export type StreamerClientStats = {
  viewer_count: number;
  reactions: number;
  motion: number;
  source: { up: boolean; fps: number };
  /** The viewer that chose this `?client=` name (the newest if several), or null when none is connected. */
  viewer: ViewerStats | null;
};

function toViewerStats(viewer: Viewer, hub: StreamHub): ViewerStats {
  return { id: viewer.id, tier: viewer.tier, quality: hub.settingsOf(viewer.tier).quality, mode: viewer.mode, client: viewer.client, delivered: viewer.delivered, skipped: viewer.skipped, bytes: viewer.bytes };
}

function readChannelStats(hub: StreamHub, channel: Channel, viewers: Viewer[]): ChannelStats {
  const counts = hub.encoder.counts[channel];
  return {
    viewers: viewers.filter((viewer) => viewer.tier === channel).length,
    encodes: counts.encodes,
    bytes: counts.bytes,
    encodes_per_s: counts.series.rate(5),
    quality: hub.settingsOf(channel).quality,
  };
}

/** Reads the figures one viewer's page shows: its own entry (found by its `client` name) and the shared counts. */
export function readClientStats(hub: StreamHub, client: string, reactions: number): StreamerClientStats {
  const mine = [...hub.viewers].filter((viewer) => viewer.client === client).at(-1);
  return {
    viewer_count: hub.viewers.size,
    reactions,
    motion: Math.round(hub.motion.score * 10000) / 10000,
    source: { up: hub.feed.up, fps: hub.feed.series.rate(2) },
    viewer: mine ? toViewerStats(mine, hub) : null,
  };
}

/** Reads the figures of `hub`; `now` is ms since the epoch (the stop time for final figures). */
export function readStreamerStats(
  hub: StreamHub,
  info: { port: number; startedAt: number; reactions: number; uplinkBps: number | undefined; spec: string; now: number },
): StreamerStats {
  const viewers = [...hub.viewers];
  const estimate = hub.bytesPerFrame();
  const settings = hub.tierSettings;
  const tiers = Object.fromEntries(
    TIERS.map((tier) => {
      const counts = hub.encoder.counts[tier];
      const stats: TierStats = {
        viewers: viewers.filter((viewer) => viewer.tier === tier).length,
        encodes: counts.encodes,
        bytes: counts.bytes,
        encodes_per_s: counts.series.rate(5),
        bytes_per_frame: Math.round(estimate[tier]),
        ...settings[tier],
      };
      return [tier, stats];
    }),
  ) as Record<Tier, TierStats>;
  const cpu = process.cpuUsage();
  const source = hub.sourceStats();
  return {
    role: "streamer",
    port: info.port,
    source: {
      spec: info.spec,
      kind: source?.kind ?? "none",
      up: hub.feed.up,
      fps: hub.feed.series.rate(2),
      frames: hub.feed.taken,
      dropped: source?.dropped ?? 0,
      restarts: hub.feed.restarts,
      ...(hub.feed.up ? {} : { error: hub.feed.error }),
    },
    tiers,
    continuous: Object.fromEntries(CONTINUOUS.map((channel) => [channel, readChannelStats(hub, channel, viewers)])) as StreamerStats["continuous"],
    viewers: viewers.map((viewer) => toViewerStats(viewer, hub)),
    viewer_count: viewers.length,
    viewers_total: hub.retired.viewers + viewers.length,
    viewers_timed_out: hub.retired.timedOut,
    delivered: hub.retired.delivered + viewers.reduce((sum, viewer) => sum + viewer.delivered, 0),
    skipped: hub.retired.skipped + viewers.reduce((sum, viewer) => sum + viewer.skipped, 0),
    bytes: hub.retired.bytes + viewers.reduce((sum, viewer) => sum + viewer.bytes, 0),
    repeated: hub.repeated,
    motion: Math.round(hub.motion.score * 10000) / 10000,
    reactions: info.reactions,
    uplink_bit_s: info.uplinkBps ?? null,
    cpu_s: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    uptime_s: (info.now - info.startedAt) / 1000,
    rss: process.memoryUsage.rss(),
  };
}
