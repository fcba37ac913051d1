// The workers a broker manager knows of: their last heartbeat on the broker, forgotten after 3 s of silence.
import type { WorkerBeat } from "../../../broker";
import type { WorkerSnapshot } from "./_workers";

/** A worker silent this long (ms) is no longer counted. */
const BEAT_SILENCE_MS = 3000;

/** Workers by id, as their heartbeats tell them. */
export class BeatTable {
  private readonly beats = new Map<string, WorkerBeat & { heardAt: number }>();

  /** Records a heartbeat; true when it is the first of that worker. Malformed beats are ignored (false). */
  take(beat: WorkerBeat): boolean {
    if (typeof beat?.workerId !== "string" || !Array.isArray(beat.ops) || typeof beat.credit !== "number") return false;
    const known = this.beats.has(beat.workerId);
    this.beats.set(beat.workerId, { ...beat, heardAt: performance.now() });
    return !known;
  }

  /** The workers heard within the last 3 s, as `/workers` shows them. */
  snapshots(): WorkerSnapshot[] {
    const now = performance.now();
    return this.live().map(({ heardAt, ...beat }) => ({ ...beat, remote: "broker", failed: 0, silentMs: Math.round(now - heardAt) }));
  }

  /** Live workers offering `op`. */
  countFor(op: string): number {
    return this.live().filter((beat) => beat.ops.includes(op)).length;
  }

  /** The credit of the live workers offering `op`, together. */
  creditFor(op: string): number {
    return this.live().filter((beat) => beat.ops.includes(op)).reduce((sum, beat) => sum + beat.credit, 0);
  }

  private live(): (WorkerBeat & { heardAt: number })[] {
    const now = performance.now();
    return [...this.beats.values()].filter((beat) => now - beat.heardAt < BEAT_SILENCE_MS);
  }
}
