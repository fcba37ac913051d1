// What every worker role shares: dial the manager, answer its challenge with an authenticated hello, run assigned tasks, heartbeats, reconnect with backoff, stats, stop.
import { Type as t } from "@sinclair/typebox";
import { availableParallelism, hostname as readHostname } from "node:os";
import { FleetError } from "../../errors";
import { NO_IMPAIRMENT } from "../../impair";
import { RateSeries, perSecond, round2 } from "../../metrics";
import {
  HANDSHAKE_MAX_FRAME_BYTES,
  MAX_CREDIT,
  answerChallenge,
  checkWelcome,
  connectTo,
  type Assign,
  type Challenge,
  type Connection,
  type Hello,
  type Message,
  type Op,
  type Result,
  type TaskError,
} from "../../protocol";
import { Slots } from "../../slots";
import { parseDuration } from "../../units";
import { toTaskFailure } from "./_task";
import { createCpuMeter, parseManager } from "./_dial";
import type { RoleContext, RoleHandle, RoleStats } from "../types";

/** The options every worker role has besides its own: where the manager is, who it is, how it redials. */
export const sessionOptions = {
  manager: t.String({ pattern: "^.+:[0-9]{1,5}$", description: "the manager's HOST:PORT" }),
  id: t.Optional(t.String({ minLength: 1, maxLength: 128, description: "worker id; default HOSTNAME-PID" })),
  reconnect: t.String({ default: "1s", description: "first wait before redialling a lost manager; doubles up to 30s" }),
};

/** What a worker role plugs into the session. */
export interface TaskRunner<Task> {
  /** The ops offered in the hello. */
  ops: Op[];
  /** Reads an assign. @throws FleetError for a bad one: answered with an error at once, never run. */
  read(assign: Assign): Task;
  /** Runs one task: the result's meta (the session adds `wait_ms` and `ms`) and payload. @throws FleetError answered as an error. */
  run(task: Task): Promise<{ meta: Record<string, unknown>; payload: Uint8Array }>;
  /** Figures of the role's own, merged into its stats. */
  stats?(): Record<string, unknown>;
}

/** A session's settings: `credit` tasks run at once (and as many more may wait; past that BUSY); at most MAX_CREDIT (64) are offered. */
export interface SessionSettings {
  role: string;
  manager: string;
  id?: string;
  reconnect: string;
  credit: number;
}

/** The longest wait between two dials of an unreachable manager. */
const MAX_RECONNECT_MS = 30_000;

/**
 * Starts serving `runner` to the manager: dials, answers the manager's challenge with a hello
 * (`credit`, and the proof of `context.token`, agent/protocol/auth.ts), takes tasks only once
 * the welcome's proof holds, answers each assign with a result or an error, beats every
 * `heartbeatMs` of the welcome, and redials a lost, unreachable or refusing manager (wait
 * doubling from `reconnect` up to 30 s).
 * @throws FleetError BAD_MANAGER (422) for an address that is not HOST:PORT, BAD_OPTIONS for a bad `reconnect`.
 */
