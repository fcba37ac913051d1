// The COCO detector on the real photos, in process and through the pool of inference threads: the labels the issue asks for.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { WASM_FILES } from "../../agent/recognition/coco-ssd";
import { createDetector, type Detector } from "../../agent/recognition/detect";
import { startInferencePool, type InferencePool } from "../../agent/recognition/pool";
import { DEFAULT_LIMITS, type Detection } from "../../agent/recognition/postprocess";
import { readModelInput } from "../../agent/recognition/preprocess";
import { photos, readModel } from "./photos";

const PHOTOS = ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"];

let detector: Detector;
let pool: InferencePool;
let inProcess: Map<string, Detection>;

beforeAll(async () => {
  detector = await createDetector(readModel(), WASM_FILES);
  pool = await startInferencePool({ model: readModel(), threads: 2, batch: 2 });
  inProcess = new Map();
  for (const name of PHOTOS) {
    const input = await readModelInput(photos.get(name)!);
    inProcess.set(name, (await detector.detect([input], [DEFAULT_LIMITS]))[0]!);
  }
});

afterAll(async () => {
  detector.dispose();
  await pool.close();
});

describe("COCO detector", () => {
  test("chelsea is a cat (>= 0.8), coffee a cup, astronaut a person: top label and top object", () => {
    const tops = PHOTOS.map((name) => {
      const { objects, top5 } = inProcess.get(name)!;
      return { name, top: top5[0]!.label, object: objects[0]?.label, catScore: name === "chelsea.jpg" ? top5[0]!.score >= 0.8 : true };
    });
    expect(tops).toEqual([
      { name: "chelsea.jpg", top: "cat", object: "cat", catScore: true },
      { name: "coffee.jpg", top: "cup", object: "cup", catScore: true },
      { name: "astronaut.jpg", top: "person", object: "person", catScore: true },
    ]);
  });

  test("top5 holds five distinct labels, best first; boxes lie inside the original image", async () => {
    for (const name of PHOTOS) {
      const { objects, top5 } = inProcess.get(name)!;
      const { width, height } = await readModelInput(photos.get(name)!);
      expect(new Set(top5.map((entry) => entry.label)).size).toBe(5);
      expect(top5.map((entry) => entry.score)).toEqual(top5.map((entry) => entry.score).sort((a, b) => b - a));
      for (const { box, score } of objects) {
        const [x, y, w, h] = box;
        expect([x >= 0, y >= 0, w > 0, h > 0, x + w <= width + 0.1, y + h <= height + 0.1, score >= 0.5]).toEqual([true, true, true, true, true, true, true]);
      }
    }
  });

  test("the pool's threads (batches of 2) answer exactly what the in-process detector does", async () => {
    const inputs = await Promise.all([...PHOTOS, ...PHOTOS].map(async (name) => ({ name, input: await readModelInput(photos.get(name)!) })));
    const answers = await Promise.all(inputs.map(({ input }) => pool.detect(input, DEFAULT_LIMITS)));
    expect(answers).toEqual(inputs.map(({ name }) => inProcess.get(name)!));
    expect(pool.stats()).toMatchObject({ threads: 2, batch: 2, images: 6, queued: 0 });
  });

  test("minScore and maxObjects limit the objects, not top5", async () => {
    const input = await readModelInput(photos.get("coffee.jpg")!);
    const [strict, loose] = await detector.detect([input, input], [{ minScore: 0.9, maxObjects: 20 }, { minScore: 0.05, maxObjects: 3 }]);
    expect(strict!.objects.map((object) => object.label)).toEqual(["cup"]);
    expect(loose!.objects.length).toBe(3);
    expect([strict!.top5, loose!.top5]).toEqual([inProcess.get("coffee.jpg")!.top5, inProcess.get("coffee.jpg")!.top5]);
  });

  test("a full queue answers BUSY at once", async () => {
    const small = await startInferencePool({ model: readModel(), threads: 1, batch: 1, maxQueued: 1 });
    try {
      const input = await readModelInput(photos.get("chelsea.jpg")!);
      const outcomes = await Promise.allSettled([small.detect(input, DEFAULT_LIMITS), small.detect(input, DEFAULT_LIMITS), small.detect(input, DEFAULT_LIMITS)]);
      expect(outcomes.map((outcome) => (outcome.status === "fulfilled" ? "ok" : (outcome.reason as { code: string }).code))).toEqual(["ok", "ok", "BUSY"]);
    } finally {
      await small.close();
    }
  });
});
