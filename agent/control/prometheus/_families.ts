// The counters and gauges read from the roles' figures at scrape time: one table, by role, of names, help texts and readers.
import type { RoleInfo, RoleInfoOf, WorkerStats } from "../../wire";

/** Labels beyond agent, role and id, and a value. */
export type Sample = [labels: Record<string, string>, value: number];

/** One family read from a role's figures: counters end in `_total`, values in base units. */
export interface Family<Stats = RoleInfo["stats"]> {
  name: string;
  type: "counter" | "gauge";
  help: string;
  /** Labels beyond agent, role and id. */
  labels?: string[];
  /** Samples of one role's figures (none when the role does not report it yet). */
  read(stats: Stats): Sample[];
}

/** A single sample without extra labels, or none when `value` is undefined. */
const one = (value: number | undefined): Sample[] => (value === undefined ? [] : [[{}, value]]);
const counter = <Stats>(name: string, help: string, read: (stats: Stats) => number | undefined): Family<Stats> => ({ name, type: "counter", help, read: (stats) => one(read(stats)) });
const gauge = <Stats>(name: string, help: string, read: (stats: Stats) => number | undefined): Family<Stats> => ({ name, type: "gauge", help, read: (stats) => one(read(stats)) });

type Of<Name extends RoleInfo["role"]> = RoleInfoOf<Name>["stats"];

const SENDER: Family<Of<"sender">>[] = [
  counter("framefleet_sender_images_sent_total", "Images issued to a target (retries not counted again)", (s) => s.sent),
  counter("framefleet_sender_images_ok_total", "Images a target acknowledged with a 2xx", (s) => s.ok),
  counter("framefleet_sender_images_failed_total", "Images given up on (error answer, or target unreachable when sending ended)", (s) => s.failed),
  counter("framefleet_sender_retries_total", "503 answers honoured by sending the image again", (s) => s.retries),
  counter("framefleet_sender_unreachable_total", "Attempts that found the target down (refused, reset, timed out)", (s) => s.unreachable),
  counter("framefleet_sender_sent_bytes_total", "Bytes of upload bodies sent (bytes)", (s) => s.bytes),
  counter("framefleet_sender_source_frames_total", "Frames taken from the source", (s) => s.frames),
  gauge("framefleet_sender_in_flight", "Images sent and not answered yet", (s) => s.in_flight),
  {
    name: "framefleet_sender_errors_total",
    type: "counter",
    help: "Images given up on, by the error code of the last attempt",
    labels: ["code"],
    read: (s) => Object.entries(s.errors).map(([code, count]) => [{ code }, count]),
  },
];

const RECEIVER: Family<Of<"receiver">>[] = [
  counter("framefleet_receiver_images_received_total", "Uploads taken into the queue", (s) => s.received),
  counter("framefleet_receiver_images_saved_total", "Images written to their final file", (s) => s.saved),
  counter("framefleet_receiver_images_failed_total", "Images whose write failed", (s) => s.failed),
  counter("framefleet_receiver_images_rejected_total", "Uploads refused as bad input (400, 413, 415, 422)", (s) => s.rejected),
  counter("framefleet_receiver_busy_responses_total", "Uploads answered 503 because the queue was full", (s) => s.busy),
  counter("framefleet_receiver_saved_bytes_total", "Bytes of images saved (bytes)", (s) => s.bytes),
  counter("framefleet_receiver_sync_passes_total", "Group commits run with --ack fsync", (s) => s.sync_passes),
  counter("framefleet_receiver_recovered_temp_files_total", "Temp files of crashed receivers removed at start", (s) => s.recovered_temp_files),
  gauge("framefleet_receiver_queue_images", "Images waiting to be saved", (s) => s.queue_depth),
  gauge("framefleet_receiver_queue_bytes", "Bytes of images waiting to be saved (bytes)", (s) => s.queue_bytes),
  ...(["received", "saved"] as const).map(
    (field): Family<Of<"receiver">> => ({
      name: `framefleet_receiver_topic_images_${field}_total`,
      type: "counter",
      help: `Images ${field} per topic`,
      labels: ["topic"],
      read: (s) => Object.entries(s.topics).map(([topic, counts]) => [{ topic }, counts[field]]),
    }),
  ),
];

const MANAGER: Family<Of<"manager">>[] = [
  gauge("framefleet_manager_workers", "Workers connected now", (s) => s.workers),
  counter("framefleet_manager_jobs_accepted_total", "Jobs accepted (one per uploaded image)", (s) => s.jobs_accepted),
  counter("framefleet_manager_jobs_done_total", "Jobs finished with a result", (s) => s.jobs_done),
  counter("framefleet_manager_jobs_failed_total", "Jobs failed", (s) => s.jobs_failed),
  gauge("framefleet_manager_jobs_queued", "Jobs waiting for a worker now", (s) => s.jobs_queued),
  gauge("framefleet_manager_jobs_running", "Jobs with a task at a worker now", (s) => s.jobs_running),
  counter("framefleet_manager_tasks_retried_total", "Tasks sent again (retransmissions) after a timeout, error or lost worker", (s) => s.tasks_retried),
  counter("framefleet_manager_tasks_discarded_total", "Worker answers discarded: for an attempt no longer current, or a task the worker does not hold", (s) => s.tasks_discarded),
  gauge("framefleet_manager_outputs_bytes", "Bytes the kept outputs of finished jobs hold (bytes)", (s) => s.outputs_bytes),
];

