// The worker's NATS transport: pulls tasks from its kind's work-queue stream one per free slot, runs them with the same runner, publishes each answer, then acks, naks or terminates the task.
import { jetstream, type Consumer, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { FleetError } from "../../errors";
import { round2 } from "../../metrics";
import { connectBroker, configureConsumers, ensureStreams, HEADERS, openPayloads, packMessage, TASK_STREAMS, toSubjectToken, unpackMessage, WORKER_BEATS, WORKER_CONSUMER, type AttemptRules, type BrokerConnection, type WorkerBeat } from "../../broker";
import { INPUT_FAULTS, OP_DEFINITIONS, type Result, type TaskError } from "../../protocol";
import { createCpuMeter } from "./_dial";
import { readStats } from "./_session";
import { createSession, type Session, type SessionSettings, type TaskRunner } from "./_state";
import { toTaskFailure } from "./_task";
import type { RoleContext, RoleHandle } from "../types";

/** Rules a worker creates the consumer with when no manager has yet (the manager's defaults). */
const DEFAULT_RULES: AttemptRules = { ackWaitMs: 5000, maxAttempts: 5 };
/** How long one pull waits for a task before pulling again (ms). */
const PULL_EXPIRES_MS = 2000;
/** How often the consumer's rules are read again (a manager may change them), ms. */
const RULES_EVERY_MS = 5000;
/** Heartbeats on WORKER_BEATS, ms: the managers' `/workers` and the stripe count use them. */
export const BEAT_EVERY_MS = 1000;
/** A delivery held past this share of AckWait since the last working() counts as expired: its answer is sent marked late and never acked. */
const LATE_SHARE = 0.9;

/** What one broker session holds besides the shared session state. */
interface Broker {
  connection: BrokerConnection;
  js: JetStreamClient;
  consumer: Consumer;
  payloads: ObjectStore;
  rules: AttemptRules & { readAt: number };
}

/** Reads AckWait and MaxDeliver from the consumer now and then. */
async function refreshRules(broker: Broker): Promise<AttemptRules> {
  if (performance.now() - broker.rules.readAt < RULES_EVERY_MS) return broker.rules;
  const { config } = await broker.consumer.info();
  broker.rules = { ackWaitMs: (config.ack_wait ?? DEFAULT_RULES.ackWaitMs * 1e6) / 1e6, maxAttempts: config.max_deliver ?? DEFAULT_RULES.maxAttempts, readAt: performance.now() };
  return broker.rules;
}

/**
 * Publishes a task's answer, then settles the delivery: a result is acked, an input fault or a
 * last attempt's error terminated, any other error nak'ed (redelivered at once, attempt + 1).
 * Impairment as on TCP: a lost answer is neither sent nor acked (redelivered after AckWait); a
 * sent one waits the delay first. A delivery that expired meanwhile is answered marked late and
 * left alone: its redelivery owns the message, and a late ack would delete it under it.
 */
async function answer<Task>(session: Session<Task>, broker: Broker, msg: JsMsg, reply: string, answer: Result | TaskError, lastExtended: () => number): Promise<void> {
  if (answer.type === "error") session.totals.tasks_failed += 1;
  if (session.impair.drops()) return;
  await session.impair.beforeSend();
  const rules = broker.rules;
  const late = performance.now() - lastExtended() > rules.ackWaitMs * LATE_SHARE;
  const { taskId, attempt } = answer;
  const headers = { [HEADERS.task]: taskId, [HEADERS.worker]: session.workerId, ...(late ? { [HEADERS.late]: "1" } : {}) };
  try {
    const packed = await packMessage(answer, broker.payloads, `r-${toSubjectToken(taskId)}-${attempt}`, headers);
    await broker.js.publish(reply, packed.body, { msgID: `${taskId}#${attempt}`, headers: packed.headers });
  } catch (error) {
    session.context.log("worker_result_unsent", { task: taskId, attempt, error: (error as Error).message });
    if (!late) msg.nak();
    return;
  }
  if (late) return session.context.log("worker_answer_late", { task: taskId, attempt, ack_wait_ms: rules.ackWaitMs });
  if (answer.type === "result") await msg.ackAck().catch(() => {});
  else if (INPUT_FAULTS.has(answer.code) || attempt >= rules.maxAttempts) msg.term(`${answer.code}: ${answer.message}`.slice(0, 256));
  else msg.nak();
}

/**
 * Runs one delivery under the task contract: its message must be an assign (an object payload
 * fetched back) read by the runner like a TCP assign, its attempt the delivery count. The
 * delivery is kept alive with working() every third of AckWait while it runs.
 */
async function perform<Task>(session: Session<Task>, broker: Broker, msg: JsMsg): Promise<void> {
  const taskId = msg.headers?.get(HEADERS.task) ?? "";
  const reply = msg.headers?.get(HEADERS.reply) ?? "";
  if (!taskId || !reply.startsWith("framefleet.result.")) {
    session.context.log("worker_task_unanswerable", { seq: msg.seq, problem: "no task id or result subject in its headers" });
    return msg.term("BAD_TASK: no task id or result subject in its headers");
  }
  const attempt = msg.info.deliveryCount;
  const rules = await refreshRules(broker).catch(() => broker.rules);
  let extendedAt = performance.now();
  const keepAlive = setInterval(() => (msg.working(), (extendedAt = performance.now())), Math.max(rules.ackWaitMs / 3, 50));
  const began = performance.now();
  let reply_: Result | TaskError;
  try {
    const message = await unpackMessage(msg.data, msg.headers, broker.payloads);
    if (message.type !== "assign" || message.taskId !== taskId) throw new FleetError("BAD_TASK", `the task message holds ${message.type === "assign" ? `task ${message.taskId}` : `a ${message.type}`}, not an assign of ${taskId}`, 422);
    const task = session.runner.read({ ...message, attempt });
    const output = await session.impair.runUnit(() => session.runner.run(task));
    session.totals.tasks_done += 1;
    session.series.add(1, output.payload.length);
    reply_ = { type: "result", taskId, attempt, meta: { ...output.meta, wait_ms: 0, ms: round2(performance.now() - began) }, payload: output.payload };
  } catch (error) {
    reply_ = { type: "error", taskId, attempt, ...toTaskFailure(error) };
  } finally {
    clearInterval(keepAlive);
    session.busyMs += performance.now() - began;
  }
  await answer(session, broker, msg, reply, reply_, () => extendedAt);
}

/** The longest wait between two failed pulls (the broker away), ms. */
const MAX_PULL_RETRY_MS = 5000;

/**
 * Pulls one task per free slot (the pull batch is the credit: nothing is buffered ahead), until
 * stopped. A failed pull (the broker away; the client reconnects by itself) is logged and tried
 * again after a wait doubling from 500 ms to 5 s.
 */
async function pull<Task>(session: Session<Task>, broker: Broker): Promise<void> {
  let retryMs = 500;
  while (!session.stopping) {
    if (!(await session.slots.acquire())) break;
    let msg: JsMsg | null = null;
    try {
      msg = await broker.consumer.next({ expires: PULL_EXPIRES_MS });
      retryMs = 500;
    } catch (error) {
      if (!session.stopping) {
        session.context.log("worker_pull_failed", { broker: session.settings.broker, error: (error as Error).message, retry_ms: retryMs });
        await Bun.sleep(retryMs);
        retryMs = Math.min(retryMs * 2, MAX_PULL_RETRY_MS);
      }
    }
    if (!msg) {
      session.slots.release();
      continue;
    }
    const work: Promise<void> = perform(session, broker, msg)
      .catch((error) => session.context.log("worker_task_failed", { seq: msg.seq, error: (error as Error).message }))
      .finally(() => (session.slots.release(), session.pending.delete(work)));
    session.pending.add(work);
  }
}

/** Beats on WORKER_BEATS: who this worker is, its ops and credit, its load. */
function startBeats<Task>(session: Session<Task>, broker: Broker): void {
  const measureCpu = createCpuMeter(session.cores);
  const { workerId, runner, credit, cores } = session;
  session.heartbeat = setInterval(() => {
    const beat: WorkerBeat = { workerId, ops: runner.ops, credit, cores, inFlight: session.pending.size, done: session.totals.tasks_done, cpuPercent: measureCpu(), rssBytes: process.memoryUsage.rss() };
    if (!broker.connection.nc.isClosed()) broker.connection.nc.publish(WORKER_BEATS, JSON.stringify(beat));
  }, BEAT_EVERY_MS);
}

/** Connects, makes sure the streams and the consumer exist, binds the consumer of the runner's kind. */
async function openBroker<Task>(session: Session<Task>): Promise<Broker> {
  const connection = await connectBroker(session.settings.broker!, `framefleet ${session.settings.role} ${session.workerId}`, session.context.token);
  try {
    await ensureStreams(connection.jsm);
    await configureConsumers(connection.jsm, DEFAULT_RULES, true);
    const js = jetstream(connection.nc);
    const stream = TASK_STREAMS[OP_DEFINITIONS[session.runner.ops[0]!].worker].name;
    const consumer = await js.consumers.get(stream, WORKER_CONSUMER);
    const broker: Broker = { connection, js, consumer, payloads: await openPayloads(connection.nc), rules: { ...DEFAULT_RULES, readAt: -Infinity } };
    await refreshRules(broker);
    return broker;
  } catch (error) {
    await connection.nc.close().catch(() => {});
    if (error instanceof FleetError) throw error;
    throw new FleetError("BROKER_SETUP_FAILED", `--broker ${session.settings.broker}: ${(error as Error).message}`, 503, { cause: error });
  }
}

/**
 * Serves `runner` from the broker (`settings.broker`): pulls tasks of the runner's kind, one per
 * free slot of `credit`, runs them, publishes each answer with Nats-Msg-Id = task id # attempt,
 * beats every second. Stop: no more pulls, running tasks finish and answer, the connection drains.
 * @throws FleetError as `connectBroker` (BAD_BROKER, BROKER_UNREACHABLE, BROKER_AUTH, BROKER_NO_JETSTREAM), BROKER_SETUP_FAILED.
 */
export async function startBrokerSession<Task>(settings: SessionSettings, context: RoleContext, runner: TaskRunner<Task>): Promise<RoleHandle> {
  const session = createSession(settings, context, runner);
  const broker = await openBroker(session);
  session.welcomed = true;
  context.log("worker_broker_connected", { broker: settings.broker, worker: session.workerId, ack_wait_ms: broker.rules.ackWaitMs, max_attempts: broker.rules.maxAttempts });
  startBeats(session, broker);
  const loop = pull(session, broker);
  const stop = async (): Promise<void> => {
    session.stopping = true;
    clearInterval(session.heartbeat);
    session.slots.close();
    await loop;
    await Promise.allSettled([...session.pending]);
    session.welcomed = false;
    await broker.connection.nc.drain().catch(() => {});
    session.span.stop();
  };
  let stopped: Promise<void> | undefined;
  return { stats: () => readStats(session), stop: () => (stopped ??= stop()) };
}
