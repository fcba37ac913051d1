// Schemas and types of everything on the control API's wire; no I/O. Server, client, controller and pages share them.
import { Type as t, type Static, type TSchema } from "@sinclair/typebox";
import { FleetError } from "./errors";
import type { TelemetrySample } from "./telemetry";

/** How an agent's endpoints are guarded: `token`, `loopback` (no token, loopback only) or `insecure` (no token on the network, `--insecure-no-auth`). */
export const AuthMode = t.Union([t.Literal("token"), t.Literal("loopback"), t.Literal("insecure")]);

/** Body of every 4xx/5xx answer: a stable UPPER_SNAKE code and a sentence for people. */
export const ErrorBody = t.Object({ error: t.String(), message: t.String() });
export type ErrorBody = Static<typeof ErrorBody>;

/** `GET /v1/health`: what this agent is and runs. Memory in bytes. */
export const Health = t.Object({
  agent: t.String(),
  version: t.String(),
  host: t.String(),
  arch: t.String(),
  cpus: t.Number(),
  memory: t.Object({ total: t.Number(), free: t.Number(), rss: t.Number() }),
  uptime_s: t.Number(),
  roles: t.Number(),
  auth: AuthMode,
  /** Largest event-loop lag over about the last second (ms), measured by the agent with a timer. */
  event_loop_lag_ms: t.Number(),
  /** The box's latest telemetry sample (agent/telemetry: CPU per core, memory, network, disk, temperature, throttling); null before the first. */
  telemetry: t.Unsafe<TelemetrySample | null>(t.Union([t.Object({ t: t.Number() }), t.Null()])),
});
export type Health = Static<typeof Health>;

/**
 * `GET /v1/clock`: the agent's wall clock (ms since epoch) when it received the call and when
 * it answered, the t2 and t3 of an NTP exchange (RFC 5905 section 8); the caller keeps t1 and t4.
 */
export const ClockReading = t.Object({ received_at_ms: t.Number(), sent_at_ms: t.Number() }, { additionalProperties: false });
export type ClockReading = Static<typeof ClockReading>;

/**
 * Impairment a role injects itself (the kernel here has no netem, and a Pi user may not be
 * root): `delay` (+ uniform `jitter`) before each outgoing message, `loss` (probability a
 * request or protocol message is dropped, so the peer sees a timeout), `fail` (probability
 * per second that the role crashes; it comes back after `downtime`), `rate` (token-bucket
 * cap on bytes sent, e.g. `100Mbit`), `cpu` (speed factor: after each unit of work the role
 * idles `used x (1/cpu - 1)`, so 0.25 emulates a board 4x slower). `seed` makes the random
 * draws repeatable. `mode = "netem"` asks for the kernel's netem instead (root only).
 */
export const Impairment = t.Object(
  {
    delay: t.Optional(t.String()),
    jitter: t.Optional(t.String()),
    loss: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    fail: t.Optional(t.Number({ minimum: 0, maximum: 1 })),
    downtime: t.Optional(t.String()),
    rate: t.Optional(t.String()),
    cpu: t.Optional(t.Number({ exclusiveMinimum: 0, maximum: 1 })),
    seed: t.Optional(t.Integer()),
    mode: t.Optional(t.Union([t.Literal("app"), t.Literal("netem")])),
  },
  { additionalProperties: false },
);
export type Impairment = Static<typeof Impairment>;

/** `POST /v1/roles` body: the role name, its options (checked against the role's own schema) and its impairment. */
export const StartRoleRequest = t.Object(
  {
    role: t.String({ minLength: 1 }),
    options: t.Optional(t.Record(t.String(), t.Unknown())),
    impair: t.Optional(Impairment),
  },
  { additionalProperties: false },
);
export type StartRoleRequest = Static<typeof StartRoleRequest>;

