// The original projects' published figures, as data, and the Student's t interval their own mean, std and n give.
import { tQuantile975 } from "./stats";

/**
 * Where every figure below comes from: the published record of the five original projects,
 * copied unchanged (docs/originals.md reproduces it beside our runs). They were measured on
 * the originals' hardware: for side-by-side display only, never targets.
 */
export const ORIGINALS_SOURCE = "the published results of the original projects (docs/originals.md), copied unchanged";

/** One published point of a recognition sweep: throughput in bit/s over 8 repeats, with the original's own 95% interval. */
export interface PublishedPoint {
  /** The swept value in our sweep key's unit: workers (count), fail (probability), delay (ms), loss (fraction). */
  value: number;
  /** As the original wrote it: `3`, `0.5`, `500 ms`, `5%`. */
  label: string;
  mean: number;
  std: number;
  ci95: [number, number];
}

/** One of the original recognition project's four sweeps and the scenario of ours that reproduces it. */
export interface PublishedSweep {
  title: string;
  /** Our scenario, and the sweep key whose values match `PublishedPoint.value`. */
  scenario: string;
  key: string;
  /** Repeats per point in the original. */
  n: number;
  points: PublishedPoint[];
}

const point = (value: number, label: string, mean: number, std: number, low: number, high: number): PublishedPoint => ({ value, label, mean, std, ci95: [low, high] });

/** The image recognition website (the original record, section 2): throughput in bit/s, 5 images per experiment, 8 repeats. */
export const RECOGNITION_SWEEPS: PublishedSweep[] = [
  {
    title: "workers",
    scenario: "recognition-workers",
    key: "recognition-worker.agents",
    n: 8,
    points: [point(3, "3", 16_289_294, 1_394_484, 16_273_283, 16_305_305), point(2, "2", 12_723_511, 1_764_969, 12_703_246, 12_743_775), point(1, "1", 8_561_598, 382_632, 8_557_205, 8_565_991)],
  },
  {
    title: "failure probability (one of 3 workers)",
    scenario: "recognition-failure",
    key: "recognition-worker.impair.fail",
    n: 8,
    points: [point(0.5, "0.5", 14_571_530, 1_893_294, 14_549_792, 14_593_268), point(0.3, "0.3", 15_071_851, 2_878_588, 15_038_801, 15_104_902), point(0.1, "0.1", 16_070_281, 1_271_471, 16_055_683, 16_084_880)],
  },
  {
    title: "delay (all 3 workers)",
    scenario: "recognition-delay",
    key: "recognition-worker.impair.delay",
    n: 8,
    points: [point(500, "500 ms", 6_174_357, 219_059, 6_171_842, 6_176_872), point(300, "300 ms", 7_384_499, 641_628, 7_377_132, 7_391_866), point(100, "100 ms", 11_692_071, 625_902, 11_684_885, 11_699_258)],
  },
  {
    title: "loss (all 3 workers)",
    scenario: "recognition-loss",
    key: "recognition-worker.impair.loss",
    n: 8,
    points: [point(0.05, "5%", 14_248_064, 1_289_191, 14_233_262, 14_262_866), point(0.1, "10%", 8_262_430, 957_758, 8_251_433, 8_273_426), point(0.15, "15%", 3_002_190, 171_766, 3_000_217, 3_004_162)],
  },
];

/** One row of the original distributed-grayscale table: times in seconds, efficiency as a fraction. */
export interface PublishedGrayscaleRow {
  clients: number;
  send_s: number;
  process_s: number;
  receive_s: number;
  speedup: number;
  efficiency: number;
}

/** Distributed grayscale (the original record, section 3): one large image per run cut into N stripes; reproduced by `grayscale-speedup`. */
export const GRAYSCALE_TABLE = {
  scenario: "grayscale-speedup",
  key: "grayscale-worker.agents",
  rows: [
    { clients: 1, send_s: 0.3329, process_s: 1.8943, receive_s: 3.1962, speedup: 1.0, efficiency: 1.0 },
    { clients: 4, send_s: 0.1456, process_s: 1.8282, receive_s: 3.3011, speedup: 1.03, efficiency: 0.257 },
    { clients: 8, send_s: 0.0429, process_s: 1.961, receive_s: 3.5336, speedup: 0.98, efficiency: 0.122 },
  ] satisfies PublishedGrayscaleRow[],
};

/** The Raspberry Pi streaming cases (the original record, section 1): the original published no figures, only its set-up. */
export const PI_CASES = ["case1-1to1", "case2-2to1", "case3-3to1", "case4-2x2", "case5-3x3"];

/** What differs between each original and our reproduction, one line per experiment, shown beside the figures. */
export const DIFFERENCES: Record<"pi" | "recognition" | "grayscale", string> = {
  pi: "The original published no throughput figures. Theirs: Raspberry Pi senders with a camera over 5 GHz Wi-Fi and Ethernet to separate worker PCs; ours: every agent a process on one machine (loopback) unless run on a fleet, frames from the repository's photos. Intervals: ours Student's t over the repeats.",
  recognition:
    "Hardware: theirs a browser, a manager and up to 3 worker machines; ours Pi-class workers emulated (cpu 0.25) on shared cores, or a fleet. CNN: theirs GoogleNet; ours the SSDLite MobileNetV2 COCO detector. Throughput: both total uploaded bytes / total time of a batch of 5 images (ours from the first request to the last answer). Loss and delay: both on the assignments and the answers. Interval: theirs far narrower than their std allows for 8 repeats; ours Student's t over our repeats, and the Student's t interval of their own mean, std and n is shown beside theirs.",
  grayscale:
    "Hardware: theirs a Flask front end, a master and N client machines over TCP; ours a manager and N worker processes (Pi-class cpu 0.25, or full speed) on one machine or a fleet. Times: theirs one image per run; ours the mean per stripe over every image of the measured window, with a 95% Student's t interval over the repeats. Speedup: theirs from times; ours images/s against one worker (one image in flight at a time, so the same ratio).",
};

/**
 * The two-sided 95% Student's t interval of a mean from its own sample mean, standard
 * deviation and size: mean ± t(0.975, n-1)·std/√n (NIST/SEMATECH e-Handbook of Statistical
 * Methods, §7.2.2.1). For the originals' recognition figures (n = 8, t = 2.365) it is about
 * 70 times wider than the interval they published.
 * @throws RangeError when n < 2 (no interval from one sample).
 */
export function toStudentInterval(mean: number, std: number, n: number): [number, number] {
  if (n < 2) throw new RangeError(`a Student's t interval needs n >= 2, got ${n}`);
  const halfWidth = (tQuantile975(n - 1) * std) / Math.sqrt(n);
  return [mean - halfWidth, mean + halfWidth];
}

/** How many times wider interval `a` is than interval `b` (ratio of their widths). */
export function toWidthRatio(a: [number, number], b: [number, number]): number {
  return (a[1] - a[0]) / (b[1] - b[0]);
}
