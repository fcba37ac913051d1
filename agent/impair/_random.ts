// Seeded pseudo-random draws for impairment: sfc32, one independent stream per purpose, so runs repeat.

/** A source of uniform draws in [0, 1). */
export type Random = () => number;

/** Rounds of output thrown away after seeding, as PractRand's sfc32 seeding does (12). */
const WARM_UP_ROUNDS = 12;
const TWO_TO_32 = 4294967296;

/**
 * sfc32, Chris Doty-Humphrey's "Small Fast Counting" generator from PractRand (32-bit
 * variant; passes PractRand and TestU01 BigCrush), as ported to JavaScript in
 * bryc/code `jshash/PRNGs.md`. State: four 32-bit words, `d` a counter.
 */
function sfc32(a: number, b: number, c: number, d: number): Random {
  return () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / TWO_TO_32;
  };
}

/**
 * The draws of one purpose (`stream`: 1 delay, 2 loss, 3 fail, ...) from a run's `seed`.
 * Seeded as PractRand seeds sfc32 from a 64-bit value (b = low word, c = high word,
 * counter 1, 12 rounds discarded) with `a` = the stream number instead of 0: each purpose
 * draws from its own sequence, so the order in which purposes draw cannot change another's.
 */
export function createRandom(seed: number, stream: number): Random {
  const random = sfc32(stream, seed >>> 0, Math.floor(seed / TWO_TO_32) >>> 0, 1);
  for (let round = 0; round < WARM_UP_ROUNDS; round += 1) random();
  return random;
}

/** A fresh random 32-bit seed for a run that gave none (reported so it can be repeated). */
export function pickSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}
