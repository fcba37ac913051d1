// The authenticated worker plane on real sockets: HMAC hello/welcome, refusals logged, the 5 s hello deadline, 64 KiB frames before hello, live ids never displaced.
import { describe, expect, test } from "bun:test";
import { applyOp } from "../../agent/imaging/ops";
import { Scheduler } from "../../agent/roles/manager/scheduler";
import {
  HELLO_TIMEOUT_MS,
  PROTOCOL_VERSION,
  answerChallenge,
  createChallenge,
  createWelcome,
  encodeMessage,
  listenFor,
  type Connection,
  type Message,
} from "../../agent/protocol";
import { quietContext, withDeadline } from "../helpers";
import { concat, dialRaw } from "../protocol/peers";
import { checked, makeGradient, pick, recordEvents, startWorker } from "./_fleet";
import worker from "../../agent/roles/grayscale-worker";
import { checkOptions } from "../../agent/control/options";

const TOKEN = "fleet-secret-0123456789";
const image = makeGradient(24, 6);
const job = { id: "j", op: "grayscale", params: {}, image };
const expected = await applyOp("grayscale", {}, image);
const FIX = "give the manager and every worker the same --token-file or AGENT_TOKEN";
const NONCE = expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/);

function startScheduler(options: { token?: string; helloTimeoutMs?: number } = {}) {
  const scheduler = new Scheduler({ hostname: "127.0.0.1", port: 0, ...options });
  return { scheduler, log: recordEvents((listener) => scheduler.on(listener)) };
}

type LogLine = { event: string; fields?: Record<string, unknown> };

/** Starts a real grayscale worker role in process; its log lines are kept in `logs`, `waitLog(event)` resolves with the first of that event. */
async function startRealWorker(port: number, id: string, token?: string) {
  const logs: LogLine[] = [];
  const waits: (() => void)[] = [];
  const log = (event: string, fields?: Record<string, unknown>) => {
    logs.push({ event, fields });
    for (const wake of waits.splice(0)) wake();
  };
  const options = checkOptions(worker.options, { manager: `127.0.0.1:${port}`, concurrency: 1, id, reconnect: "10s" }, "api");
  const handle = await worker.start(options as never, { ...quietContext, token, log });
  const waitLog = (event: string): Promise<LogLine> =>
    withDeadline(
      `log line ${event}`,
      (async () => {
        for (;;) {
          const line = logs.find((candidate) => candidate.event === event);
          if (line) return line;
          await new Promise<void>((resolve) => waits.push(resolve));
        }
      })(),
      () => logs.map((line) => line.event),
    );
  return { ...handle, logs, waitLog, [Symbol.asyncDispose]: () => handle.stop() };
}

