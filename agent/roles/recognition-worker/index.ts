// The recognition worker role: dials the manager (or pulls from the broker) and answers `classify` tasks with the objects a COCO detector finds in the image.
import { Type as t } from "@sinclair/typebox";
import { availableParallelism } from "node:os";
import { FleetError } from "../../errors";
import type { Static } from "@sinclair/typebox";
import { checkParams, type Assign, type ClassifyResultMeta, type OpParams } from "../../protocol";
import { sessionOptions, startWorker, type TaskRunner } from "../worker";
import type { Role, RoleHandle } from "../types";

const options = t.Object(
  {
    manager: sessionOptions.manager,
    broker: sessionOptions.broker,
    concurrency: t.Integer({ minimum: 1, maximum: 64, default: availableParallelism(), description: "inference threads, each with its own model (one per core uses every core)" }),
    model: t.Optional(t.String({ minLength: 1, description: "a TensorFlow.js graph model folder (model.json + shards [+ labels.json]) with the input and outputs of the built-in COCO SSD; default the built-in COCO SSD" })),
    batch: t.Integer({ minimum: 1, maximum: 16, default: 1, description: "most queued images one inference thread takes per model call" }),
    id: sessionOptions.id,
    reconnect: sessionOptions.reconnect,
  },
  { additionalProperties: false },
);

interface ClassifyTask {
  image: Uint8Array;
  limits: { minScore: number; maxObjects: number };
}

/**
 * Reads a classify assign: `payload` is the uploaded image file as encoded (JPEG, PNG, WebP...),
 * `params` is `{}` or `{ minScore?, maxObjects? }`.
 * @throws FleetError BAD_TASK (422) for another op or an empty payload, BAD_PARAMS (422) naming each bad param.
 */
function readClassify(assign: Assign): ClassifyTask {
  if (assign.op !== "classify") throw new FleetError("BAD_TASK", `op "${assign.op}" is not classify; this worker runs classify only`, 422);
  if (assign.payload.length === 0) throw new FleetError("BAD_TASK", "payload is empty; classify needs the image file's bytes", 422);
  const { minScore = 0.5, maxObjects = 20 } = checkParams("classify", assign.params).params as OpParams<"classify">;
  return { image: assign.payload, limits: { minScore, maxObjects } };
}

export default {
  name: "recognition-worker",
  summary: "detects objects (80 COCO classes, SSDLite MobileNetV2 on TensorFlow.js wasm) in images assigned by the manager",
  options,
  async start(opts, context): Promise<RoleHandle> {
    // Loaded here, not at import: the agent starts without TensorFlow.js unless this role runs.
    const { readEmbeddedModel, readModelFolder } = await import("../../recognition/model");
    const { startInferencePool } = await import("../../recognition/pool");
    const { readModelInput } = await import("../../recognition/preprocess");
    const model = opts.model ? readModelFolder(opts.model) : readEmbeddedModel();
    const pool = await startInferencePool({ model, threads: opts.concurrency, batch: opts.batch });
    context.log("recognition_model_loaded", { model: model.source, threads: opts.concurrency, batch: opts.batch, ...pool.info });
    const runner: TaskRunner<ClassifyTask> = {
      ops: ["classify"],
      read: readClassify,
      run: async ({ image, limits }) => {
        const input = await readModelInput(image);
        const { objects, top5 } = await pool.detect(input, limits);
        const meta: Static<typeof ClassifyResultMeta> = { objects, top5, width: input.width, height: input.height };
        return { meta, payload: new Uint8Array(0) };
      },
      stats: () => ({ model: model.source, ...pool.stats() }),
    };
    // Two tasks per image a thread takes at once: one in the model, the next decoded and waiting.
    const credit = 2 * opts.concurrency * opts.batch;
    let session: RoleHandle;
    try {
      session = await startWorker({ role: "recognition-worker", manager: opts.manager, broker: opts.broker, id: opts.id, reconnect: opts.reconnect, credit }, context, runner);
    } catch (error) {
      await pool.close();
      throw error;
    }
    let stopped: Promise<void> | undefined;
    const stop = async () => {
      await session.stop();
      await pool.close();
    };
    return { stats: session.stats, stop: () => (stopped ??= stop()) };
  },
} satisfies Role<typeof options>;
