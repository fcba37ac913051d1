// The manager's scheduling over NATS JetStream: tasks published on the work-queue streams, results collected from the result stream, retries and MaxDeliver left to the broker, exactly-once kept here.
import { DeliverPolicy, jetstream, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import type { Subscription } from "@nats-io/transport-node";
import { FleetError } from "../../../errors";
import type { RawImage } from "../../../imaging/ops";
import { INPUT_FAULTS, type ImageOp, type Job, type Result, type TaskError } from "../../../protocol";
import {
  configureConsumers,
  connectBroker,
  ensureStreams,
  HEADERS,
  openPayloads,
  packMessage,
  RESULT_STREAM,
  toResultSubject,
  toSubjectToken,
  toTaskSubject,
  unpackMessage,
  WORKER_BEATS,
  type BrokerConnection,
} from "../../../broker";
import type { Detections } from "../../../wire";
import { countStripes, toDiscardReason } from "./_delivery";
import { createEmitter, type EventListener } from "./_events";
import { JobTable, toJobView } from "./jobs";
import { checkResult, dropInputs, isSettled, joinOutputs, planJob, toAssign, toTiming, type JobOutput, type JobState, type Task } from "./_tasks";
import type { JobRunner } from "./runner";
import type { WorkerSnapshot } from "./_workers";

/** What the broker scheduler needs: where the broker is, who this manager is, how patient it is. */
export interface BrokerSchedulerOptions {
  /** `nats://HOST:PORT`. */
  url: string;
  /** The agent's token: the NATS token. */
  token?: string;
  /** This manager's id, a subject token: its results arrive on `framefleet.result.<id>.>`. */
  managerId: string;
  /** AckWait of the workers' consumers: how long an attempt may go without working() (ms). */
  taskTimeoutMs: number;
  /** MaxDeliver of the workers' consumers: attempts per task. */
  maxAttempts: number;
  maxJobs: number;
  maxOutputBytes: number;
  log(event: string, fields?: Record<string, unknown>): void;
}

/** A worker's last heartbeat on WORKER_BEATS. */
interface Beat {
  workerId: string;
  ops: string[];
  credit: number;
  cores: number;
  inFlight: number;
  done: number;
  cpuPercent: number;
  rssBytes: number;
  heardAt: number;
}

/** A worker silent this long (ms) is no longer counted. */
const BEAT_SILENCE_MS = 3000;

/** Where a published task is: its stream and sequence (deleted when its job fails), its payload object if any. */
interface Published {
  stream: string;
  seq: number;
  object?: string;
}

/**
 * Runs jobs through the broker with the TCP scheduler's job table, plans, result checks and
 * events. Each task is one message on `framefleet.task.<op>` (Nats-Msg-Id = task id; payloads
 * over 512 KiB through the Object Store); the workers' consumer redelivers it after AckWait
 * (`taskTimeoutMs`) or a nak, at most MaxDeliver (`maxAttempts`) times. A result is taken only
 * for the newest attempt heard of a task still running, never when its worker marked it late;
 * the rest are discarded (`task-discarded`). An input fault fails the job at once, an error of
 * the last attempt or a MaxDeliver advisory fails it with its reason and its messages are
 * deleted from the stream.
 */
export class BrokerScheduler implements JobRunner, AsyncDisposable {
  readonly jobs: JobTable;
  /** No worker port: workers pull from the broker. */
  readonly port = 0;
  private readonly emitter = createEmitter();
  private readonly beats = new Map<string, Beat>();
  private readonly published = new Map<string, Published>();
  private readonly subscriptions: Subscription[] = [];
  private results?: Promise<void>;
  private stopped: Promise<void> | null = null;
  private jobSeq = 0;

  private constructor(
    private readonly options: BrokerSchedulerOptions,
    private readonly broker: BrokerConnection,
    private readonly js: JetStreamClient,
    private readonly payloads: ObjectStore,
  ) {
    this.jobs = new JobTable(options.maxJobs, options.maxOutputBytes, (job) => this.emitter.emit({ type: "job-state", ...toJobView(job) }));
  }

  /**
   * Connects, creates the streams where missing, sets the workers' consumers to AckWait =
   * `taskTimeoutMs` and MaxDeliver = `maxAttempts`, and starts collecting results.
   * @throws FleetError as `connectBroker`; BROKER_SETUP_FAILED (503).
   */
  static async open(options: BrokerSchedulerOptions): Promise<BrokerScheduler> {
    const broker = await connectBroker(options.url, `framefleet manager ${options.managerId}`, options.token);
    try {
      await ensureStreams(broker.jsm);
      await configureConsumers(broker.jsm, { ackWaitMs: options.taskTimeoutMs, maxAttempts: options.maxAttempts });
      const scheduler = new BrokerScheduler(options, broker, jetstream(broker.nc), await openPayloads(broker.nc));
      await scheduler.listen();
      return scheduler;
    } catch (error) {
      await broker.nc.close().catch(() => {});
      if (error instanceof FleetError) throw error;
      throw new FleetError("BROKER_SETUP_FAILED", `--broker ${options.url}: ${(error as Error).message}`, 503, { cause: error });
    }
  }

  /** Subscribes to the event log; returns the unsubscribe function. */
  on(listener: EventListener): () => void {
    return this.emitter.on(listener);
  }

  /** Workers heard on WORKER_BEATS within the last 3 s. */
  workerList(): WorkerSnapshot[] {
    const now = performance.now();
    return this.liveBeats().map((beat) => ({ ...beat, remote: "broker", failed: 0, silentMs: Math.round(now - beat.heardAt) }));
  }

  /** Live workers offering `op`. */
  workersFor(op: string): number {
    return this.liveBeats().filter((beat) => beat.ops.includes(op)).length;
  }

  /**
   * Records a checked job, publishes its tasks and resolves with its output, as
   * `Scheduler.submit`; rejects with PUBLISH_FAILED (503) when the broker takes no task.
   */
  submit(job: Job & { op: "classify" }): Promise<Detections>;
  submit(job: Job & { op: ImageOp }): Promise<RawImage>;
  submit(job: Job): Promise<JobOutput>;
  submit(job: Job): Promise<JobOutput> {
    if (this.stopped) return Promise.reject(new FleetError("SCHEDULER_STOPPED", "scheduler stopped; no new jobs", 503));
    const id = job.id ?? `job-${++this.jobSeq}`;
    const settled = Promise.withResolvers<JobOutput>();
    const credit = this.liveBeats().filter((beat) => beat.ops.includes(job.op)).reduce((sum, beat) => sum + beat.credit, 0);
    const state = planJob(job, id, countStripes(job, credit), settled);
    try {
      this.jobs.add(state);
    } catch (error) {
      return Promise.reject(error);
    }
    this.emitter.emit({ type: "job-started", jobId: id, op: state.op, stripes: state.tasks.length });
    this.publishTasks(state).catch((error) => this.failJob(state, new FleetError("PUBLISH_FAILED", `the broker took no task: ${(error as Error).message}`, 503, { cause: error })));
    return settled.promise;
  }

  /** Stops taking jobs, fails the pending ones with SCHEDULER_STOPPED (their tasks deleted), drains the connection. */
  stop(reason = "manager stopping"): Promise<void> {
    this.stopped ??= (async () => {
      for (const job of this.jobs.unsettled()) this.failJob(job, new FleetError("SCHEDULER_STOPPED", `scheduler stopped (${reason}) before job ${job.id} finished`, 503));
      await Bun.sleep(0);
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      await this.broker.nc.drain().catch(() => {});
      await this.results;
    })();
    return this.stopped;
  }

  /** Stops with the default reason (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private liveBeats(): Beat[] {
    const now = performance.now();
    return [...this.beats.values()].filter((beat) => now - beat.heardAt < BEAT_SILENCE_MS);
  }

  /** Worker beats, MaxDeliver advisories and this manager's results. */
  private async listen(): Promise<void> {
    const { nc } = this.broker;
    this.subscriptions.push(
      nc.subscribe(WORKER_BEATS, { callback: (_error, msg) => this.takeBeat(msg.json<Beat>()) }),
      nc.subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.>", { callback: (_error, msg) => void this.takeAdvisory(msg.json()).catch(() => {}) }),
    );
    const subject = toResultSubject(this.options.managerId, ">");
    const consumer = await this.js.consumers.get(RESULT_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    this.results = (async () => {
      for await (const msg of messages) await this.takeResult(msg).catch((error) => this.options.log("broker_result_unreadable", { seq: msg.seq, error: (error as Error).message }));
    })();
  }

  private takeBeat(beat: Beat): void {
    if (typeof beat?.workerId !== "string" || !Array.isArray(beat.ops)) return;
    const known = this.beats.has(beat.workerId);
    this.beats.set(beat.workerId, { ...beat, heardAt: performance.now() });
    if (!known) this.emitter.emit({ type: "worker-joined", workerId: beat.workerId, remote: "broker", ops: beat.ops as never, credit: beat.credit });
  }

  /** Publishes every task of a job; the first one published makes it running. */
  private async publishTasks(job: JobState): Promise<void> {
    const reply = toResultSubject(this.options.managerId, toSubjectToken(job.id));
    for (const task of job.tasks) {
      if (isSettled(job)) return;
      const assign = { ...toAssign(task), attempt: 1 };
      const packed = await packMessage(assign, this.payloads, `t-${toSubjectToken(task.id)}`, { [HEADERS.task]: task.id, [HEADERS.reply]: reply });
      task.sentAt = performance.now();
      const ack = await this.js.publish(toTaskSubject(job.op as ImageOp), packed.body, { msgID: task.id, headers: packed.headers });
      this.published.set(task.id, { stream: ack.stream, seq: ack.seq, object: packed.object });
      this.jobs.markRunning(job);
    }
  }

  /** One message of the result stream: a result or error of some attempt of one of this manager's tasks. */
  private async takeResult(msg: JsMsg): Promise<void> {
    const message = await unpackMessage(msg.data, msg.headers, this.payloads);
    const object = msg.headers?.get(HEADERS.object);
    if (object) void this.payloads.delete(object).catch(() => {});
    if (message.type !== "result" && message.type !== "error") throw new FleetError("PROTOCOL_ERROR", `a ${message.type} on the result stream`);
    const workerId = msg.headers?.get(HEADERS.worker) || "unknown";
    const task = this.jobs.findTask(message.taskId);
    if (task && message.attempt > task.attempt) task.attempt = message.attempt;
    const discard = msg.headers?.has(HEADERS.late) ? "stale-attempt" : toDiscardReason(task, message.attempt, true);
    if (discard) return this.emitter.emit({ type: "task-discarded", taskId: message.taskId, attempt: message.attempt, workerId, reason: discard });
    if (message.type === "error") return this.takeError(task!, workerId, message);
    const problem = checkResult(task!, message);
    // The worker acked its delivery already: there is no attempt left to send again.
    if (problem) return this.failJob(task!.job, new FleetError("BAD_RESULT", `task ${task!.id}: ${workerId}: ${problem}`, 502));
    this.complete(task!, workerId, message);
  }

  /** An error of the task's newest attempt: the job fails on an input fault or the last attempt; otherwise the worker nak'ed it and the broker sends it again. */
  private takeError(task: Task, workerId: string, error: TaskError): void {
    const detail = `${workerId}: ${error.code}: ${error.message}`;
    if (INPUT_FAULTS.has(error.code)) return this.failJob(task.job, new FleetError(error.code, `${workerId}: ${error.message}`, INPUT_FAULTS.get(error.code)));
    if (error.attempt >= this.options.maxAttempts) return this.failJob(task.job, new FleetError("TASK_FAILED", `task ${task.id} failed ${error.attempt} of ${this.options.maxAttempts} attempts; last: error: ${detail}`, 502));
    this.emitter.emit({ type: "task-retry", jobId: task.job.id, taskId: task.id, stripe: task.stripe.index, attempt: error.attempt + 1, fromWorker: workerId, reason: "error", detail });
  }

  /** The broker gave up a task after MaxDeliver deliveries without an answer: its job fails, its message is deleted. */
  private async takeAdvisory(advisory: { stream?: string; stream_seq?: number; deliveries?: number }): Promise<void> {
    const { stream, stream_seq: seq } = advisory;
    if (typeof stream !== "string" || typeof seq !== "number") return;
    const stored = await this.broker.jsm.streams.getMessage(stream, { seq });
    const taskId = stored?.header?.get(HEADERS.task);
    if (!taskId || !stored!.header.get(HEADERS.reply)?.startsWith(toResultSubject(this.options.managerId, ""))) return;
    const task = this.jobs.findTask(taskId);
    if (task) this.failJob(task.job, new FleetError("TASK_FAILED", `task ${taskId} was delivered ${advisory.deliveries ?? this.options.maxAttempts} of ${this.options.maxAttempts} times; last: timeout: no answer within AckWait (${this.options.taskTimeoutMs} ms)`, 502));
    await this.broker.jsm.streams.deleteMessage(stream, seq).catch(() => false);
  }

  private complete(task: Task, workerId: string, result: Result): void {
    task.done = true;
    const job = task.job;
    job.outputs.push({ stripe: task.stripe, data: result.payload, meta: result.meta });
    const roundTrip = performance.now() - task.sentAt;
    this.emitter.emit({ type: "task-done", jobId: job.id, taskId: task.id, stripe: task.stripe.index, attempt: result.attempt, workerId, ms: Math.round(roundTrip), timing: toTiming(task, result.meta, roundTrip) });
    const progress = job.outputs.length / job.tasks.length;
    this.jobs.markProgress(job, progress);
    this.emitter.emit({ type: "job-progress", jobId: job.id, progress });
    if (job.outputs.length < job.tasks.length) return;
    let output: JobOutput;
    try {
      output = joinOutputs(job);
    } catch (error) {
      return this.failJob(job, error instanceof FleetError ? error : new FleetError("JOIN_FAILED", String(error), 500, { cause: error }));
    }
    this.emitter.emit({ type: "job-done", jobId: job.id, ms: Math.round(performance.now() - job.startedAt) });
    this.jobs.markDone(job, output);
    this.forget(job, false);
    job.resolve(output);
  }

  /** Fails a job that has not settled, as the TCP scheduler does; its tasks still in a stream are deleted. */
  private failJob(job: JobState, cause: FleetError): void {
    if (isSettled(job)) return;
    const error = job.source ? new FleetError(cause.code, `${job.source.name}: ${cause.message}`, cause.status, { cause }) : cause;
    this.emitter.emit({ type: "job-failed", jobId: job.id, error });
    this.jobs.markFailed(job, error);
    this.forget(job, true);
    job.reject(error);
  }

  /** Drops a settled job's inputs, its payload objects and (when `deleteTasks`) its messages left in the task stream. */
  private forget(job: JobState, deleteTasks: boolean): void {
    for (const task of job.tasks) {
      const published = this.published.get(task.id);
      this.published.delete(task.id);
      if (!published) continue;
      if (published.object) void this.payloads.delete(published.object).catch(() => {});
      if (deleteTasks && !task.done) void this.broker.jsm.streams.deleteMessage(published.stream, published.seq).catch(() => false);
    }
    dropInputs(job);
  }
}

