// The fuzz suites' one adapter to the manager's worker plane: how a worker says hello, raw and through the protocol library.
// Protocol v3 (HMAC challenge-response hello) changes this file only: `greetRaw` then reads the
// challenge and answers it, `dialFakeWorker` sends the authenticated hello, both given the token.
import { connectTo, encodeMessage, FrameDecoder, MESSAGE_TYPES, PROTOCOL_VERSION, type Connection, type Frame } from "../../agent/protocol";

/** Ops the fake worker offers: every one, so any job finds it. */
const ALL_OPS = ["grayscale", "blur", "sharpen", "edges", "sepia", "invert", "brightness", "contrast", "resize", "classify"] as const;

/** The bytes of today's (v2) hello for `workerId`. */
export function toHelloBytes(workerId: string, credit = 1): Uint8Array {
  return Buffer.concat(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, workerId, ops: [...ALL_OPS], cores: 1, credit }));
}

/** A raw TCP connection to the worker port and the frames the manager sent on it. */
export interface RawPeer {
  write(bytes: Uint8Array): void;
  /** Ends our side and waits (at most `waitMs`) for the manager to close; answers whether it did. */
  finish(waitMs?: number): Promise<boolean>;
  /** Frames received so far; a manager that sent bytes that do not frame sets `garbled`. */
  frames: Frame[];
  garbled: boolean;
}

/** Opens a raw TCP connection to the worker port on loopback. */
export async function openRaw(port: number): Promise<RawPeer> {
  const decoder = new FrameDecoder();
  let closed = false;
  let wake: (() => void) | undefined;
  const peer: RawPeer = {
    frames: [],
    garbled: false,
    write: (bytes) => void socket.write(bytes),
    async finish(waitMs = 2000) {
      socket.end();
      if (!closed) await Promise.race([new Promise<void>((resolve) => (wake = resolve)), Bun.sleep(waitMs)]);
      socket.terminate();
      return closed;
    },
  };
  const onClose = () => {
    closed = true;
    wake?.();
  };
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, chunk) {
        try {
          decoder.push(new Uint8Array(chunk), (frame) => peer.frames.push({ ...frame, header: frame.header.slice() }));
        } catch {
          peer.garbled = true;
        }
      },
      close: onClose,
      end: onClose,
      error: onClose,
    },
  });
  return peer;
}

/** Opens a raw connection and says a valid hello; resolves once the welcome frame arrived (throws if it does not within 2 s). */
export async function greetRaw(port: number, workerId: string): Promise<RawPeer> {
  const peer = await openRaw(port);
  peer.write(toHelloBytes(workerId));
  for (let waited = 0; !peer.frames.some((frame) => frame.type === MESSAGE_TYPES.welcome); waited += 5) {
    if (waited > 2000) throw new Error(`no welcome to ${workerId}; got types ${peer.frames.map((frame) => frame.type)}`);
    await Bun.sleep(5);
  }
  return peer;
}

/**
 * Dials a worker that takes every op and answers each assign at once with an error
 * (`FUZZ_WORKER`): jobs settle fast and hold no memory. Closed on dispose.
 */
export async function dialFakeWorker(port: number, workerId = "fuzz-worker"): Promise<Connection> {
  const connection = await connectTo({ hostname: "127.0.0.1", port });
  connection.onMessage((message) => {
    if (message.type !== "assign") return;
    void connection.send({ type: "error", taskId: message.taskId, attempt: message.attempt, code: "FUZZ_WORKER", message: "the fuzz worker runs nothing" }).catch(() => {});
  });
  await connection.send({ type: "hello", version: PROTOCOL_VERSION, workerId, ops: [...ALL_OPS], cores: 1, credit: 64 });
  return connection;
}
