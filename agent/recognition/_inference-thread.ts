// The entry of one inference thread (a Bun Worker): its own wasm backend and model, one batch at a time.
// scripts/build.ts compiles this file as an extra entry point of the agent binary.
import { FleetError } from "../errors";
import { createDetector, type Detector } from "./detect";
import type { FromThread, ToThread } from "./_thread-messages";

declare const self: Worker;

let detector: Detector | undefined;

const answer = (message: FromThread) => self.postMessage(message);

/** A failure as the code and message of a `failed` answer. */
function toFailure(error: unknown, fallback: string): { code: string; message: string } {
  if (error instanceof FleetError) return { code: error.code, message: error.message };
  return { code: fallback, message: String((error as Error)?.message ?? error) };
}

self.onmessage = async ({ data }: MessageEvent<ToThread>) => {
  if (data.type === "load") {
    try {
      detector = await createDetector(data.model, data.wasmFiles);
      answer({ type: "loaded", info: detector.info });
    } catch (error) {
      answer({ type: "failed", ...toFailure(error, "BAD_MODEL") });
    }
    return;
  }
  const started = performance.now();
  try {
    if (!detector) throw new FleetError("MODEL_FAILED", "the model is not loaded in this thread", 500);
    const detections = await detector.detect(data.inputs, data.limits);
    answer({ type: "done", batchId: data.batchId, detections, ms: performance.now() - started });
  } catch (error) {
    answer({ type: "failed", batchId: data.batchId, ...toFailure(error, "OP_FAILED") });
  }
};
