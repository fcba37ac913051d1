// Fuzz surface: the manager's worker port (with a token), arbitrary bytes and frames before hello and after an authenticated hello, real TCP on loopback.
import fc from "fast-check";
import { MESSAGE_TYPES } from "../../agent/protocol";
import { startRole } from "../helpers";
import { anyJson, oddText } from "./_arbitraries";
import { FUZZ_TOKEN, greetRaw, openRaw, toHelloBytes } from "./_worker-plane";
import { createCounts, type FuzzSurface } from "./_surface";

const TYPES = Object.values(MESSAGE_TYPES);
/** What the manager may send a worker: its challenge, welcome, reject and bye (no job is ever queued on this surface, so no assign). */
const ALLOWED_FROM_MANAGER = new Set<number>([MESSAGE_TYPES.challenge, MESSAGE_TYPES.welcome, MESSAGE_TYPES.reject, MESSAGE_TYPES.bye]);

/** A header a worker might send: message-like objects with odd fields, any JSON, or bytes that are not JSON. */
const header: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .record(
        {
          version: fc.oneof(fc.constantFrom(1, 2, 3), anyJson),
          workerId: fc.oneof(oddText, anyJson),
          ops: fc.oneof(fc.array(fc.constantFrom("grayscale", "classify", "nope")), anyJson),
          cores: fc.oneof(fc.integer(), anyJson),
          credit: fc.oneof(fc.constantFrom(1, 1e9, 0, -1, Number.MAX_SAFE_INTEGER), anyJson),
          taskId: fc.oneof(oddText, anyJson),
          attempt: fc.oneof(fc.integer(), anyJson),
          meta: anyJson,
          code: oddText,
          message: oddText,
          inFlight: fc.integer(),
          done: fc.integer(),
          cpuPercent: fc.double(),
          rssBytes: fc.integer(),
          reason: oddText,
        },
        { requiredKeys: [] },
      )
      .map((value) => Buffer.from(JSON.stringify(value))),
  },
  anyJson.map((value) => Buffer.from(JSON.stringify(value) ?? "")),
  fc.uint8Array({ maxLength: 64 }),
);

/** How a frame states its length: truly, or a lie (short, long, under the minimum, huge). */
const declared = fc.oneof({ weight: 6, arbitrary: fc.constant("true") }, fc.constantFrom("zero", "four", "short", "long", "64k+1", "huge", "max"));

/** One frame as a peer might write it: length field, type byte, header length, header, payload. */
const frame: fc.Arbitrary<Uint8Array> = fc
  .record({
    type: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...TYPES) }, fc.integer({ min: 0, max: 255 })),
    header,
    headerLie: fc.constantFrom(0, 0, 0, 1, -1, 1000),
    payload: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 256 })),
    declared,
  })
  .map(({ type, header, headerLie, payload, declared }) => {
    const length = 5 + header.length + payload.length;
    const stated = { true: length, zero: 0, four: 4, short: length - 3, long: length + 50, "64k+1": 65 * 1024 + 1, huge: 120 * 1024 * 1024, max: 0xffffffff }[declared]!;
    const prefix = Buffer.alloc(9);
    prefix.writeUInt32BE(Math.max(0, stated) >>> 0, 0);
    prefix[4] = type;
    prefix.writeUInt32BE(Math.max(0, header.length + headerLie) >>> 0, 5);
    return Buffer.concat([prefix, header, payload]);
  });

const workerCase = fc.record({
  afterHello: fc.boolean(),
  bytes: fc.oneof(
    { weight: 4, arbitrary: fc.array(frame, { minLength: 1, maxLength: 4 }).map((frames) => Buffer.concat(frames)) },
    fc.uint8Array({ minLength: 1, maxLength: 512 }),
    fc.constant(toHelloBytes("fuzz-dup", 1)),
  ),
});

/**
 * The manager's worker port (a manager role in process, no jobs): whatever a peer writes,
 * before or after a valid hello, the manager sends only challenge, welcome, reject or bye, in whole
 * frames, and stays up: its HTTP answers and a real worker still joins.
 */
export const workerPortSurface: FuzzSurface = {
  name: "manager worker port",
  testRuns: 1500,
  async start() {
    const manager = await startRole("manager", { port: 0, workerPort: 0 }, { token: FUZZ_TOKEN });
    const { port, worker_port: workerPort } = manager.stats() as unknown as { port: number; worker_port: number };
    const counts = createCounts();
    let serial = 0;
    const property = fc.asyncProperty(workerCase, async ({ afterHello, bytes }) => {
      const peer = afterHello ? await greetRaw(workerPort, `fuzz-${serial++}`) : await openRaw(workerPort);
      peer.write(bytes);
      if (await peer.finish()) counts.closed += 1;
      const foreign = peer.frames.filter((received) => !ALLOWED_FROM_MANAGER.has(received.type));
      if (peer.garbled || foreign.length > 0) throw new Error(`manager sent ${peer.garbled ? "bytes that do not frame" : `frame types ${foreign.map((f) => f.type)}`}`);
      if (peer.frames.some((received) => received.type === MESSAGE_TYPES.welcome)) counts.ok += 1;
    });
    return {
      property,
      counts,
      async checkAlive() {
        const stats = await fetch(`http://127.0.0.1:${port}/stats`, { headers: { authorization: `Bearer ${FUZZ_TOKEN}` } });
        if (stats.status !== 200) throw new Error(`GET /stats answered ${stats.status}`);
        const peer = await greetRaw(workerPort, "alive-check");
        await peer.finish();
      },
      [Symbol.asyncDispose]: () => manager.stop(),
    };
  },
};
