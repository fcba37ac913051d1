// The grayscale worker role: dials the manager, runs image ops on the raw pixels it is assigned, answers each one.
import { Type as t } from "@sinclair/typebox";
import { availableParallelism, hostname as readHostname } from "node:os";
import { FleetError } from "../errors";
import { NO_IMPAIRMENT, type ImpairmentReport } from "../impair";
import { RateSeries, perSecond, round2 } from "../metrics";
import { PROTOCOL_VERSION, connectTo, type Assign, type Connection, type Message, type Result, type TaskError } from "../protocol";
import { Slots } from "../slots";
import { parseDuration } from "../units";
import { IMAGE_OPS, readTask, runTask, toTaskFailure, type ImageTask } from "./_worker-task";
import type { Role, RoleHandle } from "./types";

const options = t.Object(
  {
    manager: t.String({ pattern: "^.+:[0-9]{1,5}$", description: "the manager's HOST:PORT" }),
    concurrency: t.Integer({ minimum: 1, maximum: 1024, default: availableParallelism(), description: "tasks run at once; the credit offered to the manager" }),
    id: t.Optional(t.String({ minLength: 1, maxLength: 128, description: "worker id; default HOSTNAME-PID" })),
    reconnect: t.String({ default: "1s", description: "first wait before redialling a lost manager; doubles up to 30s" }),
  },
  { additionalProperties: false },
);

/** The longest wait between two dials of an unreachable manager. */
const MAX_RECONNECT_MS = 30_000;

/** Splits `HOST:PORT` (`[v6]:PORT` too). @throws FleetError BAD_MANAGER (422). */
function parseManager(text: string): { hostname: string; port: number } {
  const colon = text.lastIndexOf(":");
  const hostname = text.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(text.slice(colon + 1));
  if (!hostname || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new FleetError("BAD_MANAGER", `--manager ${text}: expected HOST:PORT with a port in 1..65535`, 422);
  return { hostname, port };
}

/** CPU use of this process since the last call, in percent of all `cores`. */
function createCpuMeter(cores: number): () => number {
  let last = { usage: process.cpuUsage(), at: performance.now() };
  return () => {
    const now = { usage: process.cpuUsage(), at: performance.now() };
    const usedMs = (now.usage.user - last.usage.user + now.usage.system - last.usage.system) / 1000;
    const wallMs = Math.max(now.at - last.at, 1);
    last = now;
    return round2(Math.max(0, ((usedMs / wallMs) * 100) / cores));
  };
}

export default {
  name: "grayscale-worker",
  summary: "runs image ops (grayscale, blur, ...) on raw-pixel tasks assigned by the manager",
  options,
  async start(opts, context): Promise<RoleHandle> {
    const manager = parseManager(opts.manager);
    const reconnectMs = parseDuration(opts.reconnect, "--reconnect");
    const workerId = opts.id ?? `${readHostname()}-${process.pid}`;
    const cores = availableParallelism();
    const impair = context.impair ?? NO_IMPAIRMENT;
    const slots = new Slots(opts.concurrency);
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
    // waits the delay first; the op itself is the unit of work for `cpu`. Heartbeats are not impaired.
    const reply = async (connection: Connection, answer: Result | TaskError): Promise<void> => {
      if (answer.type === "error") totals.tasks_failed += 1;
      if (impair.drops()) return;
      await impair.beforeSend();
      // A closed connection loses the answer; the manager reassigns the task.
      if (connection.isOpen) await connection.send(answer).catch(() => {});
    };
    const refuse = (connection: Connection, assign: Assign, error: unknown): Promise<void> =>
      reply(connection, { type: "error", taskId: assign.taskId, attempt: assign.attempt, ...toTaskFailure(error) });

    // The result's meta carries `wait_ms` (queued behind the credit) and `ms` (the op) for the manager's timing.
    const perform = async (connection: Connection, assign: Assign, task: ImageTask): Promise<void> => {
      const arrived = performance.now();
      if (!(await slots.acquire())) return;
      const { taskId, attempt } = assign;
      let answer: Result | TaskError;
      const began = performance.now();
      try {
        if (!connection.isOpen) return;
        const output = await impair.runUnit(() => runTask(task));
        totals.tasks_done += 1;
        series.add(1, output.data.length);
        const timing = { wait_ms: round2(began - arrived), ms: round2(performance.now() - began) };
        answer = { type: "result", taskId, attempt, meta: { width: output.width, height: output.height, channels: output.channels, ...timing }, payload: output.data };
      } catch (error) {
        answer = { type: "error", taskId, attempt, ...toTaskFailure(error) };
      } finally {
        busyMs += performance.now() - began;
        slots.release();
      }
      await reply(connection, answer);
    };

    // Runs at most `concurrency` tasks and queues as many more; past that the manager
    // overran its credit and hears BUSY.
    const accept = (connection: Connection, assign: Assign): void => {
      let task: ImageTask;
      try {
        task = readTask(assign);
        if (stopping) throw new FleetError("STOPPING", "the worker is stopping", 503);
        if (pending.size >= 2 * opts.concurrency)
          throw new FleetError("BUSY", `${pending.size} tasks in hand; credit is ${opts.concurrency}`, 503);
      } catch (error) {
        void refuse(connection, assign, error);
        return;
      }
      const work = perform(connection, assign, task).finally(() => pending.delete(work));
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

    const handle = (connection: Connection, message: Message): void => {
      if (message.type === "assign") accept(connection, message);
      else if (message.type === "welcome") {
        welcomed = true;
        startHeartbeats(connection, message.heartbeatMs);
        context.log("worker_welcomed", { manager: opts.manager, heartbeat_ms: message.heartbeatMs });
      } else context.log("worker_unexpected_message", { type: message.type });
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
          connection = await connectTo(manager);
        } catch (error) {
          context.log("worker_dial_failed", { manager: opts.manager, error: (error as Error).message, retry_ms: waitMs });
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
        connection.onMessage((message) => handle(connection, message));
        const hello = { type: "hello", version: PROTOCOL_VERSION, workerId, ops: IMAGE_OPS, cores, credit: opts.concurrency } as const;
        await connection.send(hello).catch(() => {});
        const reason = await connection.closed;
        clearInterval(heartbeat);
        current = undefined;
        if (welcomed) waitMs = reconnectMs;
        welcomed = false;
        if (stopping) break;
        context.log("worker_manager_lost", { manager: opts.manager, reason: `${reason.code}: ${reason.message}`, retry_ms: waitMs });
        await pause(waitMs);
        waitMs = Math.min(waitMs * 2, MAX_RECONNECT_MS);
      }
    };
    const loop = serve();

    const stats = (): Record<string, unknown> & { role: string; impairment?: ImpairmentReport } => {
      const elapsed = (stoppedAt || Date.now()) - startedAt;
      return {
        role: "grayscale-worker",
        manager: opts.manager,
        worker_id: workerId,
        connected: welcomed,
        ...totals,
        in_flight: pending.size,
        images_per_s: perSecond(totals.tasks_done, elapsed),
        rate_5s: series.rate(5),
        busy_ms: Math.round(busyMs),
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
  },
} satisfies Role<typeof options>;