/** `GET /v1/logs` answer: the agent's recent JSON log lines with their numbers, oldest first; `next` is the `after` of a follow-up call. */
export const LogLines = t.Object({ lines: t.Array(t.Object({ seq: t.Integer(), text: t.String() })), next: t.Integer() });
export type LogLines = Static<typeof LogLines>;

/**
 * Life of a role on an agent: running, then stopping, then ended (by itself or by stop) or
 * failed; `down` between a crash that `fail` impairment caused and the role's restart.
 */
export const RoleState = t.Union([t.Literal("running"), t.Literal("down"), t.Literal("stopping"), t.Literal("ended"), t.Literal("failed")]);
export type RoleState = Static<typeof RoleState>;

/** Latency percentiles in ms. */
export const Latency = t.Object({ p50: t.Number(), p99: t.Number() });

/** Per-topic figures of a receiver. */
export const TopicStats = t.Object({ received: t.Number(), saved: t.Number(), images_per_s: t.Number() });

/** What an impaired role reports under `impairment` in its figures (agent/impair: `describe()`): what is emulated, with the seed to repeat it. */
export const ImpairmentReport = t.Object({
  /** Always "app": every figure of this role is measured under emulated conditions. */
  emulated: t.Literal("app"),
  seed: t.Number(),
  delay_ms: t.Optional(t.Number()),
  jitter_ms: t.Optional(t.Number()),
  loss: t.Optional(t.Number()),
  rate_bit_s: t.Optional(t.Number()),
  cpu: t.Optional(t.Number()),
  fail: t.Optional(t.Number()),
  downtime_ms: t.Optional(t.Number()),
  /** Messages dropped so far. */
  dropped: t.Number(),
  /** Dropped requests a server holds unanswered right now. */
  held: t.Number(),
  /** Total waits imposed so far by `rate` and by `cpu` (ms). */
  throttled_ms: t.Number(),
  idled_ms: t.Number(),
});
export type ImpairmentReport = Static<typeof ImpairmentReport>;

/**
 * Figures of a receiver (`GET /stats` on its port, and its role stats). Rates are
 * averages from the first request to now (or to stop); `rate_5s` is the last 5 s.
 */
export const ReceiverStats = t.Object({
  role: t.Literal("receiver"),
  port: t.Number(),
  /** `--ack`: when its 202 goes (written, fsync or queued). */
  ack: t.Union([t.Literal("written"), t.Literal("fsync"), t.Literal("queued")]),
  received: t.Number(),
  saved: t.Number(),
  failed: t.Number(),
  rejected: t.Number(),
  busy: t.Number(),
  queue_depth: t.Number(),
  queue_bytes: t.Number(),
  /** Temp files of crashed receivers removed from OUT/.framefleet/tmp/ on start. */
  recovered_temp_files: t.Number(),
  /** Group commits run (`--ack fsync`): each syncs every file written since the one before. */
  sync_passes: t.Number(),
  bytes: t.Number(),
  images_per_s: t.Number(),
  mbit_per_s: t.Number(),
  rate_5s: t.Number(),
  elapsed_s: t.Number(),
  topics: t.Record(t.String(), TopicStats),
  latency_ms: Latency,
  series: t.Array(t.Tuple([t.Number(), t.Number(), t.Number()])),
  last_file: t.Optional(t.String()),
  impairment: t.Optional(ImpairmentReport),
});
export type ReceiverStats = Static<typeof ReceiverStats>;

/**
 * Figures of a sender; `sent` counts images issued (retries not counted again), and
 * `sent = ok + failed + in_flight`. Any 2xx is ok. `retries` counts 503s honoured;
 * `unreachable` counts attempts that found the target down (refused, reset, timed out),
 * each retried after a backoff until the sender stops sending (then the image is failed).
 */