describe("worker plane authentication", () => {
  test("workers with a wrong token or none are rejected and logged, never see an assign; the worker with the token does the job", async () => {
    const { scheduler, log } = startScheduler({ token: TOKEN });
    await using _ = scheduler;
    await using wrong = await startWorker(scheduler.port, { workerId: "wrong", credit: 64 }, () => "answer", "another-token");
    await using none = await startWorker(scheduler.port, { workerId: "none", credit: 64 });
    const closed = await Promise.all([wrong.connection.closed, none.connection.closed]);
    await using good = await startWorker(scheduler.port, { workerId: "good" }, () => "answer", TOKEN);
    await log.waitFor((event) => event.type === "worker-joined");
    expect(await scheduler.submit(checked(job))).toEqual(expected);
    expect({
      rejected: pick(log.events, "worker-rejected", ["remote"]),
      closed: closed.map((reason) => `${reason.code}: ${reason.message}`),
      assigns: { wrong: wrong.assigns.length, none: none.assigns.length, good: good.assigns.length },
      workers: scheduler.workerList().map((row) => row.workerId),
      assigned: pick(log.events, "task-assigned").map((event) => event.workerId),
    }).toEqual({
      rejected: [
        { type: "worker-rejected", reason: `authentication failed: the hello's proof does not match; the worker holds a different token; ${FIX}` },
        { type: "worker-rejected", reason: `authentication failed: this manager requires the shared token and the hello carries no proof; ${FIX}` },
      ],
      closed: [
        `PEER_REJECTED: peer rejected us: authentication failed: the hello's proof does not match; the worker holds a different token; ${FIX}`,
        `PEER_REJECTED: peer rejected us: authentication failed: this manager requires the shared token and the hello carries no proof; ${FIX}`,
      ],
      assigns: { wrong: 0, none: 0, good: 1 },
      workers: ["good"],
      assigned: ["good"],
    });
    expect(pick(log.events, "worker-rejected").every((event) => /^127\.0\.0\.1:\d+$/.test(String(event.remote)))).toBe(true);
  });

  test("a real worker role with the token does the job; one without is rejected and logs why on its side too", async () => {
    const { scheduler, log } = startScheduler({ token: TOKEN });
    await using _ = scheduler;
    await using outsider = await startRealWorker(scheduler.port, "outsider");
    await log.waitFor((event) => event.type === "worker-rejected");
    await using member = await startRealWorker(scheduler.port, "member", TOKEN);
    await log.waitFor((event) => event.type === "worker-joined");
    expect(await scheduler.submit(checked(job))).toEqual(expected);
    const said = await outsider.waitLog("worker_rejected");
    expect({
      joined: pick(log.events, "worker-joined").map((event) => event.workerId),
      outsider: { done: outsider.stats().tasks_done, failed: outsider.stats().tasks_failed, connected: outsider.stats().connected },
      member: member.stats().tasks_done,
      said: said.fields?.reason,
    }).toEqual({
      joined: ["member"],
      outsider: { done: 0, failed: 0, connected: false },
      member: 1,
      said: `peer rejected us: authentication failed: this manager requires the shared token and the hello carries no proof; ${FIX}`,
    });
  });

  test("a worker holding a token refuses a manager without one, and the manager logs its refusal", async () => {
    const { scheduler, log } = startScheduler();
    await using _ = scheduler;
    await using refuser = await startRealWorker(scheduler.port, "careful", TOKEN);
    const event = await log.waitFor((candidate) => candidate.type === "worker-rejected");
    const said = await refuser.waitLog("worker_refused_manager");
    expect({ event: { ...event, remote: undefined }, workers: scheduler.workerList(), said: said.fields?.reason }).toEqual({
      event: { type: "worker-rejected", remote: undefined, reason: `PEER_REJECTED: peer rejected us: authentication mismatch: this worker has a token but the manager has none; ${FIX}` },
      workers: [],
      said: `authentication mismatch: this worker has a token but the manager has none; ${FIX}`,
    });
  });

  test("a worker takes no task from a manager whose welcome cannot prove the token", async () => {
    const got = Promise.withResolvers<{ connection: Connection; messages: Message[] }>();
    await using impostor = listenFor({
      hostname: "127.0.0.1",
      port: 0,
      onConnection: (connection) => {
        const challenge = createChallenge("guessed-token");
        const messages: Message[] = [];
        connection.onMessage((message) => {
          messages.push(message);
          if (message.type !== "hello") return;
          void connection.send(createWelcome("guessed-token", challenge, message, 50));
          void connection.send({ type: "assign", taskId: "t/s0", attempt: 1, op: "grayscale", params: { image: { width: 24, height: 6, channels: 3 } }, payload: image.data });
        });
        connection.onClose((reason) => got.resolve({ connection, messages: [...messages, { type: "bye", reason: reason.message }] }));
        void connection.send(challenge);
      },
    });
    await using victim = await startRealWorker(impostor.port, "victim", TOKEN);
    const { messages } = await got.promise;
    expect({ messages: messages.map((message) => message.type), stats: { done: victim.stats().tasks_done, failed: victim.stats().tasks_failed } }).toEqual({
      messages: ["hello", "bye"],
      stats: { done: 0, failed: 0 },
    });
    expect(messages.at(-1)).toEqual({ type: "bye", reason: `peer rejected us: authentication failed: the manager's welcome proof does not match; the manager holds a different token; ${FIX}` });
  });

  test(`a silent TCP client is closed after the default hello deadline (${HELLO_TIMEOUT_MS} ms)`, async () => {
    expect(HELLO_TIMEOUT_MS).toBe(5000);
    const { scheduler, log } = startScheduler({ token: TOKEN });
    await using _ = scheduler;
    await using peer = await dialRaw(scheduler.port);
    await peer.closed;
    expect({ messages: peer.messages, rejected: pick(log.events, "worker-rejected", ["remote"]) }).toEqual({
      messages: [
        { type: "challenge", version: PROTOCOL_VERSION, nonce: NONCE, auth: true },
        { type: "reject", reason: "no valid hello within 5000 ms" },
        { type: "bye", reason: "no valid hello within 5000 ms" },
      ],
      rejected: [{ type: "worker-rejected", reason: "no valid hello within 5000 ms" }],
    });
  });

  test("a frame over 64 KiB before hello closes the connection; the scheduler goes on", async () => {
    const { scheduler, log } = startScheduler({ helloTimeoutMs: 60_000 });
    await using _ = scheduler;
    await using peer = await dialRaw(scheduler.port);
    const frame = new Uint8Array(65 * 1024 + 9);
    new DataView(frame.buffer).setUint32(0, frame.length - 4);
    frame[4] = 0x01;
    new DataView(frame.buffer).setUint32(5, frame.length - 9);
    peer.socket.write(frame);
    await peer.closed;
    const reason = `PROTOCOL_ERROR: frame declares ${frame.length - 4} bytes, over the 65536-byte limit`;
    expect({ last: peer.messages.at(-1), rejected: pick(log.events, "worker-rejected", ["remote"]) }).toEqual({
      last: { type: "bye", reason },
      rejected: [{ type: "worker-rejected", reason }],
    });
    await using _a = await startWorker(scheduler.port, { workerId: "a" });
    expect(await scheduler.submit(checked(job))).toEqual(expected);
  });

  test("a newcomer with a live worker's id is refused; the first stays and works", async () => {
    const { scheduler, log } = startScheduler({ token: TOKEN });
    await using _ = scheduler;
    await using first = await startWorker(scheduler.port, { workerId: "pi-1" }, () => "answer", TOKEN);
    await log.waitFor((event) => event.type === "worker-joined");
    await using second = await startWorker(scheduler.port, { workerId: "pi-1" }, () => "answer", TOKEN);
    const reason = await second.connection.closed;
    expect(await scheduler.submit(checked(job))).toEqual(expected);
    const remote = scheduler.workerList()[0]!.remote;
    const refusal = `workerId "pi-1" is already connected from ${remote}; a live worker is never replaced: give this one another --id, or retry once the other has left`;
    expect({
      reason: reason.message,
      workers: scheduler.workerList().map((row) => row.workerId),
      first: first.connection.isOpen,
      assigns: [first.assigns.length, second.assigns.length],
      left: pick(log.events, "worker-left"),
      rejected: pick(log.events, "worker-rejected", ["remote"]),
    }).toEqual({
      reason: `peer rejected us: ${refusal}`,
      workers: ["pi-1"],
      first: true,
      assigns: [1, 0],
      left: [],
      rejected: [{ type: "worker-rejected", reason: refusal }],
    });
  });

  test("a hello's proof is bound to the challenge: replayed on another connection it fails", async () => {
    const { scheduler, log } = startScheduler({ token: TOKEN });
    await using _ = scheduler;
    await using first = await dialRaw(scheduler.port);
    await first.until(concat(encodeMessage(createChallenge(TOKEN))).length);
    const hello = answerChallenge(TOKEN, first.messages[0] as never, { workerId: "w", ops: ["grayscale"], cores: 1, credit: 1 });
    await using second = await dialRaw(scheduler.port);
    for (const part of encodeMessage(hello)) second.socket.write(part);
    await second.closed;
    expect(second.messages.slice(0, 2)).toEqual([
      { type: "challenge", version: PROTOCOL_VERSION, nonce: NONCE, auth: true },
      { type: "reject", reason: `authentication failed: the hello's proof does not match; the worker holds a different token; ${FIX}` },
    ]);
    expect(pick(log.events, "worker-joined")).toEqual([]);
  });
});