export function startWorkerSession<Task>(settings: SessionSettings, context: RoleContext, runner: TaskRunner<Task>): RoleHandle {
  const manager = parseManager(settings.manager);
  const reconnectMs = parseDuration(settings.reconnect, "--reconnect");
  const workerId = settings.id ?? `${readHostname()}-${process.pid}`;
  const credit = Math.min(settings.credit, MAX_CREDIT);
  const cores = availableParallelism();
  const impair = context.impair ?? NO_IMPAIRMENT;
  const slots = new Slots(credit);
  const series = new RateSeries();
  const pending = new Set<Promise<void>>();
  const totals = { tasks_done: 0, tasks_failed: 0, reconnects: 0 };
  const startedAt = Date.now();
  let busyMs = 0;
  let stoppedAt = 0;
  let stopping = false;
  let dialing = false;
  let welcomed = false;
  let current: Connection | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  let wakeSleep = () => {};

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeSleep = () => (clearTimeout(timer), resolve());
    });

  // Impairment: a lost answer is never sent (the manager's timer retransmits); a sent one
  // waits the delay first; the task itself is the unit of work for `cpu`. Heartbeats are not impaired.
  const reply = async (connection: Connection, answer: Result | TaskError): Promise<void> => {
    if (answer.type === "error") totals.tasks_failed += 1;
    if (impair.drops()) return;
    await impair.beforeSend();
    // A closed connection loses the answer; the manager reassigns the task.
    if (!connection.isOpen) return;
    try {
      await connection.send(answer).catch(() => {});
    } catch (error) {
      // A result the protocol refuses (past the frame limit) is answered as an error instead.
      if (answer.type !== "result") throw error;
      context.log("worker_result_refused", { task: answer.taskId, error: (error as Error).message });
      await reply(connection, { type: "error", taskId: answer.taskId, attempt: answer.attempt, code: "RESULT_TOO_LARGE", message: (error as Error).message.slice(0, 4096) });
    }
  };

  // The result's meta carries `wait_ms` (queued behind the credit) and `ms` (the task) for the manager's timing.
  const perform = async (connection: Connection, assign: Assign, task: Task): Promise<void> => {
    const arrived = performance.now();
    if (!(await slots.acquire())) return;
    const { taskId, attempt } = assign;
    let answer: Result | TaskError;
    const began = performance.now();
    try {
      if (!connection.isOpen) return;
      const output = await impair.runUnit(() => runner.run(task));
      totals.tasks_done += 1;
      series.add(1, output.payload.length);
      const timing = { wait_ms: round2(began - arrived), ms: round2(performance.now() - began) };
      answer = { type: "result", taskId, attempt, meta: { ...output.meta, ...timing }, payload: output.payload };
    } catch (error) {
      answer = { type: "error", taskId, attempt, ...toTaskFailure(error) };
    } finally {
      busyMs += performance.now() - began;
      slots.release();
    }
    await reply(connection, answer);
  };

  // Runs at most `credit` tasks and queues as many more; past that the manager overran its credit and hears BUSY.
  const accept = (connection: Connection, assign: Assign): void => {
    let task: Task;
    try {
      task = runner.read(assign);
      if (stopping) throw new FleetError("STOPPING", "the worker is stopping", 503);
      if (pending.size >= 2 * credit) throw new FleetError("BUSY", `${pending.size} tasks in hand; credit is ${credit}`, 503);
    } catch (error) {
      void reply(connection, { type: "error", taskId: assign.taskId, attempt: assign.attempt, ...toTaskFailure(error) }).catch(() => {});
      return;
    }
    const work = perform(connection, assign, task)
      .catch((error) => context.log("worker_task_failed", { task: assign.taskId, error: (error as Error).message }))
      .finally(() => pending.delete(work));
    pending.add(work);
  };

  const startHeartbeats = (connection: Connection, everyMs: number): void => {
    const measureCpu = createCpuMeter(cores);
    clearInterval(heartbeat);
    heartbeat = setInterval(() => {
      const beat = { inFlight: pending.size, done: totals.tasks_done, cpuPercent: measureCpu(), rssBytes: process.memoryUsage.rss() };
      if (connection.isOpen) void connection.send({ type: "heartbeat", ...beat }).catch(() => {});
    }, everyMs);
  };

  // Refuses the manager: says why (reject), logs it, closes.
  const refuseManager = (connection: Connection, reason: string): void => {
    context.log("worker_refused_manager", { manager: settings.manager, remote: connection.remote, reason });
    void connection.send({ type: "reject", reason }).catch(() => {});
    void connection.close(reason);
  };

  // The handshake: challenge -> hello (with proof) -> welcome (its proof checked); tasks only after it.
  const handshake = { challenge: undefined as Challenge | undefined, hello: undefined as Hello | undefined };
  const greet = (connection: Connection, challenge: Challenge): void => {
    try {
      handshake.challenge = challenge;
      handshake.hello = answerChallenge(context.token, challenge, { workerId, ops: runner.ops, cores, credit });
    } catch (error) {
      return refuseManager(connection, (error as Error).message);
    }
    void connection.send(handshake.hello).catch(() => {});
  };

  const handle = (connection: Connection, message: Message): void => {
    if (welcomed && message.type === "assign") accept(connection, message);
    else if (message.type === "challenge" && !handshake.challenge) greet(connection, message);
    else if (message.type === "welcome" && handshake.hello && !welcomed) {
      const problem = checkWelcome(context.token, handshake.challenge!, handshake.hello, message);
      if (problem) return refuseManager(connection, problem);
      welcomed = true;
      connection.raiseFrameLimit();
      startHeartbeats(connection, message.heartbeatMs);
      context.log("worker_welcomed", { manager: settings.manager, heartbeat_ms: message.heartbeatMs });
    } else if (!welcomed) refuseManager(connection, `protocol error: got ${message.type} before the handshake was done`);
    else context.log("worker_unexpected_message", { type: message.type });
  };

  // One session per loop turn: dial, hello, serve until the connection ends, wait, again.
  // Tasks of a lost session are abandoned: the manager reassigns them.
  const serve = async (): Promise<void> => {
    let waitMs = reconnectMs;
    let sessions = 0;
    while (!stopping) {
      let connection: Connection;
      try {
        dialing = true;
        connection = await connectTo({ ...manager, handshakeFrameBytes: HANDSHAKE_MAX_FRAME_BYTES });
      } catch (error) {
        context.log("worker_dial_failed", { manager: settings.manager, error: (error as Error).message, retry_ms: waitMs });
        await pause(waitMs);
        waitMs = Math.min(waitMs * 2, MAX_RECONNECT_MS);
        continue;
      } finally {
        dialing = false;
      }
      if (stopping) {
        await connection.close("worker stopping");
        break;
      }
      if (sessions++ > 0) totals.reconnects += 1;
      current = connection;
      handshake.challenge = handshake.hello = undefined;
      connection.onMessage((message) => handle(connection, message));
      const reason = await connection.closed;
      clearInterval(heartbeat);
      current = undefined;
      if (welcomed) waitMs = reconnectMs;
      welcomed = false;
      if (stopping) break;
      if (reason.code === "PEER_REJECTED") context.log("worker_rejected", { manager: settings.manager, reason: reason.message, retry_ms: waitMs });
      context.log("worker_manager_lost", { manager: settings.manager, reason: `${reason.code}: ${reason.message}`, retry_ms: waitMs });
      await pause(waitMs);
      waitMs = Math.min(waitMs * 2, MAX_RECONNECT_MS);
    }
  };
  const loop = serve();

  const stats = (): RoleStats => {
    const elapsed = (stoppedAt || Date.now()) - startedAt;
    return {
      role: settings.role,
      manager: settings.manager,
      worker_id: workerId,
      connected: welcomed,
      ...totals,
      in_flight: pending.size,
      images_per_s: perSecond(totals.tasks_done, elapsed),
      rate_5s: series.rate(5),
      busy_ms: Math.round(busyMs),
      ...runner.stats?.(),
      series: series.points(),
      impairment: impair.describe(),
    };
  };

  // Stops in reverse order of start: heartbeats, tasks (running ones finish and answer,
  // queued ones are dropped), the connection (bye), the session loop.
  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    stopping = true;
    clearInterval(heartbeat);
    slots.close();
    await Promise.allSettled([...pending]);
    await current?.close("worker stopping");
    wakeSleep();
    // A dial in progress may hang on an unreachable host; the loop closes what it yields.
    if (!dialing) await loop;
    stoppedAt = Date.now();
  };
  return { stats, stop: () => (stopped ??= stop()) };
}
