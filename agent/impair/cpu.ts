// The `cpu` of an impairment: idling after work so that a fast machine behaves like a slower one.

/** CPU time this process has used so far, user + system, in µs (process-wide: every thread, every role in it). */
function readCpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Emulates a CPU `cpu` times as fast (0 < cpu <= 1): each unit of work is followed by
 * idling `used x (1/cpu - 1)`, so work plus idle takes `used / cpu`. Idles are laid end
 * to end on one timeline shared by every caller, as the work of a slower CPU would be:
 * concurrent units queue behind each other's idle instead of idling side by side, so the
 * throughput of CPU-bound work drops by the factor and not only its latency.
 * CPU time is read process-wide, and a unit charges all of it since the last charge: the
 * work a unit started that goes on after it (a sender's POSTs completing while the next
 * frame is prepared or while the board idles) is charged to the next unit instead of
 * escaping the emulation, and overlapping units never charge the same CPU time twice.
 */
export class CpuThrottle {
  private readonly idlePerMs: number;
  private chargedUpTo = readCpuMicros();
  private idleUntil = 0;
  /** Total idle imposed so far (ms). */
  idledMs = 0;

  constructor(cpu: number) {
    this.idlePerMs = 1 / cpu - 1;
  }

  /** Idles `usedMs x (1/cpu - 1)` after the idles already due. */
  async afterWork(usedMs: number): Promise<void> {
    const idle = Math.max(usedMs, 0) * this.idlePerMs;
    const now = performance.now();
    this.idleUntil = Math.max(this.idleUntil, now) + idle;
    this.idledMs += idle;
    const wait = this.idleUntil - now;
    if (wait > 0) await Bun.sleep(wait);
  }

  /** Runs `work`, then idles for the process CPU time used since the last charge (also when it throws). */
  async runUnit<T>(work: () => T | Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      const now = readCpuMicros();
      const usedMs = (now - this.chargedUpTo) / 1000;
      this.chargedUpTo = Math.max(this.chargedUpTo, now);
      await this.afterWork(usedMs);
    }
  }
}
