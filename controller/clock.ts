// Clock offsets of agents against the controller's clock, NTP-style over the control API, and the warnings they call for.
import type { ControlClient } from "../agent/client";
import { FleetError } from "../agent/errors";
import { round2 } from "../agent/metrics";

/** Exchanges per agent; the one with the smallest round trip is kept (as NTP's clock filter keeps the least delay). */
export const CLOCK_SAMPLES = 8;

/**
 * One agent's clock against the controller's: `offset_ms` = agent minus controller, known to
 * within `error_ms`: half the round trip, plus `CLOCK_TICK_MS` for the whole-ms ticks of the clocks read.
 */
export interface ClockOffset {
  offset_ms: number;
  error_ms: number;
  /** The round trip of the sample kept, less the agent's time between receiving and answering (ms). */
  rtt_ms: number;
}

/** Resolution of `Date.now()`, the clock both ends read and the one latencies use (ms): it bounds the offset's error from below. */
export const CLOCK_TICK_MS = 1;

/**
 * Offset and round trip of one exchange from its four timestamps (ms): t1 the controller
 * sends, t2 the agent receives, t3 the agent answers, t4 the controller receives. RFC 5905
 * section 8: offset = ((t2 - t1) + (t3 - t4)) / 2, delay = (t4 - t1) - (t3 - t2); the true
 * offset lies within offset ± delay / 2 whatever the asymmetry of the path (± one tick more
 * for timestamps in whole ms).
 */
export function toClockOffset(t1: number, t2: number, t3: number, t4: number): ClockOffset {
  const delay = Math.max(t4 - t1 - (t3 - t2), 0);
  return { offset_ms: (t2 - t1 + (t3 - t4)) / 2, error_ms: delay / 2 + CLOCK_TICK_MS, rtt_ms: delay };
}

/**
 * Measures one agent's clock offset: `samples` exchanges over `GET /v1/clock`, one after the
 * other, keeping the one with the smallest round trip; figures rounded to 0.01 ms.
 * @throws FleetError from the client when the agent cannot be reached.
 */
export async function measureClockOffset(client: ControlClient, samples = CLOCK_SAMPLES): Promise<ClockOffset> {
  let best: ClockOffset | undefined;
  for (let sample = 0; sample < samples; sample += 1) {
    const t1 = Date.now();
    const reading = await client.readClock();
    const t4 = Date.now();
    const exchange = toClockOffset(t1, reading.received_at_ms, reading.sent_at_ms, t4);
    if (!best || exchange.rtt_ms < best.rtt_ms) best = exchange;
  }
  return { offset_ms: round2(best!.offset_ms), error_ms: round2(best!.error_ms), rtt_ms: round2(best!.rtt_ms) };
}

/**
 * The clock offsets of `agents` (names to clients), measured one agent after the other so
 * their exchanges do not queue behind each other. An agent older than `GET /v1/clock` (404)
 * is left out: its roles get no `clockOffsetMs` and its window falls back to the start-time estimate.
 * @throws FleetError from the client for any other failure (an unreachable agent).
 */
export async function measureClockOffsets(clients: Map<string, ControlClient>, agents: string[]): Promise<Record<string, ClockOffset>> {
  const offsets: Record<string, ClockOffset> = {};
  for (const agent of agents) {
    try {
      offsets[agent] = await measureClockOffset(clients.get(agent)!);
    } catch (error) {
      if (!(error instanceof FleetError && error.status === 404)) throw error;
    }
  }
  return offsets;
}

/**
 * Warnings for skews that would distort a cross-box latency: for each sender and receiver
 * agent on different clocks, when the skew between them (|receiver - sender| offset) is larger
 * than the receiver's latency p50 (ms, already corrected) that it would otherwise have shifted.
 */
export function warnOfSkew(offsets: Record<string, ClockOffset>, pairs: { sender: string; receiver: string; latencyP50Ms: number }[]): string[] {
  const warnings: string[] = [];
  for (const { sender, receiver, latencyP50Ms } of pairs) {
    const [from, to] = [offsets[sender], offsets[receiver]];
    if (!from || !to || sender === receiver) continue;
    const skew = from.offset_ms - to.offset_ms;
    if (Math.abs(skew) <= latencyP50Ms) continue;
    const error = round2(from.error_ms + to.error_ms);
    warnings.push(
      `the clock of ${sender} is ${round2(Math.abs(skew))} ± ${error} ms ${skew > 0 ? "ahead of" : "behind"} ${receiver}'s, more than the ${latencyP50Ms} ms latency (X-Sent-At to save) it distorts; latencies are corrected by the measured offsets, to within ± ${error} ms`,
    );
  }
  return warnings;
}