export const SenderStats = t.Object({
  role: t.Literal("sender"),
  sent: t.Number(),
  ok: t.Number(),
  failed: t.Number(),
  retries: t.Number(),
  unreachable: t.Number(),
  in_flight: t.Number(),
  bytes: t.Number(),
  frames: t.Number(),
  /** Frames due at `--fps` that the sender did not take in time because it fell behind, to 0.01 frame (its lag at the last frame counts); 0 without `--fps`. */
  frames_skipped: t.Number(),
  images_per_s: t.Number(),
  mbit_per_s: t.Number(),
  rate_5s: t.Number(),
  elapsed_s: t.Number(),
  latency_ms: Latency,
  errors: t.Record(t.String(), t.Number()),
  series: t.Array(t.Tuple([t.Number(), t.Number(), t.Number()])),
  impairment: t.Optional(ImpairmentReport),
});
export type SenderStats = Static<typeof SenderStats>;

/** Figures of a worker role's session with its manager (grayscale and recognition workers alike). */
const WorkerSessionStats = t.Object({
  role: t.Union([t.Literal("grayscale-worker"), t.Literal("recognition-worker")]),
  manager: t.String(),
  worker_id: t.String(),
  /** Welcomed by the manager now (its proof checked). */
  connected: t.Boolean(),
  tasks_done: t.Number(),
  tasks_failed: t.Number(),
  /** Sessions after the first: redials that reached the manager. */
  reconnects: t.Number(),
  /** Tasks the worker offers the manager to run at once. */
  credit: t.Number(),
  in_flight: t.Number(),
  images_per_s: t.Number(),
  rate_5s: t.Number(),
  /** Time spent running tasks, summed over the tasks run at once (ms). */
  busy_ms: t.Number(),
  series: t.Array(t.Tuple([t.Number(), t.Number(), t.Number()])),
  impairment: t.Optional(ImpairmentReport),
});

/** Running totals of a recognition worker's inference pool: images and model calls (batches), inference time summed over threads (ms). */
export const InferencePoolStats = t.Object({
  threads: t.Number(),
  batch: t.Number(),
  queued: t.Number(),
  images: t.Number(),
  batches: t.Number(),
  infer_ms: t.Number(),
  thread_restarts: t.Number(),
});
export type InferencePoolStats = Static<typeof InferencePoolStats>;

/** What a recognition worker adds to its session's figures: the model it runs and its pool's totals. */
export const RecognitionWorkerFigures = t.Composite([t.Object({ model: t.String() }), InferencePoolStats]);
export type RecognitionWorkerFigures = Static<typeof RecognitionWorkerFigures>;

/** Figures of a worker role: its session; a recognition worker's model and pool besides. */
export const WorkerStats = t.Intersect([WorkerSessionStats, t.Partial(RecognitionWorkerFigures)]);
export type WorkerStats = Static<typeof WorkerStats>;

/** Figures of one streamer tier: viewers now; encodes and bytes (its JPEGs) as running totals. */
export const TierStats = t.Object({
  viewers: t.Number(),
  encodes: t.Number(),
  bytes: t.Number(),
  /** Encodes per second over the last 5 complete seconds. */
  encodes_per_s: t.Number(),
  /** Bytes of the last JPEG encoded, or the estimate the auto policy uses before one was. */
  bytes_per_frame: t.Number(),
  quality: t.Number(),
  scale: t.Number(),
});
export type TierStats = Static<typeof TierStats>;

/** A streamer's quality tier, best first (agent/roles/streamer/tiers.ts). */
const Tier = t.Union([t.Literal("high"), t.Literal("medium"), t.Literal("low")]);

/** Figures of a continuous channel (auto, gaming): viewers now, encodes and bytes as running totals, and its quality now. */
export const ChannelStats = t.Object({
  viewers: t.Number(),
  encodes: t.Number(),
  bytes: t.Number(),
  encodes_per_s: t.Number(),
  quality: t.Number(),
});
export type ChannelStats = Static<typeof ChannelStats>;

