// The streamer's figures (/stats and the role's final figures), read from its hub.
import type { ChannelStats, StreamerClientStats, StreamerStats, TierStats, ViewerStats } from "../../wire";
import type { StreamHub } from "./hub";
import { CONTINUOUS, TIERS, type Channel, type Tier } from "./tiers";
import type { Viewer } from "./viewer";

/** Kept for the role's index.ts; the type lives in agent/wire.ts. */
export type { StreamerStats } from "../../wire";

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
