// Motion score from a cheap frame difference: the share of a small grey copy's pixels that changed.

/** A pixel counts as changed when its grey level moves by more than this (of 255): above JPEG and sensor noise. */
const CHANGE_THRESHOLD = 12;
/** Weight of the newest frame in the smoothed score (an exponential moving average). */
const SMOOTHING = 0.3;

/** Smoothed score above which the scene counts as moving (tier high) and below which as still (tier low). */
export const MOVING_SCORE = 0.04;
export const STILL_SCORE = 0.01;

/**
 * Tracks how much a scene moves. `update()` takes each new grey copy (same size every time)
 * and returns the smoothed share of pixels that changed since the previous copy, 0..1.
 * Memory: one grey copy.
 */
export class MotionMeter {
  private previous: Uint8Array | undefined;
  private smoothed = 0;
  private compared = 0;
  private change = 0;

  /** Compares `grey` with the previous copy; returns the smoothed score 0..1. */
  update(grey: Uint8Array): number {
    const previous = this.previous;
    this.previous = grey;
    if (!previous || previous.length !== grey.length) return this.smoothed;
    this.compared += 1;
    let changed = 0;
    for (let i = 0; i < grey.length; i += 1) if (Math.abs(grey[i]! - previous[i]!) > CHANGE_THRESHOLD) changed += 1;
    this.change = changed / grey.length;
    this.smoothed = SMOOTHING * this.change + (1 - SMOOTHING) * this.smoothed;
    return this.smoothed;
  }

  /** The smoothed score 0..1 (0 before two frames were compared). */
  get score(): number {
    return this.smoothed;
  }

  /** The unsmoothed share of pixels that changed between the last two copies, 0..1 (0 before two were compared). */
  get lastChange(): number {
    return this.change;
  }

  /** Whether the score stands on at least 3 compared frames since the last reset (else it is not known yet). */
  get known(): boolean {
    return this.compared >= 3;
  }

  /** Forgets the scene (nobody watched for a while): the next copy starts a new comparison. */
  reset(): void {
    this.previous = undefined;
    this.smoothed = 0;
    this.compared = 0;
    this.change = 0;
  }
}