/** Figures of one streamer viewer: its channel (a tier, or the continuous `auto`/`gaming`) and that channel's JPEG quality now, frames handed to its socket, frames it skipped (newer ones came while its socket was full), bytes. */
export const ViewerStats = t.Object({
  id: t.Number(),
  tier: t.Union([Tier, t.Literal("auto"), t.Literal("gaming")]),
  quality: t.Number(),
  mode: t.String(),
  client: t.String(),
  delivered: t.Number(),
  skipped: t.Number(),
  bytes: t.Number(),
});
export type ViewerStats = Static<typeof ViewerStats>;

/** What a streamer reports (`GET /stats`, the role's figures). */
export const StreamerStats = t.Object({
  role: t.Literal("streamer"),
  port: t.Number(),
  /** The source: up or down (with its error), frames per second over 2 s, frames taken, frames a live source dropped (newer came first), reopenings. */
  source: t.Object({
    spec: t.String(),
    up: t.Boolean(),
    fps: t.Number(),
    frames: t.Number(),
    dropped: t.Number(),
    restarts: t.Number(),
    error: t.Optional(t.String()),
    kind: t.String(),
  }),
  tiers: t.Record(Tier, TierStats),
  /** The original's continuous-quality channels: `auto` (100 / viewers, clamped at 10) and `gaming` (follows motion). */
  continuous: t.Object({ auto: ChannelStats, gaming: ChannelStats }),
  viewers: t.Array(ViewerStats),
  /** Viewers connected now, and all that ever connected. */
  viewer_count: t.Number(),
  viewers_total: t.Number(),
  /** Viewers closed because their socket took nothing for 30 s (a connection that died silently). */
  viewers_timed_out: t.Number(),
  /** Totals over every viewer, past and present. */
  delivered: t.Number(),
  skipped: t.Number(),
  bytes: t.Number(),
  /** Parts written again at a tick where the source's frame was late (part of `delivered`). */
  repeated: t.Number(),
  /** Smoothed share of pixels that changed between frames, 0..1. */
  motion: t.Number(),
  reactions: t.Number(),
  /** The auto viewers' uplink budget (bit/s), or null for the 100 / viewers rule. */
  uplink_bit_s: t.Union([t.Number(), t.Null()]),
  /** CPU time of the whole process (user + system, s), and seconds since the role started: CPU share = delta cpu_s / delta uptime_s. */
  cpu_s: t.Number(),
  uptime_s: t.Number(),
  /** Resident memory of the process (bytes). */
  rss: t.Number(),
});
export type StreamerStats = Static<typeof StreamerStats>;

/** What a streamer's `GET /stats?client=NAME` answers: the figures the viewer page shows, a few hundred bytes however many viewers there are. */
export const StreamerClientStats = t.Object({
  viewer_count: t.Number(),
  reactions: t.Number(),
  motion: t.Number(),
  source: t.Object({ up: t.Boolean(), fps: t.Number() }),
  /** The viewer that chose this `?client=` name (the newest if several), or null when none is connected. */
  viewer: t.Union([ViewerStats, t.Null()]),
});
export type StreamerClientStats = Static<typeof StreamerClientStats>;

/** Percentiles and maximum of a viewer load's times (ms). */
const LoadTimes = t.Object({ p50: t.Number(), p99: t.Number(), max: t.Number() });

/** What a viewer load measured (the `viewers` role's figures once it ended). */
export const ViewerLoadFigures = t.Object({
  viewers: t.Number(),
  /** Streams that never answered a multipart stream (refused, 4xx/5xx, closed before a frame). */
  failed: t.Number(),
  /** Whole frames received by all viewers in the window. */
  frames: t.Number(),
  /** Mean and lowest frames per second of one viewer in the window. */
  fps_per_viewer: t.Number(),
  fps_min: t.Number(),
  /** Time between two frames of one viewer (ms), pooled over viewers. */
  gap_ms: LoadTimes,
  /** From the connection being made (TCP established) to the first whole frame (ms). */
  first_frame_ms: LoadTimes,
  /** Bytes received by all viewers in the whole run (head, parts and framing). */
  bytes: t.Number(),
  mbit_per_s: t.Number(),
  /** The first error seen, if any. */
  error: t.Optional(t.String()),
});
export type ViewerLoadFigures = Static<typeof ViewerLoadFigures>;

