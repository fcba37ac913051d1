// The receiver role: HTTP image ingestion into a bounded queue, saved per topic, with live figures.
import { Elysia } from "elysia";
import { Type as t } from "@sinclair/typebox";
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { FleetError } from "../../errors";
import { NO_IMPAIRMENT } from "../../impair";
import { answerErrorsAsJson, errorResponse, jsonResponse } from "../../http";
import { readJpegHeader } from "../../imaging/jpeg";
import { LatencyHistogram, RateSeries, RateSpan, perSecond } from "../../metrics";
import sharp from "../../native/sharp";
import { parseDuration, parseSize } from "../../units";
import { ClockOffsetMs, type ReceiverStats, type UploadAccepted } from "../../wire";
import { PersistentCounter } from "./counter";
import { openReceiverState, toTempPath } from "./_state";

/** The folder of a receiver's own state inside OUT (counter, temp files): no output path from the network may name it. */
export { STATE_FOLDER } from "./_state";
import { ImageStore, type SaveJob, type SaveOutcome } from "./store";
import { readUpload } from "./_upload";
import type { LastFrame, Role, RoleHandle } from "../types";

const options = t.Object(
  {
    port: t.Integer({ minimum: 0, maximum: 65535, default: 8000, description: "HTTP port; 0 picks a free one" }),
    out: t.String({ minLength: 1, default: "./analyzed_images", description: "folder that receives OUT/TOPIC/*.jpg" }),
    queue: t.Integer({ minimum: 1, maximum: 1_000_000, default: 1024, description: "images waiting to be saved before 503" }),
    queueBytes: t.String({ default: "256MB", description: "bytes waiting to be saved before 503" }),
    maxBody: t.String({ default: "16MB", description: "largest request body; 413 past it" }),
    verify: t.Union([t.Literal("header"), t.Literal("decode"), t.Literal("none")], { default: "header" }),
    writers: t.Integer({ minimum: 1, maximum: 64, default: 4, description: "files written at once" }),
    queueWait: t.String({ default: "2s", description: "how long a request is held while the queue is full before 503" }),
    ack: t.Union([t.Literal("written"), t.Literal("fsync"), t.Literal("queued")], {
      default: "written",
      description: "when the 202 goes: written (file has its final name), fsync (file and folder synced, group commit), queued (in memory only; a crash loses the queue)",
    }),
    clockOffsetMs: ClockOffsetMs,
  },
  { additionalProperties: false },
);

/** Seconds a client should wait after a 503 (queue full) before it retries. */
const RETRY_AFTER_S = "1";
/** Requests held at once while the queue is full; past this a full queue answers 503 at once, bounding memory to this many bodies. */
const MAX_HELD_REQUESTS = 256;

/** When a receiver answers an upload; `/upload`'s 202 carries it as `ack`. */
export type AckMode = UploadAccepted["ack"];

/** A job whose promise settles with its save outcome (written and fsync modes wait on it before answering). */
function toAcknowledgedJob(job: SaveJob): { job: SaveJob; saved: Promise<SaveOutcome> } {
  let acknowledge!: (outcome: SaveOutcome) => void;
  const saved = new Promise<SaveOutcome>((resolve) => (acknowledge = resolve));
  return { job: { ...job, acknowledge }, saved };
}

/** Checks an image's bytes per `--verify`: header (markers and SOF, no decode), decode (sharp decodes every pixel), none. */
async function verifyImage(data: Uint8Array, mode: "header" | "decode" | "none"): Promise<void> {
  if (mode === "none") return;
  readJpegHeader(data);
  if (mode === "decode") {
    try {
      await sharp(data, { failOn: "truncated" }).raw().toBuffer();
    } catch (error) {
      throw new FleetError("BAD_JPEG", `JPEG does not decode: ${(error as Error).message}`, 422, { cause: error });
    }
  }
}

/**
 * Throws when a save failed, so a written/fsync client gets a 500 and knows its image was not saved.
 * @throws FleetError SAVE_FAILED (500).
 */
function checkSaved(outcome: SaveOutcome): void {
  if ("error" in outcome) throw new FleetError("SAVE_FAILED", `image ${outcome.job.id} was not saved: ${outcome.error.message}`, 500, { cause: outcome.error });
}

/** Figures kept per topic. */
interface TopicCounts {
  received: number;
  saved: number;
}

