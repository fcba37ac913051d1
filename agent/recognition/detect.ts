// One detector on TensorFlow.js's wasm backend in the calling thread: loads a graph model, checks its shape, runs batches of preprocessed images.
import * as tf from "@tensorflow/tfjs-core";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { loadGraphModelSync, type GraphModel } from "@tensorflow/tfjs-converter";
import { FleetError } from "../errors";
import { BUN_PLATFORM } from "./_tf-platform";
import type { ModelFiles } from "./model";
import { toDetection, type Detection, type DetectLimits } from "./postprocess";
import { MODEL_INPUT_SIZE, type ModelInput } from "./_input";

/** What a loaded model looks like: anchors and score columns per image, and the backend running it. */
export interface DetectorInfo {
  source: string;
  anchors: number;
  classes: number;
  backend: string;
  simd: boolean;
}

/** A model loaded in this thread. */
export interface Detector {
  info: DetectorInfo;
  /** Detects objects in each image of `inputs` (one model call for all of them: a batch). */
  detect(inputs: ModelInput[], limits: DetectLimits[]): Promise<Detection[]>;
  dispose(): void;
}

let backend: Promise<void> | undefined;

/** Starts the wasm backend of this thread once, single-threaded, from the wasm files at `wasmFiles` (name -> path). */
function startBackend(wasmFiles: Record<string, string>): Promise<void> {
  backend ??= (async () => {
    if (!tf.env().platform) tf.env().setPlatform("bun", BUN_PLATFORM);
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    setWasmPaths(wasmFiles);
    if (!(await tf.setBackend("wasm"))) throw new FleetError("MODEL_FAILED", "the TensorFlow.js wasm backend did not start", 500);
    await tf.ready();
  })();
  return backend;
}

/**
 * Loads `files` in this thread and checks it is a detector this worker can feed and read:
 * one int32 input `[batch, height, width, 3]`; on a 300x300 image, a scores output
 * `[1, anchors, classes]` and a boxes output `[1, anchors, 1, 4]`, with a name per score column
 * (`files.labels`).
 * @throws FleetError BAD_MODEL (422) when the model does not load or has another shape; MODEL_FAILED (500) when wasm does not start.
 */
export async function createDetector(files: ModelFiles, wasmFiles: Record<string, string>): Promise<Detector> {
  await startBackend(wasmFiles);
  const fail = (why: string, cause?: unknown) => new FleetError("BAD_MODEL", `--model ${files.source}: ${why}`, 422, { cause });
  let model: GraphModel<tf.io.IOHandlerSync>;
  try {
    model = loadGraphModelSync([files.json as never, files.weights]);
  } catch (cause) {
    throw fail(`TensorFlow.js cannot load it (${(cause as Error).message})`, cause);
  }
  const input = model.inputs[0];
  if (model.inputs.length !== 1 || input?.dtype !== "int32" || input.shape?.length !== 4 || input.shape[3] !== 3)
    throw fail(`needs one int32 input [batch, height, width, 3]; it has ${JSON.stringify(model.inputs.map((i) => [i.name, i.dtype, i.shape]))}`);
  const fixed = input.shape.slice(1, 3).filter((size) => size > 0);
  if (fixed.some((size) => size !== MODEL_INPUT_SIZE)) throw fail(`its input is ${input.shape.join("x")}; images are fed at ${MODEL_INPUT_SIZE}x${MODEL_INPUT_SIZE}`);
  const shapes = await probeShapes(model, fail);
  const labels = files.labels;
  if (labels.length !== shapes.classes)
    throw fail(`it scores ${shapes.classes} classes but ${files.labelsFrom} names ${labels.length}; put a labels.json naming each score column beside model.json`);
  const info = { source: files.source, anchors: shapes.anchors, classes: shapes.classes, backend: tf.getBackend(), simd: Boolean(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) };
  return {
    info,
    detect: (inputs, limits) => runBatch(model, inputs, limits, labels, shapes),
    dispose: () => model.dispose(),
  };
}

/** Runs the model once on a black image: which output is which, anchors and classes. */
async function probeShapes(model: GraphModel<tf.io.IOHandlerSync>, fail: (why: string, cause?: unknown) => FleetError): Promise<{ anchors: number; classes: number; scoresAt: number }> {
  const zeros = tf.zeros([1, MODEL_INPUT_SIZE, MODEL_INPUT_SIZE, 3], "int32");
  let outputs: tf.Tensor[];
  try {
    outputs = [(await model.executeAsync(zeros)) as tf.Tensor | tf.Tensor[]].flat();
  } catch (cause) {
    throw fail(`running it on a ${MODEL_INPUT_SIZE}x${MODEL_INPUT_SIZE} image failed (${(cause as Error).message})`, cause);
  } finally {
    zeros.dispose();
  }
  const shapes = outputs.map((output) => output.shape);
  tf.dispose(outputs);
  const scoresAt = shapes.findIndex((shape) => shape.length === 3);
  const boxesAt = shapes.findIndex((shape) => shape.length === 4 && shape[2] === 1 && shape[3] === 4);
  const [, anchors = 0, classes = 0] = shapes[scoresAt] ?? [];
  if (shapes.length !== 2 || scoresAt < 0 || boxesAt < 0 || shapes[boxesAt]![1] !== anchors || anchors < 1 || classes < 1)
    throw fail(`needs outputs scores [1, anchors, classes] and boxes [1, anchors, 1, 4]; it gives ${JSON.stringify(shapes)}`);
  return { anchors, classes, scoresAt };
}

async function runBatch(
  model: GraphModel<tf.io.IOHandlerSync>,
  inputs: ModelInput[],
  limits: DetectLimits[],
  labels: readonly (string | null)[],
  { anchors, classes, scoresAt }: { anchors: number; classes: number; scoresAt: number },
): Promise<Detection[]> {
  const side = MODEL_INPUT_SIZE;
  const pixels = new Int32Array(inputs.length * side * side * 3);
  inputs.forEach((input, index) => pixels.set(input.pixels, index * side * side * 3));
  const batch = tf.tensor4d(pixels, [inputs.length, side, side, 3], "int32");
  let outputs: tf.Tensor[] = [];
  try {
    outputs = [(await model.executeAsync(batch)) as tf.Tensor | tf.Tensor[]].flat();
    const [scores, boxes] = (await Promise.all([outputs[scoresAt]!.data(), outputs[1 - scoresAt]!.data()])) as Float32Array[];
    return inputs.map((input, index) => {
      const raw = {
        scores: scores!.subarray(index * anchors * classes, (index + 1) * anchors * classes),
        boxes: boxes!.subarray(index * anchors * 4, (index + 1) * anchors * 4),
        anchors,
        classes,
      };
      return toDetection(raw, labels, input.width, input.height, limits[index]!);
    });
  } finally {
    tf.dispose([batch, ...outputs]);
  }
}
