// Post-processing of raw SSD outputs: best class per anchor, non-maximum suppression, pixel boxes, top-5 of distinct labels.
import { describe, expect, test } from "bun:test";
import { toDetection } from "../../agent/recognition/postprocess";

const LABELS = ["person", null, "cat", "cup"];

/** Raw outputs of anchors given as [scores per column, box as top, left, bottom, right]. */
function makeRaw(anchors: [number[], number[]][]) {
  return {
    scores: Float32Array.from(anchors.flatMap(([scores]) => scores)),
    boxes: Float32Array.from(anchors.flatMap(([, box]) => box)),
    anchors: anchors.length,
    classes: LABELS.length,
  };
}

describe("toDetection", () => {
  test("overlapping boxes collapse to the best; a distinct one stays; boxes in pixels of the original", () => {
    const raw = makeRaw([
      [[0.1, 0, 0.9, 0.2], [0.1, 0.1, 0.5, 0.5]],
      [[0.1, 0, 0.8, 0.1], [0.12, 0.1, 0.5, 0.52]],
      [[0.7, 0, 0.1, 0.1], [0.5, 0.5, 1.2, 0.9]],
      [[0.2, 0.99, 0.1, 0.3], [0, 0, 1, 1]],
    ]);
    const detection = toDetection(raw, LABELS, 200, 100, { minScore: 0.5, maxObjects: 20 });
    expect(detection).toEqual({
      objects: [
        { label: "cat", score: 0.9, box: [20, 10, 80, 40] },
        { label: "person", score: 0.7, box: [100, 50, 80, 50] },
      ],
      top5: [
        { label: "cat", score: 0.9 },
        { label: "person", score: 0.7 },
        { label: "cup", score: 0.3 },
      ],
    });
  });

  test("maxObjects keeps the best ones; minScore 0 still ignores unnamed columns", () => {
    const raw = makeRaw([
      [[0.6, 0, 0, 0], [0, 0, 0.1, 0.1]],
      [[0, 0, 0.8, 0], [0.5, 0.5, 0.6, 0.6]],
      [[0, 0, 0, 0.7], [0.8, 0.8, 0.9, 0.9]],
    ]);
    const labels = toDetection(raw, LABELS, 10, 10, { minScore: 0, maxObjects: 2 }).objects.map((object) => object.label);
    expect(labels).toEqual(["cat", "cup"]);
  });
});
