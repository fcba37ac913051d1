// A pool of N inference threads (Bun Workers, each with its own wasm backend and model) behind a bounded queue, batching what waits.
import { FleetError } from "../errors";
import type { InferencePoolStats } from "../wire";
import type { DetectorInfo } from "./detect";
import type { ModelInput } from "./_input";
import type { FromThread, ToThread } from "./_thread-messages";
import { WASM_FILES } from "./coco-ssd";
import type { ModelFiles } from "./model";
import type { Detection, DetectLimits } from "./postprocess";

/**
 * The thread's entry: beside this file under `bun run`; in a compiled binary where
 * scripts/build.ts puts it (an extra entry point, under /$bunfs/root by its path from agent/).
 */
const THREAD_ENTRY = Bun.isStandaloneExecutable ? "/$bunfs/root/recognition/_inference-thread.js" : new URL("./_inference-thread.ts", import.meta.url).href;

/** `threads` workers; each takes up to `batch` queued images per model call; at most `maxQueued` wait (default 4 x threads x batch). */
export interface PoolOptions {
  model: ModelFiles;
  threads: number;
  batch: number;
  maxQueued?: number;
}

/** Running totals of a pool (its wire type, part of a recognition worker's figures). */
export type PoolStats = InferencePoolStats;

/** A started pool. */
export interface InferencePool {
  info: DetectorInfo;
  /** Queues one image. @throws FleetError BUSY (503) when the queue is full, STOPPING (503) once closing; a failed batch's code otherwise. */
  detect(input: ModelInput, limits: DetectLimits): Promise<Detection>;
  stats(): PoolStats;
  /** Ends every thread; queued images fail with STOPPING. */
  close(): Promise<void>;
}

interface Item {
  input: ModelInput;
  limits: DetectLimits;
  resolve(detection: Detection): void;
  reject(error: FleetError): void;
}

interface Thread {
  worker: Worker;
  busy?: Item[];
}

/**
 * Starts `threads` threads and loads the model in each.
 * @throws FleetError BAD_MODEL (422) when a thread cannot load or use the model (every thread is then ended).
 */
export async function startInferencePool({ model, threads: count, batch, maxQueued = 4 * count * batch }: PoolOptions): Promise<InferencePool> {
  const queue: Item[] = [];
  const threads: Thread[] = [];
  const totals = { images: 0, batches: 0, infer_ms: 0, thread_restarts: 0 };
  let closing = false;
  let nextBatch = 0;

  const pump = (): void => {
    for (const thread of threads) {
      if (thread.busy || queue.length === 0) continue;
      const items = queue.splice(0, batch);
      thread.busy = items;
      const message: ToThread = { type: "run", batchId: nextBatch++, inputs: items.map((item) => item.input), limits: items.map((item) => item.limits) };
      thread.worker.postMessage(message);
    }
  };

  const finish = (thread: Thread, outcome: { detections: Detection[]; ms: number } | FleetError): void => {
    const items = thread.busy ?? [];
    thread.busy = undefined;
    if (outcome instanceof FleetError) for (const item of items) item.reject(outcome);
    else {
      items.forEach((item, index) => item.resolve(outcome.detections[index]!));
      totals.images += items.length;
      totals.batches += 1;
      totals.infer_ms += outcome.ms;
    }
    pump();
  };

  // A thread that dies (it should not) fails its batch and is replaced by a fresh one.
  const spawn = (): Promise<{ thread: Thread; info: DetectorInfo }> =>
    new Promise((resolve, reject) => {
      const thread: Thread = { worker: new Worker(THREAD_ENTRY) };
      let loaded = false;
      thread.worker.onmessage = ({ data }: MessageEvent<FromThread>) => {
        if (data.type === "loaded") (loaded = true), resolve({ thread, info: data.info });
        else if (data.type === "done") finish(thread, data);
        else if (!loaded) reject(new FleetError(data.code, data.message, data.code === "BAD_MODEL" ? 422 : 500));
        else finish(thread, new FleetError(data.code, data.message, 500));
      };
      thread.worker.onerror = (event) => {
        const error = new FleetError("MODEL_FAILED", `inference thread failed: ${event.message}`, 500);
        if (!loaded) return reject(error);
        thread.worker.terminate();
        // Out of the pool before its batch is failed, so `pump` cannot hand the dead thread more work.
        threads.splice(threads.indexOf(thread), 1);
        finish(thread, error);
        if (closing) return;
        totals.thread_restarts += 1;
        void spawn().then(
          ({ thread: fresh }) => {
            if (closing) return void fresh.worker.terminate();
            threads.push(fresh);
            pump();
          },
          (failure: FleetError) => {
            if (threads.length > 0) return;
            for (const item of queue.splice(0)) item.reject(failure);
          },
        );
      };
      const load: ToThread = { type: "load", model, wasmFiles: WASM_FILES };
      thread.worker.postMessage(load);
    });

  const started = await Promise.allSettled(Array.from({ length: count }, spawn));
  for (const outcome of started) if (outcome.status === "fulfilled") threads.push(outcome.value.thread);
  const failure = started.find((outcome) => outcome.status === "rejected");
  if (failure) {
    for (const thread of threads) thread.worker.terminate();
    throw failure.reason;
  }
  const info = (started[0] as PromiseFulfilledResult<{ info: DetectorInfo }>).value.info;

  return {
    info,
    detect: (input, limits) =>
      new Promise<Detection>((resolve, reject) => {
        if (closing) return reject(new FleetError("STOPPING", "the recognition worker is stopping", 503));
        if (threads.length === 0) return reject(new FleetError("MODEL_FAILED", "no inference thread is running", 500));
        if (queue.length >= maxQueued) return reject(new FleetError("BUSY", `${queue.length} images queued for inference; at most ${maxQueued}`, 503));
        queue.push({ input, limits, resolve, reject });
        pump();
      }),
    stats: () => ({ threads: threads.length, batch, queued: queue.length, ...totals, infer_ms: Math.round(totals.infer_ms) }),
    close: async () => {
      closing = true;
      for (const item of queue.splice(0)) item.reject(new FleetError("STOPPING", "the recognition worker is stopping", 503));
      for (const thread of threads) thread.worker.terminate();
    },
  };
}