/** Figures of a `viewers` role: its target and count, and once the load ended (`done`) what it measured. */
export const ViewersStats = t.Intersect([
  t.Object({ role: t.Literal("viewers"), target: t.String(), count: t.Number(), elapsed_s: t.Number(), done: t.Boolean() }),
  t.Partial(ViewerLoadFigures),
]);
export type ViewersStats = Static<typeof ViewersStats>;

/**
 * Mean time per task (ms) in each part of its trip (agent/manager TaskTiming; `process`
 * includes a worker's decode of a whole file), and per job: the manager's decode of an
 * upload it cuts into stripes (files sent whole are not decoded there), and the whole job.
 */
export const JobTiming = t.Object({ decode: t.Number(), send: t.Number(), wait: t.Number(), process: t.Number(), receive: t.Number(), job: t.Number() });
export type JobTiming = Static<typeof JobTiming>;

/** Figures of a manager: jobs by state, retransmissions, throughput of finished jobs, where the time went. */
export const ManagerStats = t.Object({
  role: t.Literal("manager"),
  /** How its endpoints are guarded (the agent's mode; absent when the manager runs in process). */
  auth: t.Optional(AuthMode),
  port: t.Number(),
  worker_port: t.Number(),
  workers: t.Number(),
  jobs_accepted: t.Number(),
  jobs_queued: t.Number(),
  jobs_running: t.Number(),
  jobs_done: t.Number(),
  jobs_failed: t.Number(),
  tasks_retried: t.Number(),
  tasks_discarded: t.Number(),
  /** Bytes the outputs of finished jobs still kept hold (at most `--max-results`, but for one output larger than it). */
  outputs_bytes: t.Number(),
  images_per_s: t.Number(),
  mbit_per_s: t.Number(),
  elapsed_s: t.Number(),
  timing_ms: JobTiming,
  series: t.Array(t.Tuple([t.Number(), t.Number(), t.Number()])),
});
export type ManagerStats = Static<typeof ManagerStats>;

/** One row of the manager's `GET /workers`: credit, load and last heartbeat of a worker. */
export const WorkerRow = t.Object({
  id: t.String(),
  credit: t.Number(),
  in_flight: t.Number(),
  done: t.Number(),
  cpu_percent: t.Number(),
  rss_mb: t.Number(),
  last_heard_ms: t.Number(),
});
export type WorkerRow = Static<typeof WorkerRow>;

/** Params of a `classify` job and task: optional limits, nothing else (defaults 0.5 and 20). */
export const ClassifyParams = t.Object(
  {
    minScore: t.Optional(t.Number({ minimum: 0, maximum: 1, description: "objects scoring under this are left out (default 0.5)" })),
    maxObjects: t.Optional(t.Integer({ minimum: 1, maximum: 100, description: "most objects answered (default 20)" })),
  },
  { additionalProperties: false },
);
export type ClassifyParams = Static<typeof ClassifyParams>;

/** One object found: COCO label, score 0..1, box `[x, y, width, height]` in pixels of the uploaded image. */
export const DetectedObject = t.Object({ label: t.String(), score: t.Number(), box: t.Tuple([t.Number(), t.Number(), t.Number(), t.Number()]) });
/** The result of a `classify` job (`GET /jobs/:id/result`): the objects, and the 5 best distinct labels. */
export const Detections = t.Object({
  objects: t.Array(DetectedObject),
  top5: t.Array(t.Object({ label: t.String(), score: t.Number() })),
});
export type Detections = Static<typeof Detections>;

/** `POST /upload` answer (202) once an image is acknowledged: its number, and when the receiver answers (`--ack`). */
export const UploadAccepted = t.Object({ id: t.Number(), ack: t.Union([t.Literal("written"), t.Literal("fsync"), t.Literal("queued")]) });
export type UploadAccepted = Static<typeof UploadAccepted>;

