// Reading --model folders: a copy of the built-in model works; missing paths and non-models are refused with clear errors.
import { describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readModelFolder } from "../../agent/recognition/model";
import { startInferencePool } from "../../agent/recognition/pool";
import { DEFAULT_LIMITS } from "../../agent/recognition/postprocess";
import { readModelInput } from "../../agent/recognition/preprocess";
import { REPO, makeTempDir } from "../helpers";
import { photos } from "./photos";

const MODEL = join(REPO, "models", "coco-ssd");

/** A copy of models/coco-ssd in `dir`, changed by `change`. */
function copyModel(dir: string, change: (folder: string) => void = () => {}): string {
  const folder = join(dir, "model");
  cpSync(MODEL, folder, { recursive: true });
  change(folder);
  return folder;
}

/** The code and message of what `run` throws (sync or async). */
async function readRefusal(run: () => unknown): Promise<{ code: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error("expected a refusal");
}

describe("--model", () => {
  test("a copy of the built-in model, by folder or by model.json, loads and finds the cat", async () => {
    using dir = makeTempDir();
    const folder = copyModel(dir.path);
    expect(readModelFolder(join(folder, "model.json")).weights.byteLength).toBe(readModelFolder(folder).weights.byteLength);
    const pool = await startInferencePool({ model: readModelFolder(folder), threads: 1, batch: 1 });
    try {
      const detection = await pool.detect(await readModelInput(photos.get("chelsea.jpg")!), DEFAULT_LIMITS);
      expect([pool.info.source, detection.top5[0]!.label]).toEqual([folder, "cat"]);
    } finally {
      await pool.close();
    }
  });

  test("a path that does not exist, or a folder without model.json: MODEL_NOT_FOUND", async () => {
    using dir = makeTempDir();
    const refusals = [await readRefusal(() => readModelFolder(join(dir.path, "nowhere"))), await readRefusal(() => readModelFolder(dir.path))];
    expect(refusals).toEqual([
      { code: "MODEL_NOT_FOUND", message: `--model ${join(dir.path, "nowhere")}: no such file or folder` },
      { code: "MODEL_NOT_FOUND", message: `--model ${dir.path}: no model.json in that folder` },
    ]);
  });

  test("files that are not a graph model: BAD_MODEL saying what is wrong", async () => {
    using dir = makeTempDir();
    const photo = join(dir.path, "photo.jpg");
    writeFileSync(photo, photos.get("chelsea.jpg")!);
    const notGraph = join(dir.path, "not-graph");
    mkdirSync(notGraph);
    writeFileSync(join(notGraph, "model.json"), JSON.stringify({ format: "layers-model" }));
    const folder = copyModel(dir.path, (at) => truncateSync(join(at, "group1-shard3of5"), 100));
    const refusals = [];
    for (const path of [photo, notGraph, folder]) refusals.push(await readRefusal(() => readModelFolder(path)));
    expect(refusals).toEqual([
      { code: "BAD_MODEL", message: expect.stringMatching(/^--model .*photo\.jpg: photo\.jpg is not JSON \(/) },
      { code: "BAD_MODEL", message: `--model ${notGraph}: model.json is not a TensorFlow.js graph model (needs modelTopology and weightsManifest)` },
      { code: "BAD_MODEL", message: `--model ${folder}: the weight files hold 13840324 bytes; the manifest describes 18034528 bytes` },
    ]);
  });

  test("labels.json naming fewer classes than the model scores: the pool refuses to start, BAD_MODEL", async () => {
    using dir = makeTempDir();
    const folder = copyModel(dir.path, (at) => writeFileSync(join(at, "labels.json"), JSON.stringify(["cat", "dog"])));
    const refusal = await readRefusal(() => startInferencePool({ model: readModelFolder(folder), threads: 1, batch: 1 }));
    expect(refusal).toEqual({ code: "BAD_MODEL", message: `--model ${folder}: it scores 90 classes but labels.json names 2; put a labels.json naming each score column beside model.json` });
  });
});
