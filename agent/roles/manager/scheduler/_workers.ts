// Connected workers as the scheduler sees them: credit held, liveness, load; and the choice of who gets a task.
import type { Connection, Hello } from "../../../protocol";
import type { Task } from "./_tasks";

/** One welcomed worker. */
export interface WorkerState {
  id: string;
  connection: Connection;
  ops: ReadonlySet<string>;
  cores: number;
  /** Tasks it may hold at once (its hello credit). */
  credit: number;
  /** Attempts sent and not yet answered, by `taskId#attempt`; an attempt given up (timeout) is removed, so a lost answer cannot hold credit. */
  held: Map<string, Task>;
  done: number;
  failed: number;
  cpuPercent: number;
  rssBytes: number;
  gone: boolean;
  /** Said STOPPING: takes no new task, finishes what it holds, then leaves. */
  draining: boolean;
  /** Said BUSY: takes no new task until its next message (an answer or a heartbeat). */
  paused: boolean;
}

/** What `Scheduler.workers()` shows of one worker. */
export interface WorkerSnapshot {
  workerId: string;
  remote: string;
  ops: string[];
  cores: number;
  credit: number;
  inFlight: number;
  done: number;
  failed: number;
  cpuPercent: number;
  rssBytes: number;
  /** Milliseconds since anything was heard from it. */
  silentMs: number;
}

/** A fresh state for a worker that said `hello`. */
export function createWorker(connection: Connection, hello: Hello): WorkerState {
  return {
    id: hello.workerId,
    connection,
    ops: new Set(hello.ops),
    cores: hello.cores,
    credit: hello.credit,
    held: new Map(),
    done: 0,
    failed: 0,
    cpuPercent: 0,
    rssBytes: 0,
    gone: false,
    draining: false,
    paused: false,
  };
}

/** The key of one attempt in `WorkerState.held`. */
export function toHeldKey(taskId: string, attempt: number): string {
  return `${taskId}#${attempt}`;
}

/**
 * The worker to send `task` to, or null to leave it queued: among workers offering its op
 * with credit left, the one with most credit left (earliest joined on a tie), but never the
 * worker whose attempt failed last while another worker offering the op is connected.
 */
export function pickWorker(workers: Iterable<WorkerState>, task: Task): WorkerState | null {
  let best: WorkerState | null = null;
  let others = false;
  for (const worker of workers) {
    if (worker.gone || worker.draining || worker.paused || !worker.ops.has(task.job.op)) continue;
    if (worker.id === task.lastWorkerId) continue;
    others = true;
    if (worker.held.size < worker.credit && (!best || worker.credit - worker.held.size > best.credit - best.held.size)) best = worker;
  }
  if (best || others) return best;
  for (const worker of workers) {
    if (!worker.gone && !worker.draining && !worker.paused && worker.id === task.lastWorkerId && worker.ops.has(task.job.op) && worker.held.size < worker.credit) return worker;
  }
  return null;
}

/** The public view of a worker. */
export function toSnapshot(worker: WorkerState, now: number): WorkerSnapshot {
  return {
    workerId: worker.id,
    remote: worker.connection.remote,
    ops: [...worker.ops],
    cores: worker.cores,
    credit: worker.credit,
    inFlight: worker.held.size,
    done: worker.done,
    failed: worker.failed,
    cpuPercent: worker.cpuPercent,
    rssBytes: worker.rssBytes,
    silentMs: Math.round(now - worker.connection.receivedAt),
  };
}
