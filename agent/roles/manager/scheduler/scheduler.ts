// The manager's scheduling core: workers on a protocol port, jobs as stripe tasks or one whole-file task, credit-based flow control, at-least-once delivery.
import { FleetError } from "../../../errors";
import type { RawImage } from "../../../imaging/ops";
import { HANDSHAKE_MAX_FRAME_BYTES, HELLO_TIMEOUT_MS, INPUT_FAULTS, listenFor, REFUSALS, type Connection, type Hello, type ImageOp, type Job, type Message, type ProtocolListener, type Result, type TaskError } from "../../../protocol";
import { attemptTimeoutMs, countStripes, hasRunOut, ownBytes, toDiscardReason } from "./_delivery";
import { createEmitter, type EventListener, type RetryReason } from "./_events";
import { greetWorker, type HandshakeHooks } from "./_handshake";
import { JobTable, toJobView } from "./jobs";
import { checkResult, dropInputs, isSettled, joinOutputs, toAssign, toTiming, type JobOutput, type JobState, type Task } from "./_tasks";
import type { Detections } from "../../../wire";
import type { JobRunner } from "./runner";
import { createWorker, pickWorker, toHeldKey, toSnapshot, type WorkerSnapshot, type WorkerState } from "./_workers";

/** Where workers dial in and how patient the scheduler is. */
export interface SchedulerOptions {
  /** Default `0.0.0.0`. */
  hostname?: string;
  /** The worker port; 0 picks a free one. */
  port: number;
  /** How long one attempt may take before it is sent again; default 5000 ms. */
  taskTimeoutMs?: number;
  /** Attempts per task before its job fails; default 5. */
  maxAttempts?: number;
  /** The heartbeat period told to workers in `welcome`; one silent for 3 periods is dropped. Default 1000 ms. */
  heartbeatMs?: number;
  /** The shared token every hello must prove (HMAC challenge-response, agent/protocol/auth.ts); undefined = open. */
  token?: string;
  /** A connection that has not said a valid hello this long is closed; default HELLO_TIMEOUT_MS (5000 ms). */
  helloTimeoutMs?: number;
  /** Job records kept, finished ones evicted oldest first; default 1000. */
  maxJobs?: number;
  /** Bytes of finished outputs kept, the oldest evicted past it; default 2 GB. */
  maxOutputBytes?: number;
  /** Exactly one stripe per unit of the fleet's credit, as far as frames allow (`countStripes`); default false. */
  exactStripes?: boolean;
}

const MISSED_HEARTBEATS = 3;

/**
 * Runs jobs on the workers that dial its port (`listenFor` port, messages of agent/protocol).
 * A raw image job becomes stripe tasks (`countStripes`), a file or classify job one task; a worker holds at most
 * its hello credit of tasks, the rest wait in FIFO order. Each attempt is timed
 * (`attemptTimeoutMs`); a timeout, an `error`, a bad result, a disconnect or 3 missed
 * heartbeats sends the task again with attempt + 1 (to another worker where one exists),
 * but an input fault (INPUT_FAULTS: the file does not decode) fails the job at once; only the
 * current attempt's first result is taken. A worker is admitted only after a hello whose
 * proof holds (`token`), within `helloTimeoutMs`, in frames of at most 64 KiB until then;
 * a live worker is never replaced by a newcomer with its id (the newcomer is refused).
 * Each job's record (`jobs`) lives on after it settles, until evicted; every change of it is
 * an event (`job-state` carries the record's view), the one channel readers follow.
 */
export class Scheduler implements JobRunner, AsyncDisposable {
  private readonly listener: ProtocolListener;
  private readonly workers = new Map<string, WorkerState>();
  /** The job records: written by the scheduler only, read by the HTTP side (`GET /jobs/:id`, results, figures). */
  readonly jobs: JobTable;
  private readonly queue: Task[] = [];
  private readonly emitter = createEmitter();
  private readonly sweep: ReturnType<typeof setInterval>;
  private readonly taskTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly hooks: HandshakeHooks<WorkerState>;
  private readonly heartbeatMs: number;
  private readonly exactStripes: boolean;
  private stopped: Promise<void> | null = null;

