// One manager/worker protocol connection over a Bun TCP socket, role-agnostic: messages in, backpressured messages out.
import type { Socket, SocketHandler } from "bun";
import { FleetError } from "../errors";
import { WriteQueue } from "./_write-queue";
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, type Frame } from "./framing";
import { decodeMessage, encodeMessage, type Bye, type Message, type Reject } from "./messages";

/** Limits of one connection. */
export interface ConnectionOptions {
  /** Largest frame accepted or sent, in bytes after the length field; default 128 MiB (DEFAULT_MAX_FRAME_BYTES). A peer declaring more is cut off. */
  maxFrameBytes?: number;
  /**
   * Largest frame accepted from the peer until `raiseFrameLimit` is called (the handshake: a
   * peer not yet admitted cannot make us buffer much); default `maxFrameBytes` (no separate limit).
   */
  handshakeFrameBytes?: number;
  /** Queued outgoing bytes past which `send` makes its caller wait; default 8 MiB. */
  maxWritableBytes?: number;
  /** How long `close` lets queued bytes and the farewell leave before cutting the socket, in ms; default 2000. */
  closeTimeoutMs?: number;
}

/** Receives each message but bye and reject (those end the connection and become its close reason). */
export type MessageHandler = (message: Message) => void | Promise<void>;

/**
 * Why a connection ended, as `FleetError.code`: CONNECTION_CLOSED (`close` here), PEER_BYE,
 * PEER_REJECTED, PEER_CLOSED (no farewell), PROTOCOL_ERROR, PROTOCOL_VERSION (we rejected
 * the peer), HANDLER_FAILED (a message handler threw; `cause` kept), SOCKET_ERROR.
 */
export type CloseHandler = (reason: FleetError) => void;

type State = "open" | "closing" | "closed";

/**
 * A framed, typed connection. Outgoing policy: `send` queues the message at once, in call
 * order, never dropping it; its promise resolves at once while `writableBytes` is within
 * `maxWritableBytes`, else when the peer has taken enough to get back within. A sender
 * that awaits each `send` thus holds at most `maxWritableBytes` + one message; large
 * payloads are queued as views, never copied. Incoming: frames are checked as they
 * arrive; a malformed one ends the connection with a bye naming the problem (a hello of
 * another version gets a reject naming both versions).
 */
export class Connection implements AsyncDisposable {
  /** Resolves with the close reason once the socket is closed. */
  readonly closed: Promise<FleetError>;
  private socket!: Socket<Connection>;
  private peer = "";
  private state: State = "open";
  private reason: FleetError | null = null;
  private handler: MessageHandler | null = null;
  private early: Message[] = [];
  private closeHandlers: CloseHandler[] = [];
  private ended = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private resolveClosed!: (reason: FleetError) => void;
  private readonly decoder: FrameDecoder;
  private readonly queue: WriteQueue;
  private readonly maxFrameBytes: number;
  private readonly closeTimeoutMs: number;

