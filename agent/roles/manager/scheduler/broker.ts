// The manager's scheduling over NATS JetStream: tasks published on the work-queue streams, results collected from the result stream, retries and MaxDeliver left to the broker, exactly-once kept here.
import { DeliverPolicy, jetstream, type ConsumerMessages, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import type { Subscription } from "@nats-io/transport-node";
import { FleetError } from "../../../errors";
import type { RawImage } from "../../../imaging/ops";
import { INPUT_FAULTS, type ImageOp, type Job, type Result, type TaskError } from "../../../protocol";
import {
  configureConsumers,
  connectBroker,
  ensureStreams,
  fromBody,
  GIVEN_UP_STREAM,
  HEADERS,
  openPayloads,
  packMessage,
  putPayload,
  RESULT_STREAM,
  toResultSubject,
  toSubjectToken,
  toTaskSubject,
  unpackMessage,
  WORKER_BEATS,
  type BrokerConnection,
  type WorkerBeat,
} from "../../../broker";
import type { Detections, JobEvent } from "../../../wire";
import type { KV } from "@nats-io/kv";
import { fromRecord, openBuckets, readSharedJob, RecordWriter, toOutputObject, toRecord, type JobRecord } from "./_records";
import { BeatTable } from "./_beats";
import { startLiveness } from "./_takeover";
import { countStripes, toDiscardReason } from "./_delivery";
import { createEmitter, toJobEvent, type EventListener } from "./_events";
import { JobTable, toJobView } from "./jobs";
import { checkResult, dropInputs, isSettled, joinOutputs, REMOTE_PIXELS, toAssign, toTiming, type JobOutput, type JobState, type Task } from "./_tasks";
import type { JobRunner, SharedJob } from "./runner";
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
  /** Exactly one stripe per unit of the fleet's credit (`--split stripes`), as `countStripes`. */
  exactStripes: boolean;
  maxJobs: number;
  maxOutputBytes: number;
  log(event: string, fields?: Record<string, unknown>): void;
}

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
  private readonly beats = new BeatTable();
  private readonly published = new Map<string, Published>();
  private readonly subscriptions: Subscription[] = [];
  /** The result and advisory consumers, and the loops reading them. */
  private readonly consumers: ConsumerMessages[] = [];
  private readonly collecting: Promise<void>[] = [];
  /** Managers whose result subjects this one reads: itself, and those it took over. */
  private readonly origins = new Set<string>();
  /** Per local job: the manager its tasks name, whether all are published, who did each, result objects read, the object holding its output. */
  private readonly details = new Map<string, { origin: string; published: boolean; workers: (string | null)[]; objects: string[]; output?: string }>();
  private readonly records: RecordWriter;
  private readonly accepting = new Map<string, Promise<void>>();
  private readonly shared = new Set<(event: JobEvent) => void>();
  private stopLiveness?: () => Promise<void>;
  private stopped: Promise<void> | null = null;

  private constructor(
    private readonly options: BrokerSchedulerOptions,
    private readonly broker: BrokerConnection,
    private readonly js: JetStreamClient,
    private readonly payloads: ObjectStore,
    private readonly buckets: { jobs: KV; managers: KV },
  ) {
    this.records = new RecordWriter(buckets.jobs, options.log);
    this.jobs = new JobTable(options.maxJobs, options.maxOutputBytes, (job) => {
      this.emitter.emit({ type: "job-state", ...toJobView(job) });
      void this.save(job);
    });
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
      const scheduler = new BrokerScheduler(options, broker, jetstream(broker.nc), await openPayloads(broker.nc), await openBuckets(broker.nc));
      await scheduler.listen();
      await scheduler.watchGivenUp();
      const { managerId, log } = options;
      // Takeovers first: a restart under the same --id adopts its own records and replays its subject from the start.
      scheduler.stopLiveness = await startLiveness({ managerId, log, ...scheduler.buckets, adopt: (records) => scheduler.adopt(records) });
      await scheduler.collect(managerId, false);
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

  /** Subscribes to the events of the other managers on the broker (as sent on `/events`). */
  onShared(listener: (event: JobEvent) => void): () => void {
    this.shared.add(listener);
    return () => this.shared.delete(listener);
  }

  /** Resolves once the job's record is saved and every task is in the stream: only then is it accepted. */
  accepted(id: string): Promise<void> {
    return this.accepting.get(id) ?? Promise.resolve();
  }

  /** A job from the shared records (any manager's): see `readSharedJob`. */
  readShared(id: string): Promise<SharedJob> {
    return readSharedJob(this.buckets.jobs, this.payloads, id);
  }

  /** Workers heard on WORKER_BEATS within the last 3 s. */
  workerList(): WorkerSnapshot[] {
    return this.beats.snapshots();
  }

  /** Live workers offering `op`. */
  workersFor(op: string): number {
    return this.beats.countFor(op);
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
    const admitted = this.jobs.admit(job, countStripes(job, this.beats.creditFor(job.op), this.options.exactStripes));
    if ("error" in admitted) return Promise.reject(admitted.error);
    const { state, settled } = admitted;
    const id = state.id;
    this.details.set(id, { origin: this.options.managerId, published: false, workers: state.tasks.map(() => null), objects: [] });
    this.emitter.emit({ type: "job-started", jobId: id, op: state.op, stripes: state.tasks.length, manager: this.options.managerId });
    const accepted = this.publishTasks(state).catch((error) => {
      const failure = new FleetError("PUBLISH_FAILED", `the broker took no task: ${(error as Error).message}`, 503, { cause: error });
      this.failJob(state, failure);
      throw failure;
    });
    accepted.catch(() => {}).finally(() => this.accepting.delete(id));
    this.accepting.set(id, accepted);
    return settled;
  }

  /**
   * Stops taking jobs and leaves the broker: its unfinished jobs stay in the records and the
   * streams for another manager (or this one restarted) to finish; here their promises reject
   * with SCHEDULER_STOPPED.
   */
  stop(reason = "manager stopping"): Promise<void> {
    this.stopped ??= (async () => {
      // No result is taken once stopping (a job done here after its record's last save would be done again by the next owner).
      await Promise.allSettled(this.consumers.map((messages) => messages.close()));
      await Promise.allSettled(this.collecting);
      for (const job of this.jobs.unsettled()) job.reject(new FleetError("SCHEDULER_STOPPED", `scheduler stopped (${reason}) before job ${job.id} finished; it stays on the broker for another manager`, 503));
      await Promise.allSettled([...this.accepting.values()]);
      await this.records.flush();
      await this.stopLiveness?.();
      for (const subscription of this.subscriptions) subscription.unsubscribe();
      await this.broker.nc.drain().catch(() => {});
    })();
    return this.stopped;
  }

  /** Stops with the default reason (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** Worker beats, the other managers' events; this manager's events out. */
  private async listen(): Promise<void> {
    const { nc } = this.broker;
    this.subscriptions.push(nc.subscribe(WORKER_BEATS, { callback: (_error, msg) => this.takeBeat(msg.json<WorkerBeat>()) }));
    const events = `framefleet.events.${this.options.managerId}`;
    this.subscriptions.push(
      nc.subscribe("framefleet.events.*", {
        callback: (_error, msg) => {
          if (msg.subject === events) return;
          for (const listener of this.shared) listener(msg.json<JobEvent>());
        },
      }),
    );
    this.emitter.on((event) => void (!nc.isClosed() && nc.publish(events, JSON.stringify(toJobEvent(event)))));
  }

  /**
   * Reads the results sent to `origin`'s subject: this manager's own from now on, or (`replay`)
   * every one kept of a manager taken over, for the jobs adopted from it. Once per origin.
   */
  private async collect(origin: string, replay: boolean): Promise<void> {
    if (this.origins.has(origin)) return;
    this.origins.add(origin);
    const consumer = await this.js.consumers.get(RESULT_STREAM, { filter_subjects: toResultSubject(origin, ">"), deliver_policy: replay ? DeliverPolicy.All : DeliverPolicy.New });
    this.read(await consumer.consume(), (msg) => this.takeResult(msg, replay).catch((error) => this.options.log("broker_result_unreadable", { seq: msg.seq, error: (error as Error).message })));
  }

  /** Takes `messages` one at a time until the scheduler stops (`stop` closes them and waits for the one being taken). */
  private read(messages: ConsumerMessages, take: (msg: JsMsg) => Promise<void>): void {
    this.consumers.push(messages);
    this.collecting.push(
      (async () => {
        for await (const msg of messages) {
          if (this.stopped) break;
          await take(msg);
        }
      })(),
    );
  }

  /** Reads the MaxDeliver advisories kept in GIVEN_UP_STREAM from now on, for the tasks of the managers this one collects. */
  private async watchGivenUp(): Promise<void> {
    const consumer = await this.js.consumers.get(GIVEN_UP_STREAM, { deliver_policy: DeliverPolicy.New });
    this.read(await consumer.consume(), (msg) => this.takeAdvisory(msg).catch(() => {}));
  }

  /**
   * Reads every MaxDeliver advisory kept so far, once, after adopting a gone manager's jobs: those
   * sent while the jobs had no live owner (up to MANAGER_TTL_MS before the takeover) fail them now.
   */
  private async replayGivenUp(): Promise<void> {
    const kept = (await this.broker.jsm.streams.info(GIVEN_UP_STREAM)).state.messages;
    if (kept === 0) return;
    const consumer = await this.js.consumers.get(GIVEN_UP_STREAM, { deliver_policy: DeliverPolicy.All });
    const messages = await consumer.fetch({ max_messages: kept, expires: 5000 });
    for await (const msg of messages) {
      if (this.stopped) break;
      await this.takeAdvisory(msg).catch(() => {});
    }
  }

  /** Takes over the records of a gone manager: their jobs are collected here from now on (their results so far replayed). */
  private async adopt(records: JobRecord[]): Promise<void> {
    for (const record of records) {
      // A stopping manager adopts nothing more: what it did not adopt stays with the gone owner, for another manager.
      if (this.stopped) return;
      const settled = Promise.withResolvers<JobOutput>();
      settled.promise.catch(() => {});
      const job = fromRecord(record, settled);
      try {
        this.jobs.add(job);
      } catch {
        continue;
      }
      this.details.set(job.id, { origin: record.origin, published: true, workers: record.workers, objects: [] });
      await this.save(job);
    }
    for (const origin of new Set(records.map((record) => record.origin))) if (!this.stopped) await this.collect(origin, true);
    if (records.length > 0 && !this.stopped) await this.replayGivenUp();
  }

  /** Saves a local job's record, after its previous save. */
  private save(job: JobState): Promise<void> {
    const details = this.details.get(job.id);
    if (!details) return Promise.resolve();
    return this.records.save(toRecord(job, this.options.managerId, details.origin, details.published, details.workers, details.output));
  }

  private takeBeat(beat: WorkerBeat): void {
    if (this.beats.take(beat)) this.emitter.emit({ type: "worker-joined", workerId: beat.workerId, remote: "broker", ops: beat.ops as never, credit: beat.credit });
  }

  /** Publishes every task of a job; the first one published makes it running. */
  private async publishTasks(job: JobState): Promise<void> {
    await this.save(job);
    const reply = toResultSubject(this.options.managerId, toSubjectToken(job.id));
    for (const task of job.tasks) {
      if (isSettled(job)) return;
      const assign = { ...toAssign(task), attempt: 1 };
      const packed = await packMessage(assign, this.payloads, `t-${toSubjectToken(task.id)}`, { [HEADERS.task]: task.id, [HEADERS.reply]: reply });
      task.sentAt = performance.now();
      const ack = await this.js.publish(toTaskSubject(job.op as ImageOp), packed.body, { msgID: task.id, headers: packed.headers });
      this.published.set(task.id, { stream: ack.stream, seq: ack.seq, object: packed.object });
    }
    this.details.get(job.id)!.published = true;
    if (job.state === "queued") this.jobs.markRunning(job);
    else void this.save(job);
    await this.records.settled(job.id);
  }

  /** One message of the result stream: a result or error of some attempt of one of this manager's tasks. */
  private async takeResult(msg: JsMsg, replay: boolean): Promise<void> {
    const taskId = msg.headers?.get(HEADERS.task) ?? "";
    // A replay reads every result a gone manager had: only those of the jobs adopted from it count.
    if (replay && taskId && !this.jobs.findTask(taskId)) return;
    // The one result of a single-task image job is its output: its object stays in the store, fetched only when asked for.
    const object = msg.headers?.get(HEADERS.object);
    const single = this.jobs.findTask(taskId)?.job;
    const remote = Boolean(object) && single !== undefined && single.tasks.length === 1 && single.input !== "classify";
    const message = remote ? fromBody(msg.data) : await unpackMessage(msg.data, msg.headers, this.payloads);
    if (message.type !== "result" && message.type !== "error") throw new FleetError("PROTOCOL_ERROR", `a ${message.type} on the result stream`);
    const workerId = msg.headers?.get(HEADERS.worker) || "unknown";
    const task = this.jobs.findTask(message.taskId);
    if (replay && !task) return;
    // Result objects stay until the job settles: another manager may have to read them again.
    if (object) this.details.get(task?.job.id ?? "")?.objects.push(object) ?? void this.payloads.delete(object).catch(() => {});
    if (task && message.attempt > task.attempt) task.attempt = message.attempt;
    const discard = msg.headers?.has(HEADERS.late) ? "stale-attempt" : toDiscardReason(task, message.attempt, true);
    if (discard) return this.emitter.emit({ type: "task-discarded", taskId: message.taskId, attempt: message.attempt, workerId, reason: discard });
    if (message.type === "error") return this.takeError(task!, workerId, message);
    const payloadBytes = remote ? ((await this.payloads.info(object!))?.size ?? 0) : message.payload.length;
    const problem = checkResult(task!, message, payloadBytes);
    // The worker acked its delivery already: there is no attempt left to send again.
    if (problem) return this.failJob(task!.job, new FleetError("BAD_RESULT", `task ${task!.id}: ${workerId}: ${problem}`, 502));
    await this.complete(task!, workerId, remote ? { ...message, payload: REMOTE_PIXELS } : message, object);
  }

  /** An error of the task's newest attempt: the job fails on an input fault or the last attempt; otherwise the worker nak'ed it and the broker sends it again. */
  private takeError(task: Task, workerId: string, error: TaskError): void {
    const detail = `${workerId}: ${error.code}: ${error.message}`;
    if (INPUT_FAULTS.has(error.code)) return this.failJob(task.job, new FleetError(error.code, `${workerId}: ${error.message}`, INPUT_FAULTS.get(error.code)));
    if (error.attempt >= this.options.maxAttempts) return this.failJob(task.job, new FleetError("TASK_FAILED", `task ${task.id} failed ${error.attempt} of ${this.options.maxAttempts} attempts; last: error: ${detail}`, 502));
    this.emitter.emit({ type: "task-retry", jobId: task.job.id, taskId: task.id, stripe: task.stripe.index, attempt: error.attempt + 1, fromWorker: workerId, reason: "error", detail });
  }

  /** The broker gave up a task after MaxDeliver deliveries without an answer: its job fails, its message is deleted. */
  private async takeAdvisory(msg: JsMsg): Promise<void> {
    // A stopping manager fails nothing: the advisory and the task's message stay for the next owner.
    if (this.stopped) return;
    const advisory = msg.json<{ stream?: string; stream_seq?: number; deliveries?: number }>();
    const { stream, stream_seq: seq } = advisory;
    const forget = () => this.broker.jsm.streams.deleteMessage(GIVEN_UP_STREAM, msg.seq).catch(() => false);
    if (typeof stream !== "string" || typeof seq !== "number") return void (await forget());
    // Gone from the task stream: its job was settled by whoever read this advisory first; later replays need not read it.
    const stored = await this.broker.jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!stored) return void (await forget());
    const taskId = stored.header?.get(HEADERS.task);
    const reply = stored.header?.get(HEADERS.reply) ?? "";
    if (!taskId || ![...this.origins].some((origin) => reply.startsWith(toResultSubject(origin, "")))) return;
    const task = this.jobs.findTask(taskId);
    if (task) this.failJob(task.job, new FleetError("TASK_FAILED", `task ${taskId} was delivered ${advisory.deliveries ?? this.options.maxAttempts} of ${this.options.maxAttempts} times; last: timeout: no answer within AckWait (${this.options.taskTimeoutMs} ms)`, 502));
    await this.broker.jsm.streams.deleteMessage(stream, seq).catch(() => false);
    await forget();
  }

  /** A taken result: kept, and once every task is in, the job joined, its output stored for every manager, and done. `object` names the result's payload object, if it had one. */
  private async complete(task: Task, workerId: string, result: Result, object?: string): Promise<void> {
    task.done = true;
    const job = task.job;
    const details = this.details.get(job.id);
    if (details) details.workers[task.stripe.index] = workerId;
    job.outputs.push({ stripe: task.stripe, data: result.payload, meta: result.meta });
    const roundTrip = performance.now() - task.sentAt;
    this.emitter.emit({ type: "task-done", jobId: job.id, taskId: task.id, stripe: task.stripe.index, attempt: result.attempt, workerId, ms: Math.round(roundTrip), timing: toTiming(task, result.meta, roundTrip) });
    const progress = job.outputs.length / job.tasks.length;
    this.jobs.markProgress(job, progress);
    this.emitter.emit({ type: "job-progress", jobId: job.id, progress });
    if (job.outputs.length < job.tasks.length) return void this.save(job);
    let output: JobOutput;
    try {
      output = joinOutputs(job);
    } catch (error) {
      return this.failJob(job, error instanceof FleetError ? error : new FleetError("JOIN_FAILED", String(error), 500, { cause: error }));
    }
    // Stored before the record says done, so any manager that reads `done` finds the pixels; the one result of a
    // single-task job already is its output, kept where the worker put it (no second copy of up to 100 MB).
    if ("data" in output && details) {
      try {
        const kept = object ? details.objects.indexOf(object) : -1;
        if (job.tasks.length === 1 && kept >= 0) details.output = details.objects.splice(kept, 1)[0];
        else await putPayload(this.payloads, (details.output = toOutputObject(job.id)), output.data);
      } catch (error) {
        return this.failJob(job, new FleetError("STORE_FAILED", `the output could not be stored: ${(error as Error).message}`, 503, { cause: error }));
      }
    }
    const ms = Math.round(performance.now() - job.startedAt);
    this.jobs.markDone(job, output);
    // The record says done before anyone hears it or anything is let go: a crash before the save leaves the job to
    // the next owner, whose replay needs the result objects, and only the save's owner announces it (done once).
    await this.records.settled(job.id);
    this.emitter.emit({ type: "job-done", jobId: job.id, ms, manager: this.options.managerId });
    this.forget(job, false);
    job.resolve(output);
  }

  /** Fails a job that has not settled, as the TCP scheduler does; its tasks still in a stream are deleted. Not while stopping. */
  private failJob(job: JobState, cause: FleetError): void {
    if (isSettled(job)) return;
    // A stopping manager fails nothing (its connection drains under what it was doing): the job stays for another.
    if (this.stopped) return job.reject(cause);
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
    for (const object of this.details.get(job.id)?.objects.splice(0) ?? []) void this.payloads.delete(object).catch(() => {});
    void this.records.settled(job.id).then(() => this.details.delete(job.id));
    dropInputs(job);
  }
}