  /** Starts listening at once; throws LISTEN_FAILED (500) when the port cannot be bound. */
  constructor(options: SchedulerOptions) {
    this.taskTimeoutMs = options.taskTimeoutMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.exactStripes = options.exactStripes ?? false;
    this.jobs = new JobTable(options.maxJobs ?? 1000, options.maxOutputBytes ?? 2e9, (job) => this.emitter.emit({ type: "job-state", ...toJobView(job) }));
    this.hooks = {
      token: options.token,
      helloTimeoutMs: options.helloTimeoutMs ?? HELLO_TIMEOUT_MS,
      heartbeatMs: this.heartbeatMs,
      refuse: (hello) => this.refuse(hello),
      admit: (connection, hello) => this.admit(connection, hello),
      handle: (worker, message) => this.handle(worker, message),
      lose: (worker, reason) => this.lose(worker, "disconnect", `${reason.code}: ${reason.message}`),
      emit: (event) => this.emitter.emit(event),
    };
    this.listener = listenFor({
      hostname: options.hostname,
      port: options.port,
      handshakeFrameBytes: HANDSHAKE_MAX_FRAME_BYTES,
      onConnection: (connection) => greetWorker(connection, this.hooks),
    });
    this.sweep = setInterval(() => this.sweepStale(), this.heartbeatMs);
  }

  /** The bound worker port. */
  get port(): number {
    return this.listener.port;
  }

  /** Subscribes to the event log; returns the unsubscribe function. */
  on(listener: EventListener): () => void {
    return this.emitter.on(listener);
  }

  /** The welcomed workers, in order of joining. */
  workerList(): WorkerSnapshot[] {
    const now = performance.now();
    return [...this.workers.values()].map((worker) => toSnapshot(worker, now));
  }

  /** Jobs not yet settled. */
  get pendingJobs(): number {
    return this.jobs.unsettled().length;
  }

  /** Live workers offering `op` that still take tasks (not stopping). */
  workersFor(op: string): number {
    let count = 0;
    for (const worker of this.workers.values()) if (worker.ops.has(op) && !worker.draining) count += 1;
    return count;
  }

  /**
   * Records a checked job (`checkJob`, agent/protocol/tasks.ts), runs it on the fleet and
   * resolves with the output pixels (image ops: raw stripes, or a whole file a worker decodes)
   * or the objects found (classify: one whole-file task to a worker offering it); the record
   * (`jobs.read(job.id)`) tells the same. Rejects with DUPLICATE_JOB (422), JOBS_FULL (503) up
   * front, TASK_FAILED (502) when a task ran out of attempts, a worker's input fault as its
   * code (NOT_AN_IMAGE, BAD_IMAGE 422; TOO_MANY_PIXELS 413), SCHEDULER_STOPPED (503) when
   * stopped first; a job with a `source` fails with its name before the message.
   */
  submit(job: Job & { op: "classify" }): Promise<Detections>;
  submit(job: Job & { op: ImageOp }): Promise<RawImage>;
  submit(job: Job): Promise<JobOutput>;
  submit(job: Job): Promise<JobOutput> {
    if (this.stopped) return Promise.reject(new FleetError("SCHEDULER_STOPPED", "scheduler stopped; no new jobs", 503));
    const admitted = this.jobs.admit(job, countStripes(job, this.creditFor(job.op), this.exactStripes));
    if ("error" in admitted) return Promise.reject(admitted.error);
    const { state, settled } = admitted;
    const id = state.id;
    this.queue.push(...state.tasks);
    this.emitter.emit({ type: "job-started", jobId: id, op: state.op, stripes: state.tasks.length });
    this.dispatch();
    return settled;
  }

