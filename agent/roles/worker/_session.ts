// What every worker role shares: dial the manager, answer its challenge with an authenticated hello, run assigned tasks, heartbeats, reconnect with backoff, stats, stop.
import { Type as t } from "@sinclair/typebox";
import type { FleetError } from "../../errors";
import { perSecond } from "../../metrics";
import { HANDSHAKE_MAX_FRAME_BYTES, answerChallenge, checkWelcome, connectTo, type Challenge, type Connection, type Message, type Welcome } from "../../protocol";
import type { WorkerStats } from "../../wire";
import { arrive } from "./_assigns";
import { createCpuMeter } from "./_dial";
import { createSession, type Session, type SessionSettings, type TaskRunner } from "./_state";
import type { RoleContext, RoleHandle } from "../types";

export type { SessionSettings, TaskRunner } from "./_state";

/** The options every worker role has besides its own: where the manager is, who it is, how it redials. */
export const sessionOptions = {
  manager: t.Optional(t.String({ pattern: "^.+:[0-9]{1,5}$", description: "the manager's HOST:PORT to dial (TCP); no default: give this or --broker" })),
  broker: t.Optional(t.String({ pattern: "^nats://.+:[0-9]{1,5}$", description: "pull tasks from the NATS JetStream broker at nats://HOST:PORT instead of dialling a manager (the agent's token is the NATS token); no default" })),
  id: t.Optional(t.String({ minLength: 1, maxLength: 128, description: "worker id; default HOSTNAME-PID" })),
  reconnect: t.String({ default: "1s", description: "first wait before redialling a lost manager; doubles up to 30s" }),
};

/** The longest wait between two dials of an unreachable manager. */
const MAX_RECONNECT_MS = 30_000;

/** The wait before the next dial: `waitMs` now, doubling after each wait up to MAX_RECONNECT_MS; back to `reconnect` once welcomed. */
interface Redial {
  waitMs: number;
}

/** Waits `redial.waitMs` (or until stop wakes it), then doubles the next wait. */
async function waitToRedial<Task>(session: Session<Task>, redial: Redial): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, redial.waitMs);
    session.wakeSleep = () => (clearTimeout(timer), resolve());
  });
  redial.waitMs = Math.min(redial.waitMs * 2, MAX_RECONNECT_MS);
}

/** Dials the manager; undefined (logged, after the wait) when it cannot be reached. */
async function dial<Task>(session: Session<Task>, redial: Redial): Promise<Connection | undefined> {
  try {
    session.dialing = true;
    return await connectTo({ ...session.manager, handshakeFrameBytes: HANDSHAKE_MAX_FRAME_BYTES });
  } catch (error) {
    session.context.log("worker_dial_failed", { manager: session.settings.manager, error: (error as Error).message, retry_ms: redial.waitMs });
    await waitToRedial(session, redial);
    return undefined;
  } finally {
    session.dialing = false;
  }
}

/** Beats every `everyMs` (the welcome's) with the load of this worker; heartbeats are not impaired. */
function startHeartbeats<Task>(session: Session<Task>, connection: Connection, everyMs: number): void {
  const measureCpu = createCpuMeter(session.cores);
  clearInterval(session.heartbeat);
  session.heartbeat = setInterval(() => {
    const beat = { inFlight: session.pending.size, done: session.totals.tasks_done, cpuPercent: measureCpu(), rssBytes: process.memoryUsage.rss() };
    if (connection.isOpen) void connection.send({ type: "heartbeat", ...beat }).catch(() => {});
  }, everyMs);
}

/** Refuses the manager: says why (reject), logs it, closes. */
function refuseManager<Task>(session: Session<Task>, connection: Connection, reason: string): void {
  session.context.log("worker_refused_manager", { manager: session.settings.manager, remote: connection.remote, reason });
  void connection.send({ type: "reject", reason }).catch(() => {});
  void connection.close(reason);
}

/** Answers the manager's challenge with a hello carrying the proof of the token (agent/protocol/auth.ts). */
function greet<Task>(session: Session<Task>, connection: Connection, challenge: Challenge): void {
  const { handshake, runner, workerId, cores, credit } = session;
  try {
    handshake.challenge = challenge;
    handshake.hello = answerChallenge(session.context.token, challenge, { workerId, ops: runner.ops, cores, credit });
  } catch (error) {
    return refuseManager(session, connection, (error as Error).message);
  }
  void connection.send(handshake.hello).catch(() => {});
}

/** Checks the welcome's proof; once it holds, takes tasks (bigger frames) and beats. */
function welcome<Task>(session: Session<Task>, connection: Connection, message: Welcome): void {
  const problem = checkWelcome(session.context.token, session.handshake.challenge!, session.handshake.hello!, message);
  if (problem) return refuseManager(session, connection, problem);
  session.welcomed = true;
  connection.raiseFrameLimit();
  startHeartbeats(session, connection, message.heartbeatMs);
  session.context.log("worker_welcomed", { manager: session.settings.manager, heartbeat_ms: message.heartbeatMs });
}

