// Test fleet for the scheduler: fake workers on real sockets that run applyOp on their stripes as a real worker would, photos and event logs.
import type { RawImage } from "../../agent/imaging/ops";
import { readTask, runTask, toTaskFailure } from "../../agent/roles/worker";
import type { SchedulerEvent } from "../../agent/roles/manager/scheduler";
import { answerChallenge, checkJob, checkWelcome, connectTo, type ImageOp, type Job, type JobDraft, type Assign, type Challenge, type Connection, type Hello, type HelloFields, type Message } from "../../agent/protocol";
import sharp from "../../agent/native/sharp";
import { FIXTURES, withDeadline } from "../helpers";

/** What a fake worker does with one assign: answer it (the default), stay silent, fail it, or leave. */
/** A job checked as the manager's intake checks it (`checkJob`), typed as an image job for `submit`'s answer. */
export function checked(draft: JobDraft): Job & { op: ImageOp } {
  return checkJob(draft) as Job & { op: ImageOp };
}

export type Behaviour = "answer" | "silent" | "error" | "stopping" | "leave";

/** A fake worker connected to a scheduler. */
export interface FakeWorker extends AsyncDisposable {
  connection: Connection;
  /** Every assign received, in order. */
  assigns: Assign[];
  /** Most assigns held unanswered at once. */
  maxHeld: number;
  /** Answers a held (silent) assign now, as a late result. */
  answer(assign: Assign): Promise<void>;
  /** Resolves once `count` assigns have arrived. */
  until(count: number): Promise<void>;
  /** Stops sending heartbeats (the connection stays open). */
  mute(): void;
}

/** Runs the op with the grayscale worker's own reading of an assign (raw stripe or whole file). */
export async function runAssign(assign: Assign): Promise<{ meta: Record<string, unknown>; payload: Uint8Array }> {
  const output = await runTask(readTask(assign));
  return { meta: { width: output.width, height: output.height, channels: output.channels }, payload: output.data };
}

/**
 * Dials the scheduler, answers its challenge with a hello (credit 1 unless told; proving
 * `token` when given) and follows `behave` for each assign; heartbeats once its welcome's proof
 * holds. Resolves once the hello is sent.
 */
export async function startWorker(
  port: number,
  fields: Partial<HelloFields> & { workerId: string },
  behave: (assign: Assign, index: number) => Behaviour = () => "answer",
  token?: string,
): Promise<FakeWorker> {
  const connection = await connectTo({ hostname: "127.0.0.1", port });
  const assigns: Assign[] = [];
  const waits: { count: number; resolve(): void }[] = [];
  let held = 0;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const worker: FakeWorker = {
    connection,
    assigns,
    maxHeld: 0,
    answer: async (assign) => {
      const { taskId, attempt } = assign;
      // As a real worker: a task that throws is answered with an error naming its code.
      const reply: Message = await runAssign(assign).then(
        ({ meta, payload }) => ({ type: "result" as const, taskId, attempt, meta, payload }),
        (error) => ({ type: "error" as const, taskId, attempt, ...toTaskFailure(error) }),
      );
      held -= 1;
      await connection.send(reply).catch(() => {});
    },
    mute: () => clearInterval(heartbeat),
    until: (count) => withDeadline(`${count} assigns`, assigns.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waits.push({ count, resolve })), () => assigns.length),
    [Symbol.asyncDispose]: async () => {
      clearInterval(heartbeat);
      await connection.close("test over");
    },
  };
  connection.onClose(() => clearInterval(heartbeat));
  const said = Promise.withResolvers<void>();
  let challenge: Challenge | undefined;
  let hello: Hello | undefined;
  connection.onMessage(async (message: Message) => {
    if (message.type === "challenge") {
      challenge = message;
      hello = answerChallenge(token, message, { ops: ["grayscale", "blur", "resize"], cores: 1, credit: 1, ...fields });
      await connection.send(hello);
      return said.resolve();
    }
    if (message.type === "welcome") {
      const problem = checkWelcome(token, challenge!, hello!, message);
      if (problem) return void connection.close(problem);
      heartbeat = setInterval(() => void connection.send({ type: "heartbeat", inFlight: held, done: 0, cpuPercent: 1, rssBytes: 1 }).catch(() => {}), message.heartbeatMs);
      return;
    }
    if (message.type !== "assign") return;
    const assign = { ...message, payload: message.payload.slice() };
    assigns.push(assign);
    held += 1;
    worker.maxHeld = Math.max(worker.maxHeld, held);
    for (const wait of waits.splice(0)) if (assigns.length >= wait.count) wait.resolve(); else waits.push(wait);
    const behaviour = behave(assign, assigns.length - 1);
    if (behaviour === "answer") await worker.answer(assign);
    else if (behaviour === "error") {
      held -= 1;
      await connection.send({ type: "error", taskId: assign.taskId, attempt: assign.attempt, code: "BOOM", message: "this worker always fails" });
    } else if (behaviour === "stopping") {
      held -= 1;
      await connection.send({ type: "error", taskId: assign.taskId, attempt: assign.attempt, code: "STOPPING", message: "the worker is stopping" });
    } else if (behaviour === "leave") await connection.close("leaving mid-task");
  });
  await Promise.race([said.promise, connection.closed]);
  return worker;
}

/** A fixture photo decoded to raw pixels with sharp. */
export async function readRaw(name: string): Promise<RawImage> {
  const { data, info } = await sharp(`${FIXTURES}/${name}`).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

/** A small synthetic RGB image, `height` rows of a gradient. */
export function makeGradient(width: number, height: number): RawImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 251;
  return { data, width, height, channels: 3 };
}

/** Records scheduler events; `waitFor` resolves with the first (past or future) event matching. */
export function recordEvents(on: (listener: (event: SchedulerEvent) => void) => unknown) {
  const events: SchedulerEvent[] = [];
  const waits: { match(event: SchedulerEvent): boolean; resolve(event: SchedulerEvent): void }[] = [];
  on((event) => {
    events.push(event);
    for (const wait of [...waits]) if (wait.match(event)) (waits.splice(waits.indexOf(wait), 1), wait.resolve(event));
  });
  const waitFor = (match: (event: SchedulerEvent) => boolean): Promise<SchedulerEvent> => {
    const found = events.find(match);
    const waiting = found ? Promise.resolve(found) : new Promise<SchedulerEvent>((resolve) => waits.push({ match, resolve }));
    return withDeadline(`an event matching ${match.toString().slice(0, 200)}`, waiting, () => events.map((event) => event.type));
  };
  return { events, waitFor };
}

/** The events of `type`, with `drop` keys removed (timings), for one `toEqual`. */
export function pick<T extends SchedulerEvent["type"]>(events: SchedulerEvent[], type: T, drop: string[] = []): Record<string, unknown>[] {
  return events.filter((event) => event.type === type).map((event) => Object.fromEntries(Object.entries(event).filter(([key]) => !drop.includes(key))));
}