const WORKER: Family<WorkerStats>[] = [
  gauge("framefleet_worker_connected", "1 while the manager has welcomed this worker, else 0", (s) => Number(s.connected)),
  gauge("framefleet_worker_credit", "Tasks the worker offers to run at once", (s) => s.credit),
  gauge("framefleet_worker_tasks_in_flight", "Tasks in hand now (running or waiting for the credit)", (s) => s.in_flight),
  counter("framefleet_worker_tasks_done_total", "Tasks finished with a result", (s) => s.tasks_done),
  counter("framefleet_worker_tasks_failed_total", "Tasks answered with an error", (s) => s.tasks_failed),
  counter("framefleet_worker_reconnects_total", "Redials that reached the manager again", (s) => s.reconnects),
  counter("framefleet_worker_busy_seconds_total", "Time spent running tasks, summed over tasks run at once (seconds)", (s) => s.busy_ms / 1000),
  gauge("framefleet_worker_inference_threads", "Inference threads of a recognition worker", (s) => s.threads),
  gauge("framefleet_worker_inference_queue_images", "Images waiting for an inference thread", (s) => s.queued),
  counter("framefleet_worker_inference_images_total", "Images run through the model", (s) => s.images),
  counter("framefleet_worker_inference_batches_total", "Model calls (batches)", (s) => s.batches),
  counter("framefleet_worker_inference_seconds_total", "Inference time summed over threads (seconds)", (s) => (s.infer_ms === undefined ? undefined : s.infer_ms / 1000)),
  counter("framefleet_worker_inference_thread_restarts_total", "Inference threads restarted after a crash", (s) => s.thread_restarts),
];

/** Streamer figures per channel: the three tiers and the continuous auto and gaming channels. */
function readChannels(s: Of<"streamer">, field: "viewers" | "encodes" | "bytes" | "quality"): Sample[] {
  const channels = { ...s.tiers, ...s.continuous };
  return Object.entries(channels).map(([channel, figures]) => [{ channel }, figures[field]]);
}
const channelFamily = (name: string, type: Family["type"], help: string, field: "viewers" | "encodes" | "bytes" | "quality"): Family<Of<"streamer">> => ({
  name,
  type,
  help,
  labels: ["channel"],
  read: (s) => readChannels(s, field),
});

const STREAMER: Family<Of<"streamer">>[] = [
  gauge("framefleet_streamer_source_up", "1 while the frame source delivers, else 0", (s) => Number(s.source.up)),
  counter("framefleet_streamer_source_frames_total", "Frames taken from the source", (s) => s.source.frames),
  counter("framefleet_streamer_source_dropped_frames_total", "Frames a live source dropped because a newer one came first", (s) => s.source.dropped),
  counter("framefleet_streamer_source_restarts_total", "Times the source was opened again", (s) => s.source.restarts),
  channelFamily("framefleet_streamer_viewers", "gauge", "Viewers connected now, per channel (tier high, medium, low, or auto, gaming)", "viewers"),
  channelFamily("framefleet_streamer_encodes_total", "counter", "JPEG encodes per channel", "encodes"),
  channelFamily("framefleet_streamer_encoded_bytes_total", "counter", "Bytes of JPEGs encoded per channel (bytes)", "bytes"),
  channelFamily("framefleet_streamer_jpeg_quality", "gauge", "JPEG quality a channel encodes at now (1-100)", "quality"),
  counter("framefleet_streamer_viewers_connected_total", "Viewers that ever connected", (s) => s.viewers_total),
  counter("framefleet_streamer_viewers_timed_out_total", "Viewers closed because their socket took nothing for 30 s", (s) => s.viewers_timed_out),
  counter("framefleet_streamer_frames_delivered_total", "Frames handed to viewers' sockets, all viewers", (s) => s.delivered),
  counter("framefleet_streamer_frames_skipped_total", "Frames viewers skipped because a newer came while their socket was full", (s) => s.skipped),
  counter("framefleet_streamer_frames_repeated_total", "Frames written again because the source's frame was late (part of delivered)", (s) => s.repeated),
  counter("framefleet_streamer_sent_bytes_total", "Bytes written to viewers (bytes)", (s) => s.bytes),
  counter("framefleet_streamer_reactions_total", "Reactions viewers sent", (s) => s.reactions),
  gauge("framefleet_streamer_motion_ratio", "Smoothed share of pixels that changed between frames (0-1)", (s) => s.motion),
];

const VIEWERS: Family<Of<"viewers">>[] = [
  gauge("framefleet_viewers_streams", "Streams the load opens", (s) => s.count),
  counter("framefleet_viewers_frames_total", "Whole frames received by all viewers in the window (once the load ended)", (s) => s.frames),
  counter("framefleet_viewers_received_bytes_total", "Bytes received by all viewers (bytes; once the load ended)", (s) => s.bytes),
  counter("framefleet_viewers_failed_streams_total", "Streams that never answered a multipart stream (once the load ended)", (s) => s.failed),
];

/** What every role may add when `fail` impairment restarts it. */
export const RESTARTS: Family[] = [
  counter("framefleet_role_restarts_total", "Restarts after a crash that fail impairment caused", (s) => ("restarts" in s ? (s.restarts as number | undefined) : undefined)),
  counter("framefleet_role_downtime_seconds_total", "Time down between such a crash and the restart (seconds)", (s) => ("downtime_s" in s ? (s.downtime_s as number | undefined) : undefined)),
];

/** The families of each role, by its registry name. */
export const FAMILIES: Record<RoleInfo["role"], Family<never>[]> = {
  sender: SENDER,
  receiver: RECEIVER,
  manager: MANAGER,
  "grayscale-worker": WORKER,
  "recognition-worker": WORKER,
  streamer: STREAMER,
  viewers: VIEWERS,
};