/** `POST /upload` JSON body: the original Raspberry Pi experiment's format; `sent_at` (sender's clock less its `--clock-offset`, ms since epoch) optional. */
export const UploadJson = t.Object(
  { topic: t.String(), filename: t.String(), image_b64: t.String(), sent_at: t.Optional(t.Number()) },
  { additionalProperties: true },
);
export type UploadJson = Static<typeof UploadJson>;

/** Headers of a binary `POST /upload` (`Content-Type: image/jpeg`): its topic, the file's name, the sender's clock less its `--clock-offset` (ms since epoch). */
export const UPLOAD_HEADERS = { topic: "x-topic", filename: "x-filename", sentAt: "x-sent-at" } as const;

/**
 * The `clockOffsetMs` option of senders and receivers: this agent's wall clock minus the
 * controller's (ms), as the controller measured it over `GET /v1/clock`. A sender stamps
 * `X-Sent-At` with its clock less the offset, a receiver takes its own offset off its save
 * time, so latencies from one box to another read on one clock. Bounded to a day either way.
 */
export const ClockOffsetMs = t.Number({ minimum: -86_400_000, maximum: 86_400_000, default: 0, description: "this agent's clock minus the controller's (ms), as `controller run` measures it; corrects X-Sent-At latencies" });

/** What the agent adds to the figures of a role that `fail` impairment restarts (agent/impair/restart.ts). */
const RestartFigures = t.Partial(t.Object({ restarts: t.Number(), downtime_s: t.Number() }));

/** A role on an agent as `GET /v1/roles` lists it, with `stats` its live (or final) figures, typed by its `role`. */
function toRoleInfo<Role extends TSchema, Stats extends TSchema>(role: Role, stats: Stats) {
  return t.Object({
    id: t.String(),
    role,
    state: RoleState,
    started_at: t.String(),
    options: t.Record(t.String(), t.Unknown()),
    stats: t.Intersect([stats, RestartFigures]),
    error: t.Optional(t.String()),
  });
}

/** A role on an agent as `GET /v1/roles` lists it: a union by `role`, so `stats` reads typed once `role` is checked. */
export const RoleInfo = t.Union([
  toRoleInfo(t.Literal("sender"), SenderStats),
  toRoleInfo(t.Literal("receiver"), ReceiverStats),
  toRoleInfo(t.Literal("manager"), ManagerStats),
  toRoleInfo(t.Union([t.Literal("grayscale-worker"), t.Literal("recognition-worker")]), WorkerStats),
  toRoleInfo(t.Literal("streamer"), StreamerStats),
  toRoleInfo(t.Literal("viewers"), ViewersStats),
]);
export type RoleInfo = Static<typeof RoleInfo>;
/** The info of a role named `Name`: `RoleInfoOf<"manager">["stats"]` is ManagerStats. */
export type RoleInfoOf<Name extends RoleInfo["role"]> = Extract<RoleInfo, { role: Name }>;
/** Live or final figures of any role. */
export type AnyRoleStats = RoleInfo["stats"];

/** Whether `info` is of one of the roles `names`; narrows its `stats` to theirs. */
export function isRole<Name extends RoleInfo["role"]>(info: RoleInfo, ...names: Name[]): info is RoleInfoOf<Name> {
  return (names as string[]).includes(info.role);
}

/**
 * `info` as a role of `names`, its stats typed.
 * @throws FleetError WRONG_ROLE (502) when the agent reports another role than the one started.
 */
export function checkRole<Name extends RoleInfo["role"]>(info: RoleInfo, ...names: Name[]): RoleInfoOf<Name> {
  if (!isRole(info, ...names)) throw new FleetError("WRONG_ROLE", `role ${info.id} is a ${info.role}, where a ${names.join(" or ")} was started`, 502);
  return info;
}

