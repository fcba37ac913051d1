// The messages between the inference pool (main thread) and its Bun Worker threads.
import type { DetectorInfo } from "./detect";
import type { ModelInput } from "./_input";
import type { ModelFiles } from "./model";
import type { Detection, DetectLimits } from "./postprocess";

/** Pool -> thread: load the model (once, first), or run one batch. */
export type ToThread =
  | { type: "load"; model: ModelFiles; wasmFiles: Record<string, string> }
  | { type: "run"; batchId: number; inputs: ModelInput[]; limits: DetectLimits[] };

/** Thread -> pool: the model loaded (or not); a batch's detections (or why it failed). */
export type FromThread =
  | { type: "loaded"; info: DetectorInfo }
  | { type: "done"; batchId: number; detections: Detection[]; ms: number }
  | { type: "failed"; batchId?: number; code: string; message: string };
