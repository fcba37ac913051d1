// The figures of one run from its roles' final stats: throughput inside the measured window, totals, series.
import type { ControlClient } from "../agent/client";
import { round2 } from "../agent/metrics";
import type { RoleInfo } from "../agent/wire";
import type { RunResult } from "./results";

/** A role started for a run: its agent's client, what the agent answered, and when (controller clock, ms). */
export interface Started {
  client: ControlClient;
  info: RoleInfo;
  startedAt: number;
}

type Bucket = [second: number, count: number, bytes: number];

function sum(infos: RoleInfo[], field: string): number {
  return infos.reduce((total, info) => total + (Number(info.stats[field]) || 0), 0);
}

function maxLatency(infos: RoleInfo[], quantile: "p50" | "p99"): number {
  return Math.max(0, ...infos.map((info) => (info.stats.latency_ms as { p50: number; p99: number } | undefined)?.[quantile] ?? 0));
}

/**
 * When the senders started, on a receiver's own clock (ms): the controller's time of the
 * first sender start, shifted by how far the receiver's clock is from the controller's
 * (its `started_at` against when the controller saw it start; error at most one request's
 * round trip). Remote boxes need not have synchronized clocks.
 */
function toReceiverClock(receiver: Started, sendersStartedAt: number): number {
  const offset = Date.parse(receiver.info.started_at) - receiver.startedAt;
  return sendersStartedAt + offset;
}

/**
 * Images and bytes a receiver saved inside [from, to) (ms, its clock), from its 1 s buckets.
 * A bucket cut by the window's start counts pro rata only when the start lies in steady
 * state (after a warm-up); when sending begins at the start, or ends at the window's end,
 * everything in the cut bucket happened inside the window, and spreading it over the whole
 * second would read low (seen as a 2-6% deficit on 3 s runs and ~50% on 1 s runs).
 */
function countInWindow(series: Bucket[], from: number, to: number, startsInSteadyState: boolean): { images: number; bytes: number } {
  let images = 0;
  let bytes = 0;
  for (const [second, count, byteCount] of series) {
    const begin = second * 1000;
    const overlap = Math.min(begin + 1000, to) - Math.max(begin, from);
    if (overlap <= 0) continue;
    const share = begin < from && startsInSteadyState ? overlap / 1000 : 1;
    images += count * share;
    bytes += byteCount * share;
  }
  return { images, bytes };
}

/**
 * Run figures: images/s and Mbit/s saved by all receivers inside the measured window
 * (after `warmupMs`, for `durationMs`); sent, saved, lost and failed over the whole run;
 * the worst sender p50/p99; the per-second series summed over receivers, `t` in seconds
 * since the senders started; the final stats of every role, each with its `agent`.
 */
export function measureWindow(senders: Started[], receivers: Started[], warmupMs: number, durationMs: number): Omit<RunResult, "repeat" | "status"> {
  const sendersStartedAt = Math.min(...senders.map((sender) => sender.startedAt));
  let images = 0;
  let bytes = 0;
  const perSecond = new Map<number, { images: number; bytes: number }>();
  for (const receiver of receivers) {
    const origin = toReceiverClock(receiver, sendersStartedAt);
    const series = (receiver.info.stats.series as Bucket[] | undefined) ?? [];
    const counted = countInWindow(series, origin + warmupMs, origin + warmupMs + durationMs, warmupMs > 0);
    images += counted.images;
    bytes += counted.bytes;
    for (const [second, count, byteCount] of series) {
      const t = Math.floor((second * 1000 - origin) / 1000);
      const slot = perSecond.get(t) ?? { images: 0, bytes: 0 };
      slot.images += count;
      slot.bytes += byteCount;
      perSecond.set(t, slot);
    }
  }
  const senderInfos = senders.map((entry) => entry.info);
  const receiverInfos = receivers.map((entry) => entry.info);
  const sent = sum(senderInfos, "sent");
  const saved = sum(receiverInfos, "saved");
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  const label = (entry: Started) => ({ agent: entry.client.name, ...entry.info.stats });
  return {
    images_per_s: round2((images * 1000) / durationMs),
    mbit_per_s: round2((bytes * 8) / 1000 / durationMs),
    sent,
    saved,
    lost: Math.max(sent - saved, 0),
    failed: sum(senderInfos, "failed"),
    duration_s: durationMs / 1000,
    latency_ms: { p50: maxLatency(senderInfos, "p50"), p99: maxLatency(senderInfos, "p99") },
    series: {
      t: seconds,
      images_per_s: seconds.map((t) => perSecond.get(t)!.images),
      mbit_per_s: seconds.map((t) => round2((perSecond.get(t)!.bytes * 8) / 1e6)),
    },
    senders: senders.map(label),
    receivers: receivers.map(label),
  };
}
