// Messages in memory: every type round-trips byte-identically, and each malformed header is refused naming the fault.
import { describe, expect, test } from "bun:test";
import type { FleetError } from "../../agent/errors";
import { FrameDecoder, MESSAGE_TYPES, decodeMessage, encodeFrame, encodeMessage, type Message } from "../../agent/protocol";
import { concat, jpeg, plain, samples } from "./peers";

function roundTrip(message: Message): Message {
  const decoded: Message[] = [];
  new FrameDecoder().push(concat(encodeMessage(message)), (frame) => decoded.push(decodeMessage(frame)));
  return plain(decoded[0]!);
}

function refusal(type: number, header: string | Uint8Array, payload?: Uint8Array): string {
  const [frame] = encodeFrame(type, header, payload);
  let failure = "";
  new FrameDecoder().push(frame!, (f) => {
    try {
      decodeMessage(f);
    } catch (error) {
      failure = `${(error as FleetError).code}: ${(error as FleetError).message}`;
    }
  });
  return failure;
}

describe("messages", () => {
  test("every type round-trips; the JPEG payload comes back byte-identical and never as JSON", () => {
    expect(samples.map(roundTrip)).toEqual(samples);
    const assign = concat(encodeMessage(samples[3]!));
    expect({ tail: Buffer.compare(assign.subarray(assign.length - jpeg.length), jpeg), bytes: assign.length - jpeg.length }).toEqual({
      tail: 0,
      bytes: 9 + JSON.stringify({ taskId: "job-7/stripe-2", attempt: 1, op: "blur", params: { sigma: 2.5, halo: 8 } }).length,
    });
  });

  test("malformed headers are PROTOCOL_ERRORs naming what was wrong", () => {
    const { hello, assign, heartbeat, result, challenge } = MESSAGE_TYPES;
    const goodAssign = { taskId: "t", attempt: 1, op: "blur", params: {} };
    const goodHello = { version: 3, workerId: "w", ops: ["blur"], cores: 1, credit: 1, nonce: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" };
    expect([
      refusal(0x42, "{}"),
      refusal(assign, "{not json"),
      refusal(assign, new Uint8Array([0x7b, 0xff, 0x7d])),
      refusal(assign, "[1,2]"),
      refusal(assign, JSON.stringify({ ...goodAssign, attempt: "1" })),
      refusal(assign, JSON.stringify({ ...goodAssign, attempt: 0 })),
      refusal(assign, JSON.stringify({ ...goodAssign, op: "sparkle" })),
      refusal(assign, JSON.stringify({ ...goodAssign, extra: true })),
      refusal(result, JSON.stringify({ taskId: "t", attempt: 1 })),
      refusal(heartbeat, JSON.stringify({ inFlight: 0, done: 0, cpuPercent: 1, rssBytes: 1 }), new Uint8Array(3)),
      refusal(hello, JSON.stringify({ workerId: "w", ops: ["blur"], cores: 1, credit: 1 })),
      refusal(hello, JSON.stringify({ version: 3, workerId: "", ops: [], cores: 0.5, credit: 1, nonce: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" })),
      refusal(hello, JSON.stringify({ ...goodHello, credit: 65 })),
      refusal(hello, JSON.stringify({ ...goodHello, nonce: "short=" })),
      refusal(hello, JSON.stringify({ ...goodHello, proof: "ABC" })),
      refusal(challenge, JSON.stringify({ version: 3, nonce: goodHello.nonce })),
    ]).toEqual([
      "PROTOCOL_ERROR: unknown message type 0x42",
      "PROTOCOL_ERROR: assign: header is not UTF-8 JSON (JSON Parse error: Expected '}')",
      "PROTOCOL_ERROR: assign: header is not UTF-8 JSON (The encoded data was not valid for encoding utf-8)",
      "PROTOCOL_ERROR: assign: header is an array, not a JSON object",
      'PROTOCOL_ERROR: assign: /attempt Expected integer (got "1")',
      "PROTOCOL_ERROR: assign: /attempt Expected integer to be greater or equal to 1 (got 0)",
      'PROTOCOL_ERROR: assign: /op Expected union value (got "sparkle")',
      "PROTOCOL_ERROR: assign: /extra Unexpected property (got true)",
      "PROTOCOL_ERROR: result: /meta Expected required property",
      "PROTOCOL_ERROR: heartbeat: carries 3 payload bytes; it takes none",
      "PROTOCOL_ERROR: hello: /version Expected required property; /nonce Expected required property",
      "PROTOCOL_ERROR: hello: /workerId Expected string length greater or equal to 1 (got \"\"); /ops Expected array length to be greater or equal to 1 (got []); /cores Expected integer (got 0.5)",
      "PROTOCOL_ERROR: hello: /credit Expected integer to be less or equal to 64 (got 65)",
      "PROTOCOL_ERROR: hello: /nonce Expected string to match '^[A-Za-z0-9+/]{43}=$' (got \"short=\")",
      "PROTOCOL_ERROR: hello: /proof Expected string to match '^[0-9a-f]{64}$' (got \"ABC\")",
      "PROTOCOL_ERROR: challenge: /auth Expected required property",
    ]);
  });

  test("a challenge, hello or welcome of another version is PROTOCOL_VERSION, naming both versions", () => {
    const hello = JSON.stringify({ version: 2, workerId: "w", ops: ["blur"], cores: 1, credit: 1, future: "field" });
    expect([
      refusal(MESSAGE_TYPES.hello, hello),
      refusal(MESSAGE_TYPES.welcome, '{"version":0,"heartbeatMs":5}'),
      refusal(MESSAGE_TYPES.challenge, '{"version":4,"nonce":"","auth":false}'),
    ]).toEqual([
      "PROTOCOL_VERSION: hello speaks protocol version 2; this side speaks version 3",
      "PROTOCOL_VERSION: welcome speaks protocol version 0; this side speaks version 3",
      "PROTOCOL_VERSION: challenge speaks protocol version 4; this side speaks version 3",
    ]);
  });

  test("encoding checks the message too: a bad field throws PROTOCOL_ERROR, nothing is sent", () => {
    const bad = { type: "error", taskId: "t", attempt: 1, code: "not upper", message: "m" } as Message;
    expect(() => encodeMessage(bad)).toThrow("error: /code Expected string to match '^[A-Z][A-Z0-9_]*$' (got \"not upper\")");
  });
});