/** The handshake: challenge -> hello (with proof) -> welcome (its proof checked); assigns only after it. */
function handle<Task>(session: Session<Task>, connection: Connection, message: Message): void {
  const { welcomed, handshake } = session;
  if (welcomed && message.type === "assign") void arrive(session, connection, message);
  else if (message.type === "challenge" && !handshake.challenge) greet(session, connection, message);
  else if (message.type === "welcome" && handshake.hello && !welcomed) welcome(session, connection, message);
  else if (!welcomed) refuseManager(session, connection, `protocol error: got ${message.type} before the handshake was done`);
  else session.context.log("worker_unexpected_message", { type: message.type });
}

/** Serves one connection until it closes: its reason, and whether the manager had welcomed this worker. */
async function runConnection<Task>(session: Session<Task>, connection: Connection): Promise<{ reason: FleetError; welcomed: boolean }> {
  session.current = connection;
  session.handshake = {};
  connection.onMessage((message) => handle(session, connection, message));
  const reason = await connection.closed;
  clearInterval(session.heartbeat);
  session.current = undefined;
  const welcomed = session.welcomed;
  session.welcomed = false;
  return { reason, welcomed };
}

/**
 * One session per loop turn: dial, hello, serve until the connection ends, wait, again.
 * Tasks of a lost session are abandoned: the manager reassigns them.
 */
async function serve<Task>(session: Session<Task>): Promise<void> {
  const { settings, context } = session;
  const redial: Redial = { waitMs: session.reconnectMs };
  let sessions = 0;
  while (!session.stopping) {
    const connection = await dial(session, redial);
    if (!connection) continue;
    if (session.stopping) {
      await connection.close("worker stopping");
      break;
    }
    if (sessions++ > 0) session.totals.reconnects += 1;
    const { reason, welcomed } = await runConnection(session, connection);
    if (welcomed) redial.waitMs = session.reconnectMs;
    if (session.stopping) break;
    if (reason.code === "PEER_REJECTED") context.log("worker_rejected", { manager: settings.manager, reason: reason.message, retry_ms: redial.waitMs });
    context.log("worker_manager_lost", { manager: settings.manager, reason: `${reason.code}: ${reason.message}`, retry_ms: redial.waitMs });
    await waitToRedial(session, redial);
  }
}

/** The session's live (or final) figures (either transport). */
export function readStats<Task>(session: Session<Task>): WorkerStats {
  const { settings, totals, series } = session;
  return {
    role: settings.role,
    manager: settings.manager ?? settings.broker ?? "",
    worker_id: session.workerId,
    connected: session.welcomed,
    ...totals,
    credit: session.credit,
    in_flight: session.pending.size,
    images_per_s: perSecond(totals.tasks_done, session.span.elapsedMs()),
    rate_5s: series.rate(5),
    busy_ms: Math.round(session.busyMs),
    ...session.runner.stats?.(),
    series: series.points(),
    impairment: session.impair.describe(),
  };
}

/**
 * Stops in reverse order of start: heartbeats, tasks (running ones finish and answer, queued
 * ones are dropped), the connection (bye), the session loop.
 */
async function stopSession<Task>(session: Session<Task>, loop: Promise<void>): Promise<void> {
  session.stopping = true;
  clearInterval(session.heartbeat);
  session.slots.close();
  await Promise.allSettled([...session.pending]);
  await session.current?.close("worker stopping");
  session.wakeSleep();
  // A dial in progress may hang on an unreachable host; the loop closes what it yields.
  if (!session.dialing) await loop;
  session.span.stop();
}

/**
 * Starts serving `runner` to the manager: dials, answers the manager's challenge with a hello
 * (`credit`, and the proof of `context.token`, agent/protocol/auth.ts), takes tasks only once
 * the welcome's proof holds, answers each assign with a result or an error, beats every
 * `heartbeatMs` of the welcome, and redials a lost, unreachable or refusing manager (wait
 * doubling from `reconnect` up to 30 s).
 * @throws FleetError BAD_MANAGER (422) for an address that is not HOST:PORT, BAD_OPTIONS for a bad `reconnect`.
 */
export function startWorkerSession<Task>(settings: SessionSettings, context: RoleContext, runner: TaskRunner<Task>): RoleHandle {
  const session = createSession(settings, context, runner);
  const loop = serve(session);
  let stopped: Promise<void> | undefined;
  return { stats: () => readStats(session), stop: () => (stopped ??= stopSession(session, loop)) };
}