  /** Stops listening, fails pending jobs with SCHEDULER_STOPPED and closes every worker with bye `reason`. */
  stop(reason = "manager stopping"): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.sweep);
      for (const job of this.jobs.unsettled()) this.failJob(job, new FleetError("SCHEDULER_STOPPED", `scheduler stopped (${reason}) before job ${job.id} finished`, 503));
      await this.listener.stop(reason);
    })();
    return this.stopped;
  }

  /** Stops with the default reason (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  private creditFor(op: string): number {
    let total = 0;
    for (const worker of this.workers.values()) if (worker.ops.has(op)) total += worker.credit;
    return total;
  }

  /** Why an authenticated hello is still refused: the manager is stopping, or a live worker has its id (never displaced). */
  private refuse(hello: Hello): string | null {
    if (this.stopped) return "manager stopping";
    const live = this.workers.get(hello.workerId);
    if (live && !live.gone) {
      return `workerId "${hello.workerId}" is already connected from ${live.connection.remote}; a live worker is never replaced: give this one another --id, or retry once the other has left`;
    }
    return null;
  }

  private admit(connection: Connection, hello: Hello): WorkerState {
    const worker = createWorker(connection, hello);
    this.workers.set(worker.id, worker);
    this.emitter.emit({ type: "worker-joined", workerId: worker.id, remote: connection.remote, ops: hello.ops, credit: hello.credit });
    this.dispatch();
    return worker;
  }

  private handle(worker: WorkerState, message: Message): void {
    worker.paused = false;
    if (message.type === "heartbeat") {
      worker.cpuPercent = message.cpuPercent;
      worker.rssBytes = message.rssBytes;
    } else if (message.type === "result" || message.type === "error") this.answer(worker, message);
    else void worker.connection.close(`protocol error: a worker does not send ${message.type}`);
  }

  /** A result or error: taken only for the current attempt of a live task that this worker holds. */
  private answer(worker: WorkerState, message: Result | TaskError): void {
    const key = toHeldKey(message.taskId, message.attempt);
    const task = worker.held.get(key) ?? this.jobs.findTask(message.taskId);
    const heldHere = worker.held.delete(key);
    const discard = toDiscardReason(task, message.attempt, heldHere);
    if (discard) {
      this.emitter.emit({ type: "task-discarded", taskId: message.taskId, attempt: message.attempt, workerId: worker.id, reason: discard });
    } else if (message.type === "error" && REFUSALS.has(message.code)) {
      // Not the task's fault: sent again without spending an attempt; a stopping worker gets no more.
      if (message.code === "STOPPING") worker.draining = true;
      else worker.paused = true;
      task!.refused += 1;
      this.retry(task!, "refused", `${worker.id}: ${message.code}: ${message.message}`);
    } else if (message.type === "error" && INPUT_FAULTS.has(message.code)) {
      worker.failed += 1;
      this.failJob(task!.job, new FleetError(message.code, `${worker.id}: ${message.message}`, INPUT_FAULTS.get(message.code)));
    } else if (message.type === "error") {
      worker.failed += 1;
      this.retry(task!, "error", `${worker.id}: ${message.code}: ${message.message}`);
    } else {
      const problem = checkResult(task!, message);
      if (problem) {
        worker.failed += 1;
        this.retry(task!, "bad-result", `${worker.id}: ${problem}`);
      } else this.complete(task!, worker, message);
    }
    this.dispatch();
  }

  private complete(task: Task, worker: WorkerState, result: Result): void {
    clearTimeout(task.timer);
    task.done = true;
    worker.done += 1;
    const job = task.job;
    job.outputs.push({ stripe: task.stripe, data: ownBytes(result.payload), meta: result.meta });
    const roundTrip = performance.now() - task.sentAt;
    const timing = toTiming(task, result.meta, roundTrip);
    this.emitter.emit({ type: "task-done", jobId: job.id, taskId: task.id, stripe: task.stripe.index, attempt: task.attempt, workerId: worker.id, ms: Math.round(roundTrip), timing });
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
    dropInputs(job);
    job.resolve(output);
  }

  /** Hands queued tasks, oldest first, to workers with credit left; a task no worker can take now stays in place. */
  private dispatch(): void {
    if (this.stopped) return;
    for (let index = 0; index < this.queue.length; ) {
      const task = this.queue[index]!;
      const worker = pickWorker(this.workers.values(), task);
      if (!worker) index += 1;
      else {
        this.queue.splice(index, 1);
        this.send(task, worker);
      }
    }
  }

  private send(task: Task, worker: WorkerState): void {
    task.attempt += 1;
    task.workerId = worker.id;
    task.sentAt = performance.now();
    task.takenAt = 0;
    worker.held.set(toHeldKey(task.id, task.attempt), task);
    const attempt = task.attempt;
    const timeoutMs = attemptTimeoutMs(task, this.taskTimeoutMs);
    task.timer = setTimeout(() => {
      if (task.attempt === attempt && !task.done) this.retry(task, "timeout", `no answer from ${worker.id} within ${timeoutMs} ms`);
    }, timeoutMs);
    this.jobs.markRunning(task.job);
    this.emitter.emit({ type: "task-assigned", jobId: task.job.id, taskId: task.id, stripe: task.stripe.index, attempt, workerId: worker.id });
    const taken = () => void (task.attempt === attempt && (task.takenAt = performance.now()));
    try {
      void worker.connection.send(toAssign(task), taken).catch(() => {});
    } catch (error) {
      // A message the protocol refuses (a whole image past the frame limit for an op that is not stripeable).
      this.failJob(task.job, error instanceof FleetError ? error : new FleetError("SEND_FAILED", String(error), 500, { cause: error }));
    }
  }

  /** Gives up the current attempt: fails the job past `maxAttempts`, else queues the task at the front for attempt + 1. */
  private retry(task: Task, reason: RetryReason, detail: string): void {
    if (task.done || isSettled(task.job)) return;
    clearTimeout(task.timer);
    const fromWorker = task.workerId ?? "";
    this.release(task);
    task.lastWorkerId = task.workerId;
    task.workerId = null;
    if (hasRunOut(task, this.maxAttempts)) {
      const message = `task ${task.id} failed ${task.attempt - task.refused} of ${this.maxAttempts} attempts (${task.refused} refused); last: ${reason}: ${detail}`;
      return this.failJob(task.job, new FleetError("TASK_FAILED", message, 502));
    }
    const { job, stripe } = task;
    this.emitter.emit({ type: "task-retry", jobId: job.id, taskId: task.id, stripe: stripe.index, attempt: task.attempt + 1, fromWorker, reason, detail });
    this.queue.unshift(task);
    this.dispatch();
  }

  /**
   * The task's current attempt stops counting against its worker's credit (given up, or its job
   * failed): a lost answer would otherwise hold the credit for good; a late one is discarded.
   */
  private release(task: Task): void {
    if (task.workerId) this.workers.get(task.workerId)?.held.delete(toHeldKey(task.id, task.attempt));
  }

  /** Fails a job that has not settled: its tasks stop, the record says why (after its source's name), `submit` rejects. */
  private failJob(job: JobState, cause: FleetError): void {
    if (isSettled(job)) return;
    const error = job.source ? new FleetError(cause.code, `${job.source.name}: ${cause.message}`, cause.status, { cause }) : cause;
    for (const task of job.tasks) {
      clearTimeout(task.timer);
      this.release(task);
    }
    for (let index = this.queue.length - 1; index >= 0; index--) if (this.queue[index]!.job === job) this.queue.splice(index, 1);
    this.emitter.emit({ type: "job-failed", jobId: job.id, error });
    this.jobs.markFailed(job, error);
    dropInputs(job);
    job.reject(error);
    queueMicrotask(() => this.dispatch());
  }

  /** A worker is gone (closed or silent): its current attempts are sent again elsewhere. */
  private lose(worker: WorkerState, reason: RetryReason, detail: string): void {
    if (worker.gone) return;
    worker.gone = true;
    if (this.workers.get(worker.id) === worker) this.workers.delete(worker.id);
    this.emitter.emit({ type: "worker-left", workerId: worker.id, reason: detail });
    for (const [key, task] of worker.held) {
      worker.held.delete(key);
      if (key === toHeldKey(task.id, task.attempt) && task.workerId === worker.id) this.retry(task, reason, `${worker.id} ${detail}`);
    }
    this.dispatch();
  }

  private drop(worker: WorkerState, reason: RetryReason, detail: string): void {
    this.lose(worker, reason, detail);
    void worker.connection.close(detail);
  }

  /** Once per heartbeat period: drops silent workers, fails jobs that no worker could take for `taskTimeoutMs x maxAttempts`. */
  private sweepStale(): void {
    const limit = MISSED_HEARTBEATS * this.heartbeatMs;
    const now = performance.now();
    for (const worker of [...this.workers.values()]) {
      // Any bytes count as being heard, also those of a frame still arriving (a large result on a slow link).
      const heard = worker.connection.receivedAt;
      if (now - heard > limit) this.drop(worker, "heartbeat", `missed ${MISSED_HEARTBEATS} heartbeats (silent ${Math.round(now - heard)} ms)`);
    }
    const patience = this.taskTimeoutMs * this.maxAttempts;
    for (const task of [...this.queue]) {
      if (task.attempt > 0 || now - task.job.startedAt < patience || this.creditFor(task.job.op) > 0) continue;
      const offered = [...new Set([...this.workers.values()].flatMap((worker) => [...worker.ops]))].join(", ") || "no worker connected";
      this.failJob(task.job, new FleetError("NO_WORKER", `no worker offers ${task.job.op} (${offered}) after ${Math.round(patience)} ms`, 503));
    }
  }
}