// ---------------------------------------------------------------------------------------
// The manager's job record as clients see it: GET /jobs/:id and the events of /events
// (the scheduler's, agent/roles/manager/scheduler). web/upload.js reads them through JSDoc.
// ---------------------------------------------------------------------------------------

/** The state of a job: queued until its first task goes out, running, then done or failed. */
export const JobStateName = t.Union([t.Literal("queued"), t.Literal("running"), t.Literal("done"), t.Literal("failed")]);
export type JobStateName = Static<typeof JobStateName>;

/** `GET /jobs/:id` (and the `job-state` event): `error` as `CODE: message` once failed; a done classify job also carries its `result`. */
/** One parameter of an op as `GET /ops` describes it: its JSON type and bounds, from the task contract's schema. */
export const OpParamView = t.Object({ type: t.String(), minimum: t.Optional(t.Number()), maximum: t.Optional(t.Number()), optional: t.Boolean() });
export type OpParamView = Static<typeof OpParamView>;

/** `GET /ops` on a manager: every op of the task contract in its order, who runs it, its params (the upload page builds its form from it). */
export const OpsView = t.Object({
  ops: t.Array(t.Object({ name: t.String(), worker: t.Union([t.Literal("image"), t.Literal("recognition")]), params: t.Record(t.String(), OpParamView) })),
});
export type OpsView = Static<typeof OpsView>;

/** `POST /jobs` without `?wait`: 202 with the id of every job made, in the order of the images. */
export const JobsAccepted = t.Object({ jobs: t.Array(t.Object({ id: t.String() })) });
export type JobsAccepted = Static<typeof JobsAccepted>;

export const JobView = t.Object({
  id: t.String(),
  state: JobStateName,
  progress: t.Number({ minimum: 0, maximum: 1 }),
  error: t.Optional(t.String()),
  result: t.Optional(Detections),
});
export type JobView = Static<typeof JobView>;

/** Why an attempt was given up and the task sent again. */
export type RetryReason = "timeout" | "disconnect" | "heartbeat" | "error" | "bad-result" | "refused";

/** Why a result or error from a worker was not taken. */
export type DiscardReason = "stale-attempt" | "duplicate" | "job-over" | "not-held";

/**
 * Where the time of one task attempt went (ms, manager clock unless said): `send` from the
 * assign being queued until the kernel took its last byte; `wait` and `process` as the worker
 * reports them (queued behind its credit, running the op); `receive` the rest of the round
 * trip (the result's transfer and the worker's reply path), never below 0.
 */
export interface TaskTiming {
  send: number;
  wait: number;
  process: number;
  receive: number;
}

/** Every event of the manager's `/events` WebSocket (one JSON object a message), told apart by `type`. */
export type JobEvent =
  | { type: "worker-joined"; workerId: string; remote: string; ops: string[]; credit: number }
  | { type: "worker-rejected"; remote: string; reason: string }
  | { type: "worker-left"; workerId: string; reason: string }
  /** `manager` (on a broker): the manager that took the job, or finished it (another one when its first died). */
  | { type: "job-started"; jobId: string; op: string; stripes: number; manager?: string }
  | ({ type: "job-state" } & JobView)
  | { type: "task-assigned"; jobId: string; taskId: string; stripe: number; attempt: number; workerId: string }
  | { type: "task-done"; jobId: string; taskId: string; stripe: number; attempt: number; workerId: string; ms: number; timing: TaskTiming }
  | { type: "task-retry"; jobId: string; taskId: string; stripe: number; attempt: number; fromWorker: string; reason: RetryReason; detail: string }
  | { type: "task-discarded"; taskId: string; attempt: number; workerId: string; reason: DiscardReason }
  | { type: "job-progress"; jobId: string; progress: number }
  | { type: "job-done"; jobId: string; ms: number; manager?: string }
  | { type: "job-failed"; jobId: string; error: ErrorBody };
