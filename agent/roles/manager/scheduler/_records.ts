// Durable job records for managers sharing a broker: one KV entry per job (who owns it, its plan, its state), and the liveness of each manager.
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { describeError, FleetError } from "../../../errors";
import type { Stripe } from "../../../imaging/stripes";
import type { OutputFormat, JobSource } from "../../../protocol";
import type { Detections, JobStateName, JobView } from "../../../wire";
import type { ObjectStore } from "@nats-io/obj";
import type { JobState, Task } from "./_tasks";
import type { SharedJob } from "./runner";

/** KV bucket of job records, kept a day. */
export const JOBS_BUCKET = "framefleet-jobs";
const JOBS_MAX_AGE_MS = 24 * 60 * 60 * 1000;
/** KV bucket of live managers: each puts its id every MANAGER_BEAT_MS; an entry older than MANAGER_TTL_MS is gone, and so is its manager. */
export const MANAGERS_BUCKET = "framefleet-managers";
export const MANAGER_BEAT_MS = 1000;
export const MANAGER_TTL_MS = 3000;

/** One job as every manager on the broker reads it. */
export interface JobRecord extends Pick<JobState, "id" | "op" | "params" | "input" | "width" | "height" | "channels" | "striped"> {
  /** The manager collecting its results now (the one that took it, or the one that took over). */
  manager: string;
  /** The manager whose result subject its tasks name (`framefleet.result.<origin>.<job>`). */
  origin: string;
  stripes: Stripe[];
  format: OutputFormat;
  source?: JobSource;
  /** True once every task is in the stream: only then was the job accepted (202). */
  published: boolean;
  state: JobStateName;
  progress: number;
  error?: { code: string; message: string; status: number };
  /** A done classify job's detections. */
  result?: Detections;
  /** A done image job's raw output: its Object Store name and shape. */
  output?: { object: string; width: number; height: number; channels: number };
  /** The worker of each task's kept result, by stripe index. */
  workers: (string | null)[];
}

/** The Object Store name of a job's raw output. */
export function toOutputObject(jobId: string): string {
  return `out-${jobId}`;
}

/** The record of a job as its owner holds it now; a done image's output is in `outputObject` (default `toOutputObject(job.id)`). */
export function toRecord(job: JobState, manager: string, origin: string, published: boolean, workers: (string | null)[], outputObject = toOutputObject(job.id)): JobRecord {
  const output = job.output && "data" in job.output ? { object: outputObject, width: job.output.width, height: job.output.height, channels: job.output.channels } : undefined;
  return {
    id: job.id,
    manager,
    origin,
    op: job.op,
    params: job.params,
    input: job.input,
    width: job.width,
    height: job.height,
    channels: job.channels,
    striped: job.striped,
    stripes: job.tasks.map((task) => task.stripe),
    format: job.format,
    source: job.source,
    published,
    state: job.state,
    progress: job.progress,
    ...(job.error ? { error: { code: job.error.code, message: job.error.message, status: job.error.status } } : {}),
    ...(job.output && "objects" in job.output ? { result: job.output } : {}),
    ...(output ? { output } : {}),
    workers,
  };
}

/** A job state rebuilt from its record, to collect its results (its inputs are in the stream, not here). */
export function fromRecord(record: JobRecord, settle: Pick<JobState, "resolve" | "reject">): JobState {
  const { id, op, params, input, width, height, channels, striped, format, source } = record;
  const job: JobState = { id, op, params, input, width, height, channels, striped, format, source, tasks: [], outputs: [], startedAt: performance.now(), state: "running", progress: 0, ...settle };
  job.tasks = record.stripes.map((stripe): Task => ({ id: `${id}/s${stripe.index}`, job, stripe, payload: new Uint8Array(0), attempt: 0, refused: 0, workerId: null, lastWorkerId: null, sentAt: performance.now(), takenAt: 0, timer: undefined, done: false }));
  return job;
}

/** The body of `GET /jobs/:id` for a record. */
export function toRecordView(record: JobRecord): JobView {
  const error = record.error ? describeError(new FleetError(record.error.code, record.error.message, record.error.status)) : undefined;
  return { id: record.id, state: record.state, progress: record.progress, ...(error === undefined ? {} : { error }), ...(record.result ? { result: record.result } : {}) };
}

/** Opens (creating when missing) the job records and the managers' liveness buckets. */
export async function openBuckets(nc: NatsConnection): Promise<{ jobs: KV; managers: KV }> {
  const kvm = new Kvm(nc);
  const jobs = await kvm.create(JOBS_BUCKET, { history: 1, ttl: JOBS_MAX_AGE_MS });
  const managers = await kvm.create(MANAGERS_BUCKET, { history: 1, ttl: MANAGER_TTL_MS });
  return { jobs, managers };
}

/** The record of `id`, or undefined. */
export async function readRecord(jobs: KV, id: string): Promise<JobRecord | undefined> {
  if (!/^[A-Za-z0-9_=-]{1,200}$/.test(id)) return undefined;
  const entry = await jobs.get(id);
  if (!entry || entry.operation !== "PUT" || entry.length === 0) return undefined;
  return entry.json<JobRecord>();
}

/** Writes job records to the KV bucket one after another per job, so the last state written is the last one saved. */
export class RecordWriter {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly jobs: KV,
    private readonly log: (event: string, fields?: Record<string, unknown>) => void,
  ) {}

  /** Saves `record` after the job's previous save; a failure is logged (`job_record_unsaved`), never thrown. */
  save(record: JobRecord): Promise<void> {
    const previous = this.pending.get(record.id) ?? Promise.resolve();
    const next = previous
      .then(() => this.jobs.put(record.id, JSON.stringify(record)))
      .then(() => {}, (error) => this.log("job_record_unsaved", { id: record.id, error: (error as Error).message }));
    this.pending.set(record.id, next);
    void next.then(() => this.pending.get(record.id) === next && this.pending.delete(record.id));
    return next;
  }

  /** Resolves once the saves of `id` so far are done. */
  settled(id: string): Promise<void> {
    return this.pending.get(id) ?? Promise.resolve();
  }

  /** Resolves once every save so far is done. */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending.values()]);
  }
}

/**
 * A job from the shared records (any manager's): its view, its format, and once done its output
 * (a classify job's detections from the record, an image's raw pixels from the Object Store).
 * @throws FleetError JOB_NOT_FOUND (404); PAYLOAD_GONE (410) when the output expired.
 */
export async function readSharedJob(jobs: KV, payloads: ObjectStore, id: string): Promise<SharedJob> {
  const record = await readRecord(jobs, id);
  if (!record) throw new FleetError("JOB_NOT_FOUND", `no job ${id} (unknown, or expired)`, 404);
  const view = toRecordView(record);
  if (record.result) return { view, format: record.format, output: record.result };
  if (!record.output) return { view, format: record.format };
  const data = await payloads.getBlob(record.output.object);
  if (!data) throw new FleetError("PAYLOAD_GONE", `job ${id}'s output ${record.output.object} has expired`, 410);
  const { width, height, channels } = record.output;
  return { view, format: record.format, output: { data, width, height, channels } };
}