export default {
  name: "receiver",
  summary: "HTTP image ingestion: POST /upload into a bounded queue, saved atomically per topic",
  options,
  async start(opts, context): Promise<RoleHandle & LastFrame> {
    const maxBody = parseSize(opts.maxBody, "--max-body");
    const maxBytes = parseSize(opts.queueBytes, "--queue-bytes");
    const queueWaitMs = parseDuration(opts.queueWait, "--queue-wait");
    const outDir = resolve(opts.out);
    await mkdir(outDir, { recursive: true });
    const state = openReceiverState(outDir);
    if (state.recoveredTempFiles > 0) context.log("receiver_recovered", { temp_files: state.recoveredTempFiles });
    const counter = (() => {
      try {
        return PersistentCounter.open(state.counterPath, { legacyPath: state.legacyCounterPath, temp: toTempPath(state, "counter") });
      } catch (error) {
        state.release();
        throw error;
      }
    })();
    const ack = opts.ack as AckMode;
    const latency = new LatencyHistogram((ms) => context.observe?.("receiver_save", ms));
    const series = new RateSeries();
    const topics = new Map<string, TopicCounts>();
    const totals = { received: 0, saved: 0, failed: 0, rejected: 0, busy: 0, bytes: 0 };
    // Rates run from the first upload; once stopped, to the last save (the queue drains after the stop).
    const span = new RateSpan(0);
    let lastSavedAt = 0;
    let lastFile: string | undefined;
    let lastFrame: Uint8Array | undefined;

    const topicCounts = (topic: string): TopicCounts => {
      let counts = topics.get(topic);
      if (!counts) topics.set(topic, (counts = { received: 0, saved: 0 }));
      return counts;
    };
    const onOutcome = (outcome: SaveOutcome): void => {
      if ("error" in outcome) {
        totals.failed += 1;
        context.log("save_failed", { id: outcome.job.id, error: outcome.error.message });
        return;
      }
      totals.saved += 1;
      totals.bytes += outcome.job.data.length;
      topicCounts(outcome.job.topic).saved += 1;
      series.add(1, outcome.job.data.length, outcome.savedAt);
      lastSavedAt = outcome.savedAt;
      lastFile = outcome.path;
      lastFrame = outcome.job.data;
      // X-Sent-At is on the controller's clock (the sender took its offset off); so is the save time once ours is.
      if (outcome.job.sentAt) latency.record(outcome.savedAt - opts.clockOffsetMs - outcome.job.sentAt);
    };
    const writing = { sync: ack === "fsync", toTempPath: (id: number) => toTempPath(state, id) };
    const store = new ImageStore(outDir, { maxJobs: opts.queue, maxBytes, writers: opts.writers }, writing, onOutcome);
    const impair = context.impair ?? NO_IMPAIRMENT;
    // Aborted on stop: releases the dropped requests that `loss` impairment holds unanswered.
    const releaseDropped = new AbortController();

    const stats = (): ReceiverStats => {
      const activeEnd = span.stopped && lastSavedAt ? lastSavedAt : undefined;
      return {
        role: "receiver",
        port: boundPort,
        ack,
        ...totals,
        queue_depth: store.depth,
        queue_bytes: store.bytes,
        recovered_temp_files: state.recoveredTempFiles,
        sync_passes: store.syncPasses,
        ...span.rates(totals.saved, totals.bytes, activeEnd),
        rate_5s: series.rate(5),
        elapsed_s: span.elapsedMs() / 1000,
        topics: Object.fromEntries(
          [...topics].map(([name, counts]) => [name, { ...counts, images_per_s: perSecond(counts.saved, span.elapsedMs(activeEnd)) }]),
        ),
        latency_ms: latency.summary(),
        series: series.points(),
        last_file: lastFile,
        impairment: impair.describe(),
      };
    };

    const answer = async (request: Request): Promise<Response> => {
      try {
        if (span.stopped) throw new FleetError("STOPPING", "the receiver is stopping", 503);
        const upload = await impair.runUnit(async () => {
          const read = await readUpload(request, maxBody);
          await verifyImage(read.data, opts.verify);
          return read;
        });
        span.start();
        const { job, saved } = toAcknowledgedJob({ id: counter.next(), ...upload });
        if (!store.offer(job) && !(await store.offerWithin(job, queueWaitMs, MAX_HELD_REQUESTS))) {
          totals.busy += 1;
          return jsonResponse({ error: "QUEUE_FULL", message: "save queue is full; retry later" }, 503, { "retry-after": RETRY_AFTER_S });
        }
        totals.received += 1;
        topicCounts(upload.topic).received += 1;
        if (ack !== "queued") await checkSaved(await saved);
        return jsonResponse({ id: job.id, ack } satisfies UploadAccepted, 202);
      } catch (error) {
        if (error instanceof FleetError && error.status < 500) totals.rejected += 1;
        return errorResponse(error);
      }
    };
    // Impairment: a lost request is held unanswered until its client gives up (the 504 after
    // that reaches no one); every answer waits the delay of the way back; reading and checking
    // an upload is a unit of work for `cpu`.
    const accept = async (request: Request): Promise<Response> => {
      if (impair.drops()) {
        await impair.holdDropped(AbortSignal.any([request.signal, releaseDropped.signal]));
        return jsonResponse({ error: "DROPPED", message: "impairment dropped this request" }, 504);
      }
      const response = await answer(request);
      await impair.beforeSend();
      return response;
    };

    const server = answerErrorsAsJson(new Elysia({ serve: { maxRequestBodySize: maxBody * 2 } }))
      .post("/upload", ({ request }) => accept(request), { parse: "none" })
      .get("/stats", () => stats());
    try {
      server.listen({ port: opts.port, hostname: context.host });
    } catch (error) {
      counter.close();
      state.release();
      throw new FleetError("PORT_UNAVAILABLE", `--port ${opts.port}: ${(error as Error).message}`, 409, { cause: error });
    }
    const boundPort = server.server?.port ?? opts.port;
    context.log("receiver_listening", { port: boundPort, out: outDir });

    return {
      stats,
      lastFrame: () => lastFrame,
      async stop() {
        if (span.stopped) return;
        span.stop();
        releaseDropped.abort();
        await server.stop(false);
        await store.drain();
        counter.close();
        state.release();
      },
    };
  },
} satisfies Role<typeof options>;
