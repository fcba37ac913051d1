// Turns the raw outputs of an SSD detector (per-anchor class scores and boxes) into objects and a top-5 of labels.

/** One detected object: `score` 0..1, `box` `[x, y, width, height]` in pixels of the original image. */
export interface DetectedObject {
  label: string;
  score: number;
  box: [number, number, number, number];
}

/** A label with its best score anywhere in the image. */
export interface LabelScore {
  label: string;
  score: number;
}

/** What `classify` answers for one image (docs/api.md, `GET /jobs/:id/result`). */
export interface Detection {
  objects: DetectedObject[];
  top5: LabelScore[];
}

/** Limits of one detection: objects scoring under `minScore` (0..1) are dropped, at most `maxObjects` kept. */
export interface DetectLimits {
  minScore: number;
  maxObjects: number;
}

/** The defaults of `@tensorflow-models/coco-ssd`'s `detect()`: score 0.5, 20 boxes. */
export const DEFAULT_LIMITS: DetectLimits = { minScore: 0.5, maxObjects: 20 };

/** Boxes overlapping a better one by more than this intersection over union are the same object (coco-ssd uses 0.5). */
const IOU_THRESHOLD = 0.5;

/** The raw outputs of one image: `scores[anchor * classes + c]`, `boxes[anchor * 4 + k]` as `[top, left, bottom, right]` in 0..1. */
export interface RawOutputs {
  scores: Float32Array;
  boxes: Float32Array;
  anchors: number;
  classes: number;
}

/**
 * Objects and top-5 of one image of `width` x `height` pixels: each anchor takes its best
 * labelled class; anchors at or over `minScore` go through greedy non-maximum suppression
 * (class-agnostic, as in coco-ssd); top-5 holds distinct labels by their best score over all
 * anchors. `labels[c]` names score column c; null columns (ids COCO leaves unused) are ignored.
 */
export function toDetection(raw: RawOutputs, labels: readonly (string | null)[], width: number, height: number, limits: DetectLimits): Detection {
  const { scores, boxes, anchors, classes } = raw;
  const bestScore = new Float32Array(anchors);
  const bestClass = new Int32Array(anchors).fill(-1);
  const perClass = new Float32Array(classes);
  for (let a = 0; a < anchors; a++) {
    for (let c = 0; c < classes; c++) {
      if (labels[c] == null) continue;
      const score = scores[a * classes + c]!;
      if (score > bestScore[a]!) (bestScore[a] = score), (bestClass[a] = c);
      if (score > perClass[c]!) perClass[c] = score;
    }
  }
  const candidates = [...bestScore.keys()].filter((a) => bestClass[a]! >= 0 && bestScore[a]! >= limits.minScore).sort((a, b) => bestScore[b]! - bestScore[a]!);
  const kept = suppress(candidates, boxes, limits.maxObjects);
  const objects = kept.map((a) => ({ label: labels[bestClass[a]!]!, score: roundScore(bestScore[a]!), box: toPixelBox(boxes, a, width, height) }));
  const top5 = [...perClass.keys()]
    .filter((c) => labels[c] != null)
    .sort((a, b) => perClass[b]! - perClass[a]!)
    .slice(0, 5)
    .map((c) => ({ label: labels[c]!, score: roundScore(perClass[c]!) }));
  return { objects, top5 };
}

/** Greedy NMS: walks anchors best first, keeping each that overlaps no kept one past IOU_THRESHOLD. */
function suppress(sorted: number[], boxes: Float32Array, max: number): number[] {
  const kept: number[] = [];
  for (const anchor of sorted) {
    if (kept.length >= max) break;
    if (kept.every((other) => overlap(boxes, anchor, other) <= IOU_THRESHOLD)) kept.push(anchor);
  }
  return kept;
}

/** Intersection over union of two anchors' boxes. */
function overlap(boxes: Float32Array, a: number, b: number): number {
  const [top1, left1, bottom1, right1] = readBox(boxes, a);
  const [top2, left2, bottom2, right2] = readBox(boxes, b);
  const inter = Math.max(0, Math.min(bottom1, bottom2) - Math.max(top1, top2)) * Math.max(0, Math.min(right1, right2) - Math.max(left1, left2));
  const union = (bottom1 - top1) * (right1 - left1) + (bottom2 - top2) * (right2 - left2) - inter;
  return union > 0 ? inter / union : 0;
}

/** An anchor's box, corners ordered and clamped to the image: `[top, left, bottom, right]` in 0..1. */
function readBox(boxes: Float32Array, anchor: number): [number, number, number, number] {
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const [y1, x1, y2, x2] = [0, 1, 2, 3].map((k) => clamp(boxes[anchor * 4 + k]!)) as [number, number, number, number];
  return [Math.min(y1, y2), Math.min(x1, x2), Math.max(y1, y2), Math.max(x1, x2)];
}

/** `[x, y, width, height]` in pixels, to 0.1 px. */
function toPixelBox(boxes: Float32Array, anchor: number, width: number, height: number): [number, number, number, number] {
  const [top, left, bottom, right] = readBox(boxes, anchor);
  const tenth = (v: number) => Math.round(v * 10) / 10;
  return [tenth(left * width), tenth(top * height), tenth((right - left) * width), tenth((bottom - top) * height)];
}

/** Scores to 4 decimals: more than the model's precision warrants, enough to compare runs. */
function roundScore(score: number): number {
  return Math.round(score * 1e4) / 1e4;
}
