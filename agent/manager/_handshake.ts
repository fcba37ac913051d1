// The first words with a worker on the scheduler's port: hello is admitted or refused, then messages go to the scheduler.
import type { FleetError } from "../errors";
import type { Connection, Hello, Message } from "../protocol";
import type { SchedulerEvent } from "./_events";

/** What the scheduler does at each step of one worker connection. */
export interface HandshakeHooks<W> {
  /** A hello arrived: the admitted worker, or null once `refuseWorker` was called. */
  admit(connection: Connection, hello: Hello): W | null;
  /** Any later message of an admitted worker. */
  handle(worker: W, message: Message): void;
  /** The connection of an admitted worker ended. */
  lose(worker: W, reason: FleetError): void;
  emit(event: SchedulerEvent): void;
}

/** Wires a fresh connection: the first message must be hello; a bad version is refused by the connection itself and reported. */
export function greetWorker<W>(connection: Connection, hooks: HandshakeHooks<W>): void {
  let worker: W | null = null;
  connection.onMessage((message) => {
    if (worker) return hooks.handle(worker, message);
    if (message.type === "hello") worker = hooks.admit(connection, message);
    else refuseWorker(connection, `expected hello first, got ${message.type}`, hooks.emit);
  });
  connection.onClose((reason) => {
    if (worker) hooks.lose(worker, reason);
    else if (reason.code === "PROTOCOL_VERSION") hooks.emit({ type: "worker-rejected", remote: connection.remote, reason: reason.message });
  });
}

/** Sends reject with `reason`, closes, and reports it. */
export function refuseWorker(connection: Connection, reason: string, emit: (event: SchedulerEvent) => void): void {
  void connection.send({ type: "reject", reason }).catch(() => {});
  void connection.close(reason);
  emit({ type: "worker-rejected", remote: connection.remote, reason });
}