  /** Made by `connectTo` and `listenFor` (sockets.ts); usable once its socket is attached. */
  constructor(options: ConnectionOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 2000;
    this.decoder = new FrameDecoder(Math.min(options.handshakeFrameBytes ?? this.maxFrameBytes, this.maxFrameBytes));
    this.queue = new WriteQueue(options.maxWritableBytes ?? 8 * 1024 * 1024);
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  private lastBytesAt = 0;

  /** When bytes last arrived (`performance.now()` ms; 0 before any): a peer in the middle of a large frame is alive. */
  get receivedAt(): number {
    return this.lastBytesAt;
  }

  /** Outgoing bytes accepted by `send` and not yet taken by the kernel. */
  get writableBytes(): number {
    return this.queue.bytes;
  }

  /** The peer as `address:port`. */
  get remote(): string {
    return this.peer;
  }

  /** False from the moment the connection starts closing. */
  get isOpen(): boolean {
    return this.state === "open";
  }

  /**
   * Sends one message under the policy above. Throws at once PROTOCOL_ERROR for a message
   * that breaks its schema and FRAME_TOO_LARGE past `maxFrameBytes` (both caller bugs);
   * rejects with CONNECTION_CLOSED when closed or closing before room is made (whether the
   * message reached the peer is then unknown: only the peer's answer tells). `onTaken` is
   * called once the kernel has taken the message's last byte (never if the socket dies first).
   */
  send(message: Message, onTaken?: () => void): Promise<void> {
    if (this.state !== "open") return Promise.reject(this.closedError());
    return this.queue.write(this.socket, encodeMessage(message, this.maxFrameBytes), onTaken);
  }

  /** The peer is admitted (its hello or welcome checked): frames up to `maxFrameBytes` are taken from now on. */
  raiseFrameLimit(): void {
    this.decoder.setMaxFrameBytes(this.maxFrameBytes);
  }

  /** Sets the one message handler; messages that arrived before it are handed to it now, in order. */
  onMessage(handler: MessageHandler): void {
    this.handler = handler;
    for (const message of this.early.splice(0)) this.deliver(message);
  }

  /** Adds a handler called once with the close reason (at once, in a microtask, if already closed). */
  onClose(handler: CloseHandler): void {
    if (this.state === "closed") void this.closed.then(handler);
    else this.closeHandlers.push(handler);
  }

  /** Sends bye with `reason` after the queued bytes, then ends the socket; resolves with the close reason. */
  close(reason = "closing"): Promise<FleetError> {
    this.shut(new FleetError("CONNECTION_CLOSED", `closed here: ${reason}`, 503), { type: "bye", reason: reason.slice(0, 1024) });
    return this.closed;
  }

  /** Closes with bye "disposed" (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close("disposed");
  }

  /** For sockets.ts: Bun socket handlers routing each event to the Connection in `socket.data`; `open` attaches one. */
  static handlers(open: (socket: Socket<Connection>) => void): SocketHandler<Connection> {
    return {
      binaryType: "uint8array",
      open,
      data: (socket, chunk) => socket.data.receive(chunk),
      drain: (socket) => socket.data.drain(),
      close: (socket, error) => socket.data?.finish(error),
      error: (socket, error) => socket.data?.abort(new FleetError("SOCKET_ERROR", error.message, 502, { cause: error })),
    };
  }

  /** For sockets.ts: binds this connection to its freshly opened socket. */
  attach(socket: Socket<Connection>): void {
    this.socket = socket;
    socket.data = this;
    socket.setNoDelay(true);
    this.peer = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  private receive(chunk: Uint8Array): void {
    if (this.state !== "open") return;
    this.lastBytesAt = performance.now();
    try {
      this.decoder.push(chunk, this.onFrame);
    } catch (error) {
      const reason = error instanceof FleetError ? error : new FleetError("PROTOCOL_ERROR", String(error), 400, { cause: error });
      if (reason.code === "PROTOCOL_VERSION") this.shut(reason, { type: "reject", reason: reason.message.slice(0, 1024) });
      else this.shut(reason, { type: "bye", reason: `${reason.code}: ${reason.message}`.slice(0, 1024) });
    }
  }

  private readonly onFrame = (frame: Frame): void => {
    if (this.state !== "open") return;
    const message = decodeMessage(frame);
    if (message.type === "bye") this.shut(new FleetError("PEER_BYE", `peer said bye: ${message.reason}`, 502), null);
    else if (message.type === "reject") this.shut(new FleetError("PEER_REJECTED", `peer rejected us: ${message.reason}`, 502), null);
    else if (this.handler) this.deliver(message);
    else this.early.push(message);
  };

  private deliver(message: Message): void {
    const failed = (error: unknown) =>
      this.shut(new FleetError("HANDLER_FAILED", `${message.type} handler failed: ${(error as Error)?.message ?? error}`, 500, { cause: error }), {
        type: "bye",
        reason: "internal error",
      });
    try {
      const done = this.handler!(message);
      if (done instanceof Promise) done.catch(failed);
    } catch (error) {
      failed(error);
    }
  }

  /** Starts closing once: remembers why, refuses further sends, queues the farewell, ends the socket when flushed. */
  private shut(reason: FleetError, farewell: Bye | Reject | null): void {
    if (this.state !== "open") return;
    this.state = "closing";
    this.reason = reason;
    this.queue.failWaiters(this.closedError());
    if (farewell) void this.queue.write(this.socket, encodeMessage(farewell, this.maxFrameBytes));
    this.timer = setTimeout(() => this.socket.terminate(), this.closeTimeoutMs);
    this.drain();
  }

  private drain(): void {
    const empty = this.queue.flush(this.socket);
    if (empty && this.state === "closing" && !this.ended) {
      this.ended = true;
      this.socket.end();
    }
  }

  private abort(reason: FleetError): void {
    this.shut(reason, null);
    this.socket.terminate();
  }

  /** The socket is gone: settle the reason (a stream cut inside a frame is a PROTOCOL_ERROR) and tell everyone. */
  private finish(error?: Error): void {
    if (this.state === "closed") return;
    if (!this.reason && error) this.reason = new FleetError("SOCKET_ERROR", error.message, 502, { cause: error });
    if (!this.reason) {
      try {
        this.decoder.finish();
        this.reason = new FleetError("PEER_CLOSED", "peer closed the connection without bye", 502);
      } catch (truncated) {
        this.reason = truncated as FleetError;
      }
    }
    this.state = "closed";
    clearTimeout(this.timer);
    this.queue.failWaiters(this.closedError());
    this.queue.clear();
    for (const handler of this.closeHandlers.splice(0)) handler(this.reason);
    this.resolveClosed(this.reason);
  }

  private closedError(): FleetError {
    return new FleetError("CONNECTION_CLOSED", `connection closed: ${this.reason?.message ?? "closed"}`, 503, { cause: this.reason });
  }
}
