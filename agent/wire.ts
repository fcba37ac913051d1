// Schemas and types of everything on the control API's wire; no I/O. Server, client, controller and pages share them.
import { Type as t, type Static } from "@sinclair/typebox";

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
  /** How the control API is guarded: `token`, `loopback` (no token, loopback only) or `insecure` (no token on the network, `--insecure-no-auth`). */
  auth: t.Union([t.Literal("token"), t.Literal("loopback"), t.Literal("insecure")]),
  /** Largest event-loop lag over about the last second (ms), measured by the agent with a timer. */
  event_loop_lag_ms: t.Number(),
});
export type Health = Static<typeof Health>;

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

/**
 * Life of a role on an agent: running, then stopping, then ended (by itself or by stop) or
 * failed; `down` between a crash that `fail` impairment caused and the role's restart.
 */
export const RoleState = t.Union([t.Literal("running"), t.Literal("down"), t.Literal("stopping"), t.Literal("ended"), t.Literal("failed")]);
export type RoleState = Static<typeof RoleState>;

/** A role on an agent as `GET /v1/roles` lists it; `stats` are its live (or final) figures. */
export const RoleInfo = t.Object({
  id: t.String(),
  role: t.String(),
  state: RoleState,
  started_at: t.String(),
  options: t.Record(t.String(), t.Unknown()),
  stats: t.Record(t.String(), t.Unknown()),
  error: t.Optional(t.String()),
});
export type RoleInfo = Static<typeof RoleInfo>;

/** Latency percentiles in ms. */
export const Latency = t.Object({ p50: t.Number(), p99: t.Number() });

/** Per-topic figures of a receiver. */
export const TopicStats = t.Object({ received: t.Number(), saved: t.Number(), images_per_s: t.Number() });

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
  images_per_s: t.Number(),
  mbit_per_s: t.Number(),
  rate_5s: t.Number(),
  elapsed_s: t.Number(),
  latency_ms: Latency,
  errors: t.Record(t.String(), t.Number()),
  series: t.Array(t.Tuple([t.Number(), t.Number(), t.Number()])),
});
export type SenderStats = Static<typeof SenderStats>;

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

/** `POST /upload` answer once an image is queued. */
export const UploadAccepted = t.Object({ id: t.Number() });

/** `POST /upload` JSON body: the original Raspberry Pi experiment's format. */
export const UploadJson = t.Object(
  { topic: t.String(), filename: t.String(), image_b64: t.String() },
  { additionalProperties: true },
);

// ---------------------------------------------------------------------------------------
// The manager's job record as clients see it: GET /jobs/:id and the events of /events
// (the scheduler's, agent/roles/manager/scheduler). web/upload.js reads them through JSDoc.
// ---------------------------------------------------------------------------------------

/** The state of a job: queued until its first task goes out, running, then done or failed. */
export const JobStateName = t.Union([t.Literal("queued"), t.Literal("running"), t.Literal("done"), t.Literal("failed")]);
export type JobStateName = Static<typeof JobStateName>;

/** `GET /jobs/:id` (and the `job-state` event): `error` as `CODE: message` once failed; a done classify job also carries its `result`. */
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
  | { type: "job-started"; jobId: string; op: string; stripes: number }
  | ({ type: "job-state" } & JobView)
  | { type: "task-assigned"; jobId: string; taskId: string; stripe: number; attempt: number; workerId: string }
  | { type: "task-done"; jobId: string; taskId: string; stripe: number; attempt: number; workerId: string; ms: number; timing: TaskTiming }
  | { type: "task-retry"; jobId: string; taskId: string; stripe: number; attempt: number; fromWorker: string; reason: RetryReason; detail: string }
  | { type: "task-discarded"; taskId: string; attempt: number; workerId: string; reason: DiscardReason }
  | { type: "job-progress"; jobId: string; progress: number }
  | { type: "job-done"; jobId: string; ms: number }
  | { type: "job-failed"; jobId: string; error: ErrorBody };
