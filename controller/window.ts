// The figures of one run from its roles' final stats: throughput inside the measured window, totals, series.
import type { ControlClient } from "../agent/client";
import { round2 } from "../agent/metrics";
import { isRole, type JobTiming, type RoleInfo, type RoleInfoOf } from "../agent/wire";
import type { RunResult } from "./results";

/** A role started for a run: its agent's client, what the agent answered, and when (controller clock, ms). */
export interface Started {
  client: ControlClient;
  info: RoleInfo;
  startedAt: number;
  /** When the controller had it stopped (ms, its clock); unset while it runs. */
  stoppedAt?: number;
  /** A sender's target URLs as the controller resolved them (paired or spread). */
  targets?: string[];
  /** The agent's clock minus the controller's (ms), measured before the run (controller/clock.ts). */
  clockOffsetMs?: number;
}

type Bucket = [second: number, count: number, bytes: number];

/** The infos of role `name` among `infos`. */
function filterRole<Name extends RoleInfo["role"]>(infos: RoleInfo[], name: Name): RoleInfoOf<Name>[] {
  return infos.filter((info): info is RoleInfoOf<Name> => isRole(info, name));
}

function sum<Info>(infos: Info[], read: (info: Info) => number): number {
  return infos.reduce((total, info) => total + (Number(read(info)) || 0), 0);
}

/** Images a sink finished: a receiver's saved files, a manager's done jobs. */
function countCompleted(infos: RoleInfo[]): number {
  return sum(filterRole(infos, "receiver"), (info) => info.stats.saved) + sum(filterRole(infos, "manager"), (info) => info.stats.jobs_done);
}

/**
 * The job figures of the managers among the sinks (none without one): retransmitted tasks,
 * failed jobs, and the mean ms of each part of a job (decode, send, wait, process, receive,
 * the whole job), averaged over managers.
 */
function toJobFigures(infos: RoleInfo[]): Partial<RunResult> {
  const managers = filterRole(infos, "manager");
  if (managers.length === 0) return {};
  const timing = managers.map((info) => info.stats.timing_ms);
  const mean = (part: keyof JobTiming) => round2(timing.reduce((total, entry) => total + entry[part], 0) / timing.length);
  return {
    retried: sum(managers, (info) => info.stats.tasks_retried),
    jobs_failed: sum(managers, (info) => info.stats.jobs_failed),
    decode_ms: mean("decode"),
    send_ms: mean("send"),
    wait_ms: mean("wait"),
    process_ms: mean("process"),
    receive_ms: mean("receive"),
    job_ms: mean("job"),
  };
}

/** The worst `quantile` latency (ms) of `infos` (senders: request to answer; receivers: X-Sent-At to save, on one clock with `clockOffsetMs`). */
function maxLatency(infos: (RoleInfoOf<"sender"> | RoleInfoOf<"receiver">)[], quantile: "p50" | "p99"): number {
  return Math.max(0, ...infos.map((info) => info.stats.latency_ms?.[quantile] ?? 0));
}

/**
 * When the senders started, on a role's own clock (ms): the controller's time of the first
 * sender start, shifted by the agent's clock offset as measured before the run (NTP-style,
 * within half the best round trip); without one, estimated from the role's `started_at`
 * against when the controller saw it start (error up to one start call's round trip).
 * Remote boxes need not have synchronized clocks.
 */
function toOwnClock(role: Started, sendersStartedAt: number): number {
  const offset = role.clockOffsetMs ?? Date.parse(role.info.started_at) - role.startedAt;
  return sendersStartedAt + offset;
}

/**
 * Images and bytes a role counted inside [from, to) (ms, its clock), from its 1 s buckets.
 * A bucket cut by the window's start counts pro rata only when the start lies in steady
 * state (after a warm-up); when sending begins at the start, or ends at the window's end,
 * everything in the cut bucket happened inside the window, and spreading it over the whole
 * second would read low (seen as a 2-6% deficit on 3 s runs and ~50% on 1 s runs). When the
 * role is known to have gone on past the window (`activeUntil`, its clock: a sender's
 * in-flight requests draining), the bucket cut by the end counts pro rata over the part of
 * it the role was active (at 20 Mbit/s a drain of 0.4 s read 8-15% high on 5 s runs).
 */
function countInWindow(series: Bucket[], from: number, to: number, startsInSteadyState: boolean, activeUntil = to): { images: number; bytes: number } {
  let images = 0;
  let bytes = 0;
  for (const [second, count, byteCount] of series) {
    const begin = second * 1000;
    const overlap = Math.min(begin + 1000, to) - Math.max(begin, from);
    if (overlap <= 0) continue;
    const activeEnd = Math.min(begin + 1000, activeUntil);
    const share = begin < from && startsInSteadyState ? overlap / 1000 : activeEnd > to ? overlap / (activeEnd - Math.max(begin, from)) : 1;
    images += count * share;
    bytes += byteCount * share;
  }
  return { images, bytes };
}

