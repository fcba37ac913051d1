// The state of one worker session, shared by its steps: settings read once, counters, the connection now, the handshake.
import { availableParallelism, hostname as readHostname } from "node:os";
import { NO_IMPAIRMENT, type Impairer } from "../../impair";
import { RateSeries, RateSpan } from "../../metrics";
import { MAX_CREDIT, type Assign, type Challenge, type Connection, type Hello, type Op } from "../../protocol";
import { Slots } from "../../slots";
import { parseDuration } from "../../units";
import type { RecognitionWorkerFigures, WorkerStats } from "../../wire";
import { parseManager } from "./_dial";
import type { RoleContext } from "../types";

/** What a worker role plugs into the session. */
export interface TaskRunner<Task> {
  /** The ops offered in the hello. */
  ops: Op[];
  /** Reads an assign. @throws FleetError for a bad one: answered with an error at once, never run. */
  read(assign: Assign): Task;
  /** Runs one task: the result's meta (the session adds `wait_ms` and `ms`) and payload. @throws FleetError answered as an error. */
  run(task: Task): Promise<{ meta: Record<string, unknown>; payload: Uint8Array }>;
  /** Figures of the role's own, merged into its stats (agent/wire.ts WorkerStats). */
  stats?(): Partial<RecognitionWorkerFigures>;
}

/** A session's settings: `credit` tasks run at once (and as many more may wait; past that BUSY); at most MAX_CREDIT (64) are offered. */
export interface SessionSettings {
  role: WorkerStats["role"];
  /** The manager's HOST:PORT (TCP transport). */
  manager?: string;
  /** The broker's nats://HOST:PORT (NATS transport); exactly one of `manager` and `broker` is given. */
  broker?: string;
  id?: string;
  reconnect: string;
  credit: number;
}

/** One session's state; its steps (agent/roles/worker/_session.ts, _assigns.ts) read and update it. */
export interface Session<Task> {
  settings: SessionSettings;
  context: RoleContext;
  runner: TaskRunner<Task>;
  /** Where to dial (TCP transport; empty for the broker). */
  manager: { hostname: string; port: number };
  reconnectMs: number;
  workerId: string;
  credit: number;
  cores: number;
  impair: Impairer;
  slots: Slots;
  series: RateSeries;
  span: RateSpan;
  /** Tasks accepted and not yet answered, running or waiting for a slot. */
  pending: Set<Promise<void>>;
  totals: { tasks_done: number; tasks_failed: number; reconnects: number };
  busyMs: number;
  stopping: boolean;
  /** A dial is in progress (it may hang on an unreachable host). */
  dialing: boolean;
  /** The manager's welcome was checked on the connection now: assigns are taken. */
  welcomed: boolean;
  current?: Connection;
  heartbeat?: ReturnType<typeof setInterval>;
  /** Ends the wait before the next dial at once (stop). */
  wakeSleep(): void;
  handshake: { challenge?: Challenge; hello?: Hello };
}

/**
 * The state of a new session, its settings read.
 * @throws FleetError BAD_MANAGER (422) for an address that is not HOST:PORT, BAD_OPTIONS for a bad `reconnect`.
 */
export function createSession<Task>(settings: SessionSettings, context: RoleContext, runner: TaskRunner<Task>): Session<Task> {
  const credit = Math.min(settings.credit, MAX_CREDIT);
  return {
    settings,
    context,
    runner,
    manager: settings.broker ? { hostname: "", port: 0 } : parseManager(settings.manager ?? ""),
    reconnectMs: parseDuration(settings.reconnect, "--reconnect"),
    workerId: settings.id ?? `${readHostname()}-${process.pid}`,
    credit,
    cores: availableParallelism(),
    impair: context.impair ?? NO_IMPAIRMENT,
    slots: new Slots(credit),
    series: new RateSeries(),
    span: new RateSpan(),
    pending: new Set(),
    totals: { tasks_done: 0, tasks_failed: 0, reconnects: 0 },
    busyMs: 0,
    stopping: false,
    dialing: false,
    welcomed: false,
    wakeSleep: () => {},
    handshake: {},
  };
}
