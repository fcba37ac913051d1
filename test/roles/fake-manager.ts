// A fake manager for worker suites: challenges each connection, welcomes each hello whose proof holds (else rejects it), records every message in arrival order, hands them out by type.
import type { FleetError } from "../../agent/errors";
import { checkHello, createChallenge, createWelcome, listenFor, type Connection, type Message } from "../../agent/protocol";
import { withDeadline } from "../helpers";

type Event = Message | { type: "closed"; reason: FleetError };

/**
 * Listens on 127.0.0.1, a free port, and runs the manager's handshake (agent/protocol/auth.ts)
 * under `token`; `next(type)` takes the first recorded event of that type, waiting for it.
 */
export function listenManager(heartbeatMs = 20, token?: string) {
  const events: { connection: Connection; event: Event }[] = [];
  const waiters: (() => void)[] = [];
  const record = (connection: Connection, event: Event) => {
    events.push({ connection, event: "payload" in event ? { ...event, payload: new Uint8Array(event.payload) } : event });
    for (const wake of waiters.splice(0)) wake();
  };
  const listener = listenFor({
    hostname: "127.0.0.1",
    port: 0,
    onConnection: (connection) => {
      const challenge = createChallenge(token);
      connection.onMessage((message) => {
        record(connection, message);
        if (message.type !== "hello") return;
        const problem = checkHello(token, challenge, message);
        if (problem) return void connection.send({ type: "reject", reason: problem }).then(() => connection.close(problem));
        return connection.send(createWelcome(token, challenge, message, heartbeatMs));
      });
      connection.onClose((reason) => record(connection, { type: "closed", reason }));
      void connection.send(challenge).catch(() => {});
    },
  });
  const next = <T extends Event["type"]>(type: T): Promise<{ connection: Connection; event: Extract<Event, { type: T }> }> =>
    withDeadline(
      `a ${type}`,
      (async () => {
        for (;;) {
          const index = events.findIndex((entry) => entry.event.type === type);
          if (index >= 0) return events.splice(index, 1)[0] as never;
          await new Promise<void>((resolve) => waiters.push(resolve));
        }
      })(),
      () => events.map((entry) => entry.event.type),
    );
  return { listener, next, [Symbol.asyncDispose]: () => listener.stop() };
}