/** The receivers' worst X-Sent-At-to-save latency p50 and p99 (ms), when there are receivers. */
function toSaveLatency(receivers: RoleInfoOf<"receiver">[]): Partial<RunResult> {
  if (receivers.length === 0) return {};
  return { save_latency_p50_ms: maxLatency(receivers, "p50"), save_latency_p99_ms: maxLatency(receivers, "p99") };
}

/**
 * Run figures: images/s and Mbit/s completed by all sinks (receivers' saved files,
 * managers' done jobs; both called receivers here) inside the measured window
 * (after `warmupMs`, for `durationMs`), and the Mbit/s the senders sent in it; sent, saved, lost and failed over the whole run,
 * `lost_pct` (lost of sent) and `skipped_pct` (frames the senders skipped, falling behind their --fps, of the frames due);
 * the worst sender p50/p99 and the worst receiver p50/p99 (`save_latency_*_ms`); the per-second series summed over receivers, `t` in seconds
 * since the senders started; the final stats of every role, each with its `agent` (and a
 * sender's resolved `targets`).
 */
export function measureWindow(senders: Started[], receivers: Started[], warmupMs: number, durationMs: number): Omit<RunResult, "repeat" | "status"> {
  const sendersStartedAt = Math.min(...senders.map((sender) => sender.startedAt));
  let images = 0;
  let bytes = 0;
  const perSecond = new Map<number, { images: number; bytes: number }>();
  for (const receiver of receivers) {
    const origin = toOwnClock(receiver, sendersStartedAt);
    const series = ("series" in receiver.info.stats ? receiver.info.stats.series : undefined) ?? [];
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
  const senderInfos = filterRole(senders.map((entry) => entry.info), "sender");
  const sentBytes = senders.reduce((total, sender) => {
    const origin = toOwnClock(sender, sendersStartedAt);
    const series = ("series" in sender.info.stats ? sender.info.stats.series : undefined) ?? [];
    const activeUntil = isRole(sender.info, "sender") ? Date.parse(sender.info.started_at) + sender.info.stats.elapsed_s * 1000 : undefined;
    return total + countInWindow(series, origin + warmupMs, origin + warmupMs + durationMs, warmupMs > 0, activeUntil).bytes;
  }, 0);
  const receiverInfos = receivers.map((entry) => entry.info);
  const sent = sum(senderInfos, (info) => info.stats.sent);
  const saved = countCompleted(receiverInfos);
  const frames = sum(senderInfos, (info) => info.stats.frames);
  const skipped = sum(senderInfos, (info) => info.stats.frames_skipped);
  const seconds = [...perSecond.keys()].sort((a, b) => a - b);
  const label = (entry: Started) => ({ agent: entry.client.name, ...(entry.targets ? { targets: entry.targets } : {}), ...entry.info.stats });
  return {
    images_per_s: round2((images * 1000) / durationMs),
    mbit_per_s: round2((bytes * 8) / 1000 / durationMs),
    sent_mbit_per_s: round2((sentBytes * 8) / 1000 / durationMs),
    sent,
    saved,
    lost: Math.max(sent - saved, 0),
    lost_pct: sent > 0 ? round2((Math.max(sent - saved, 0) * 100) / sent) : 0,
    skipped_pct: frames + skipped > 0 ? round2((skipped * 100) / (frames + skipped)) : 0,
    failed: sum(senderInfos, (info) => info.stats.failed),
    duration_s: durationMs / 1000,
    latency_ms: { p50: maxLatency(senderInfos, "p50"), p99: maxLatency(senderInfos, "p99") },
    ...toSaveLatency(filterRole(receiverInfos, "receiver")),
    ...toJobFigures(receiverInfos),
    series: {
      t: seconds,
      images_per_s: seconds.map((t) => perSecond.get(t)!.images),
      mbit_per_s: seconds.map((t) => round2((perSecond.get(t)!.bytes * 8) / 1e6)),
    },
    senders: senders.map(label),
    receivers: receivers.map(label),
  };
}

/**
 * Run figures of a batch (every sender has `images`: send N, then stop), as the recognition
 * original measured: images/s and Mbit/s over the batch's time, the senders' acknowledged
 * images and request-body bytes over the longest sender's time from its first request to
 * its last answer (their `elapsed_s`); counts, latencies and per-role stats as
 * `measureWindow`, `duration_s` the batch's time.
 */
export function measureBatch(senders: Started[], receivers: Started[]): Omit<RunResult, "repeat" | "status"> {
  const senderInfos = filterRole(senders.map((entry) => entry.info), "sender");
  const batchMs = Math.max(...senderInfos.map((info) => info.stats.elapsed_s * 1000));
  const images = sum(senderInfos, (info) => info.stats.ok);
  const bytes = sum(senderInfos, (info) => info.stats.bytes);
  const windowed = measureWindow(senders, receivers, 0, batchMs);
  const perSecond = (value: number) => (batchMs > 0 ? round2(value / (batchMs / 1000)) : 0);
  return { ...windowed, images_per_s: perSecond(images), mbit_per_s: perSecond((bytes * 8) / 1e6), sent_mbit_per_s: perSecond((bytes * 8) / 1e6), duration_s: round2(batchMs / 1000) };
}

