// Test peers for the protocol: raw TCP ends that write exact bytes and decode what they get, a seeded RNG, sample messages.
import type { Socket } from "bun";
import { FrameDecoder, PROTOCOL_VERSION, decodeMessage, type Frame, type Message } from "../../agent/protocol";
import { readPhotos } from "../helpers";

/** A real JPEG from test/fixtures, the payload of the sample messages. */
export const jpeg = readPhotos().get("chelsea.jpg")!;

/** One message of every type; assign and result carry the JPEG. */
export const samples: Message[] = [
  { type: "hello", version: PROTOCOL_VERSION, workerId: "pi-3/grayscale", ops: ["grayscale", "blur"], cores: 4, credit: 2, nonce: "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", proof: "5d".repeat(32) },
  { type: "welcome", version: PROTOCOL_VERSION, heartbeatMs: 1000, proof: "0f".repeat(32) },
  { type: "reject", reason: "no ops in common" },
  { type: "assign", taskId: "job-7/stripe-2", attempt: 1, op: "blur", params: { sigma: 2.5, halo: 8 }, payload: jpeg },
  { type: "result", taskId: "job-7/stripe-2", attempt: 1, meta: { width: 640, height: 80, format: "jpeg" }, payload: jpeg },
  { type: "error", taskId: "job-7/stripe-3", attempt: 2, code: "DECODE_FAILED", message: "not a JPEG: ümlaut 😀" },
  { type: "heartbeat", inFlight: 2, done: 41, cpuPercent: 187.5, rssBytes: 73_400_320 },
  { type: "bye", reason: "shutting down" },
  { type: "challenge", version: PROTOCOL_VERSION, nonce: "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=", auth: true },
];

/** Mulberry32: a tiny seeded generator of floats in [0, 1), for repeatable random cuts. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

/** Joins frame parts (or any byte arrays) into one buffer. */
export function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A message with its payload as a plain Uint8Array copy, so `toEqual` compares bytes only. */
export function plain(message: Message): Message {
  return "payload" in message ? { ...message, payload: new Uint8Array(message.payload) } : message;
}

/** A raw TCP end: records chunk sizes, decodes frames into messages, and resolves waits on received byte counts. */
export interface RawPeer extends AsyncDisposable {
  socket: Socket<undefined>;
  messages: Message[];
  chunkSizes: number[];
  received(): number;
  /** Resolves once `total` bytes have arrived in all. */
  until(total: number): Promise<void>;
  /** Resolves when the socket is closed. */
  closed: Promise<void>;
}

interface Tap {
  messages: Message[];
  chunkSizes: number[];
  total: number;
  waits: { total: number; resolve(): void }[];
  decoder: FrameDecoder;
  closed: PromiseWithResolvers<void>;
}

function createTap(): Tap {
  return { messages: [], chunkSizes: [], total: 0, waits: [], decoder: new FrameDecoder(), closed: Promise.withResolvers() };
}

function feed(tap: Tap, chunk: Uint8Array): void {
  tap.chunkSizes.push(chunk.length);
  tap.total += chunk.length;
  tap.decoder.push(chunk, (frame: Frame) => tap.messages.push(plain(decodeMessage(frame))));
  tap.waits = tap.waits.filter((wait) => (wait.total <= tap.total ? (wait.resolve(), false) : true));
}

function toPeer(tap: Tap, socket: Socket<undefined>, dispose: () => void): RawPeer {
  return {
    socket,
    messages: tap.messages,
    chunkSizes: tap.chunkSizes,
    received: () => tap.total,
    until: (total) => (tap.total >= total ? Promise.resolve() : new Promise((resolve) => tap.waits.push({ total, resolve }))),
    closed: tap.closed.promise,
    [Symbol.asyncDispose]: async () => dispose(),
  };
}

/** Dials `port` with a raw socket. */
export async function dialRaw(port: number): Promise<RawPeer> {
  const tap = createTap();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { binaryType: "uint8array", data: (_socket, chunk) => feed(tap, chunk), close: () => tap.closed.resolve() },
  });
  return toPeer(tap, socket, () => socket.terminate());
}

/** Listens on a free port for one raw peer; `accepted` resolves with it. */
export function listenRaw(): { port: number; accepted: Promise<RawPeer> } & AsyncDisposable {
  const tap = createTap();
  const accepted = Promise.withResolvers<RawPeer>();
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      open: (socket) => accepted.resolve(toPeer(tap, socket, () => socket.terminate())),
      data: (_socket, chunk) => feed(tap, chunk),
      close: () => tap.closed.resolve(),
    },
  });
  return { port: listener.port, accepted: accepted.promise, [Symbol.asyncDispose]: async () => listener.stop(true) };
}
