// The original's Gaming mode: a JPEG quality that loses a point every frame and gains points while the frame difference shows motion.
import { MOVING_SCORE } from "./motion";

/** Quality the gaming channel starts at (and returns to when nobody watches). */
export const GAMING_START_QUALITY = 50;
/** Lowest and highest gaming quality: the same floor as auto (below it the picture is unreadable), and JPEG's top. */
export const GAMING_MIN_QUALITY = 10;
export const GAMING_MAX_QUALITY = 100;
/** Points lost every frame. */
export const GAMING_DECAY = 1;
/** Points gained on a frame whose difference to the previous one shows motion (net +4 per moving frame). */
export const GAMING_GAIN = 5;

/**
 * The gaming channel's quality. `step(change)` is called once per source frame with the
 * share of pixels that changed since the previous frame (MotionMeter.lastChange): quality
 * drops by GAMING_DECAY, and rises by GAMING_GAIN when the change is at least MOVING_SCORE,
 * so moving makes the picture better and being still makes it worse, clamped to 10..100.
 */
export class GamingQuality {
  private value = GAMING_START_QUALITY;

  /** The current JPEG quality (an integer 10..100). */
  get quality(): number {
    return this.value;
  }

  /** Applies one frame's rule; answers the new quality. */
  step(change: number): number {
    const gain = change >= MOVING_SCORE ? GAMING_GAIN : 0;
    this.value = Math.min(GAMING_MAX_QUALITY, Math.max(GAMING_MIN_QUALITY, this.value - GAMING_DECAY + gain));
    return this.value;
  }

  /** Starts again from GAMING_START_QUALITY (nobody watched for a while). */
  reset(): void {
    this.value = GAMING_START_QUALITY;
  }
}
