// The first words with a worker on the scheduler's port: challenge, a hello checked (proof, deadline) and admitted or refused, then messages go to the scheduler.
import type { FleetError } from "../../../errors";
import { checkHello, createChallenge, createWelcome, type Connection, type Hello, type Message } from "../../../protocol";
import type { SchedulerEvent } from "./_events";

/** What the scheduler does at each step of one worker connection, and the handshake's settings. */
export interface HandshakeHooks<W> {
  /** The shared token a hello must prove; undefined = open (a hello with a proof is then refused). */
  token: string | undefined;
  /** A connection without a valid hello this long (ms) is refused and closed. */
  helloTimeoutMs: number;
  /** The heartbeat period told in welcome (ms). */
  heartbeatMs: number;
  /** Why a hello whose proof holds is still refused (manager stopping, its workerId live), or null. */
  refuse(hello: Hello): string | null;
  /** A hello was accepted and welcomed: the admitted worker. */
  admit(connection: Connection, hello: Hello): W;
  /** Any later message of an admitted worker. */
  handle(worker: W, message: Message): void;
  /** The connection of an admitted worker ended. */
  lose(worker: W, reason: FleetError): void;
  emit(event: SchedulerEvent): void;
}

/**
 * Wires a fresh connection: sends the challenge, then the first message must be a hello whose
 * proof holds (auth.ts `checkHello`) within `helloTimeoutMs`; it is welcomed (with the manager's
 * proof) and its frame limit raised before the scheduler may send it anything. Every refusal
 * and every connection that ends before admission is reported as `worker-rejected`.
 */
export function greetWorker<W>(connection: Connection, hooks: HandshakeHooks<W>): void {
  const challenge = createChallenge(hooks.token);
  let worker: W | null = null;
  let refused = false;
  const refuse = (reason: string) => {
    refused = true;
    clearTimeout(deadline);
    refuseWorker(connection, reason, hooks.emit);
  };
  const deadline = setTimeout(() => refuse(`no valid hello within ${hooks.helloTimeoutMs} ms`), hooks.helloTimeoutMs);
  connection.onMessage((message) => {
    if (worker) return hooks.handle(worker, message);
    if (refused) return;
    if (message.type !== "hello") return refuse(`expected hello first, got ${message.type}`);
    const problem = checkHello(hooks.token, challenge, message) ?? hooks.refuse(message);
    if (problem) return refuse(problem);
    clearTimeout(deadline);
    connection.raiseFrameLimit();
    void connection.send(createWelcome(hooks.token, challenge, message, hooks.heartbeatMs)).catch(() => {});
    worker = hooks.admit(connection, message);
  });
  connection.onClose((reason) => {
    clearTimeout(deadline);
    if (worker) hooks.lose(worker, reason);
    else if (!refused) hooks.emit({ type: "worker-rejected", remote: connection.remote, reason: reason.code === "PROTOCOL_VERSION" ? reason.message : `${reason.code}: ${reason.message}` });
  });
  void connection.send(challenge).catch(() => {});
}

/** Sends reject with `reason`, closes, and reports it. */
export function refuseWorker(connection: Connection, reason: string, emit: (event: SchedulerEvent) => void): void {
  void connection.send({ type: "reject", reason }).catch(() => {});
  void connection.close(reason);
  emit({ type: "worker-rejected", remote: connection.remote, reason });
}
