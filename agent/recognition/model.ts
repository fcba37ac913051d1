// Reads a TensorFlow.js graph model (model.json, its weight shards, optional labels.json) from a folder or the binary, checked before any thread loads it.
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { FleetError } from "../errors";
import { COCO_LABELS, EMBEDDED_MODEL } from "./coco-ssd";

/** model.json as TensorFlow.js writes it (only the parts read here). */
export interface ModelJson {
  modelTopology: unknown;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  [key: string]: unknown;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

/** A model in memory, ready to hand to a thread: its JSON, every shard joined in manifest order, the names of its score columns. */
export interface ModelFiles {
  /** Where it came from: "embedded coco-ssd" or the folder given. */
  source: string;
  json: ModelJson;
  weights: ArrayBuffer;
  /** Names of the score columns (null: unused column): labels.json beside model.json, else the 90 COCO names. */
  labels: readonly (string | null)[];
  /** Where `labels` came from, for messages. */
  labelsFrom: "labels.json" | "the COCO labels";
}

/** Bytes per element of each weight dtype (a quantized weight takes its quantized size). */
const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, string: NaN };

/** The COCO detector shipped in models/coco-ssd/ and embedded in the binary (see models/coco-ssd/SOURCE.md). */
export function readEmbeddedModel(): ModelFiles {
  const read = (file: string) => readFileSync(EMBEDDED_MODEL.files[file]!);
  return toModelFiles("embedded coco-ssd", "model.json", read, (file) => file in EMBEDDED_MODEL.files);
}

/**
 * Reads the model at `path`: a folder holding model.json, or model.json itself, whose
 * weight shards sit beside it. labels.json beside it, when present, is a JSON array naming
 * each score column (null for unused columns).
 * @throws FleetError MODEL_NOT_FOUND (422) when nothing is there, BAD_MODEL (422) when it is
 *   not a TensorFlow.js graph model (not JSON, no topology or manifest, a shard missing or of the wrong size).
 */
export function readModelFolder(path: string): ModelFiles {
  const full = resolve(path);
  const stat = statSync(full, { throwIfNoEntry: false });
  if (!stat) throw new FleetError("MODEL_NOT_FOUND", `--model ${path}: no such file or folder`, 422);
  const jsonFile = stat.isDirectory() ? join(full, "model.json") : full;
  const folder = dirname(jsonFile);
  if (!existsSync(jsonFile)) throw new FleetError("MODEL_NOT_FOUND", `--model ${path}: no model.json in that folder`, 422);
  const read = (file: string) => readFileSync(file === "model.json" ? jsonFile : join(folder, file));
  return toModelFiles(path, basename(jsonFile), read, (file) => (file === "model.json" ? true : existsSync(join(folder, file))));
}

function toModelFiles(source: string, jsonName: string, read: (file: string) => Buffer, exists: (file: string) => boolean): ModelFiles {
  const fail = (why: string, cause?: unknown) => new FleetError("BAD_MODEL", `--model ${source}: ${why}`, 422, { cause });
  let json: ModelJson;
  try {
    json = JSON.parse(read("model.json").toString("utf8"));
  } catch (cause) {
    throw fail(`${jsonName} is not JSON (${(cause as Error).message})`, cause);
  }
  if (typeof json !== "object" || json === null || !json.modelTopology || !Array.isArray(json.weightsManifest))
    throw fail(`${jsonName} is not a TensorFlow.js graph model (needs modelTopology and weightsManifest)`);
  const paths = json.weightsManifest.flatMap((group) => group.paths ?? []);
  const missing = paths.filter((file) => basename(file) !== file || !exists(file));
  if (missing.length > 0) throw fail(`weight files missing beside model.json: ${missing.join(", ")}`);
  const weights = Buffer.concat(paths.map(read));
  const expected = json.weightsManifest.flatMap((group) => group.weights ?? []).reduce((sum, spec) => sum + countBytes(spec), 0);
  if (weights.length !== expected) throw fail(`the weight files hold ${weights.length} bytes; the manifest describes ${expected} bytes`);
  const own = exists("labels.json");
  const labels = own ? readLabels(read("labels.json"), fail) : COCO_LABELS;
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) as ArrayBuffer;
  return { source, json, weights: buffer, labels, labelsFrom: own ? "labels.json" : "the COCO labels" };
}

/** Bytes one weight takes in the shards. */
function countBytes(spec: WeightSpec): number {
  const elements = (spec.shape ?? []).reduce((product, size) => product * size, 1);
  return elements * (DTYPE_BYTES[spec.quantization?.dtype ?? spec.dtype] ?? NaN);
}

function readLabels(bytes: Buffer, fail: (why: string) => FleetError): (string | null)[] {
  let labels: unknown;
  try {
    labels = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw fail("labels.json is not JSON");
  }
  if (!Array.isArray(labels) || !labels.every((label) => label === null || typeof label === "string"))
    throw fail("labels.json must be a JSON array of names (or null), one per score column");
  return labels;
}
