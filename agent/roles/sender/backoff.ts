// Exponential backoff with full jitter, one per target, for a receiver that cannot be reached.

/** First ceiling of the wait (ms); it doubles with each failure in a row. */
const BASE_MS = 100;
/** The ceiling stops growing here (ms). */
const CAP_MS = 5000;

/**
 * Waits after failed attempts: uniform in [0, min(CAP, BASE x 2^failures)] ("full jitter",
 * AWS Architecture Blog, "Exponential Backoff And Jitter"), so many connections to a target
 * that is down spread their attempts instead of retrying in step or in a busy loop.
 */
export class Backoff {
  private failures = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** Counts one more failure and answers how long to wait (ms) before the next attempt. */
  nextDelay(): number {
    const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** this.failures);
    this.failures = Math.min(this.failures + 1, 16);
    return this.random() * ceiling;
  }

  /** The target answered: the next failure starts again from BASE. */
  reset(): void {
    this.failures = 0;
  }
}
