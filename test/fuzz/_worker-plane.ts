// The fuzz suites' one adapter to the manager's worker plane: how a worker says hello (protocol v3: the manager's challenge, an HMAC-proved hello), raw and through the protocol library.
import { answerChallenge, connectTo, decodeMessage, encodeMessage, FrameDecoder, MESSAGE_TYPES, OPS, PROTOCOL_VERSION, type Challenge, type Connection, type Frame } from "../../agent/protocol";


/** The token the worker-port surface's manager holds: the fuzz runs against the protected manager a LAN deployment has. */
export const FUZZ_TOKEN = "fuzz-token";

/** The bytes of a hello for `workerId` that answers no challenge (a fixed nonce, no proof): a protected manager refuses it. */
export function toHelloBytes(workerId: string, credit = 1): Uint8Array {
  return Buffer.concat(encodeMessage({ type: "hello", version: PROTOCOL_VERSION, workerId, ops: [...OPS], cores: 1, credit, nonce: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" }));
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

/** Opens a raw connection, reads the manager's challenge and answers it with `token`'s hello; resolves once the welcome arrived (throws if it does not within 2 s). */
export async function greetRaw(port: number, workerId: string, token: string | undefined = FUZZ_TOKEN): Promise<RawPeer> {
  const peer = await openRaw(port);
  const waitForFrame = async (type: number): Promise<Frame> => {
    for (let waited = 0; ; waited += 5) {
      const frame = peer.frames.find((candidate) => candidate.type === type);
      if (frame) return frame;
      if (waited > 2000) throw new Error(`no frame of type ${type} for ${workerId}; got types ${peer.frames.map((seen) => seen.type)}`);
      await Bun.sleep(5);
    }
  };
  const challenge = decodeMessage(await waitForFrame(MESSAGE_TYPES.challenge)) as Challenge;
  peer.write(Buffer.concat(encodeMessage(answerChallenge(token, challenge, { workerId, ops: [...OPS], cores: 1, credit: 1 }))));
  await waitForFrame(MESSAGE_TYPES.welcome);
  return peer;
}

/**
 * Dials a worker that takes every op and answers each assign at once with an error
 * (`FUZZ_WORKER`): jobs settle fast and hold no memory. Closed on dispose.
 */
export async function dialFakeWorker(port: number, workerId = "fuzz-worker", token?: string): Promise<Connection> {
  const connection = await connectTo({ hostname: "127.0.0.1", port });
  connection.onMessage((message) => {
    if (message.type === "challenge") void connection.send(answerChallenge(token, message, { workerId, ops: [...OPS], cores: 1, credit: 64 })).catch(() => {});
    if (message.type !== "assign") return;
    void connection.send({ type: "error", taskId: message.taskId, attempt: message.attempt, code: "FUZZ_WORKER", message: "the fuzz worker runs nothing" }).catch(() => {});
  });
  return connection;
}
