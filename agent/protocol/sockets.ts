// Opening protocol connections: dial a peer (`connectTo`) or accept peers (`listenFor`).
import { FleetError } from "../errors";
import { Connection, type ConnectionOptions } from "./connection";

/** Where to dial, in addition to the connection's limits. */
export interface ConnectOptions extends ConnectionOptions {
  hostname: string;
  port: number;
}

/** Where to listen (port 0 picks a free one) and what to do with each new connection. */
export interface ListenOptions extends ConnectionOptions {
  /** Default `0.0.0.0`: workers on other boards dial in. */
  hostname?: string;
  port: number;
  /** Called as each peer connects, before any of its messages is delivered; a throw closes that connection. */
  onConnection(connection: Connection): void;
}

/** A listening socket and the connections it accepted and that are still open. */
export interface ProtocolListener extends AsyncDisposable {
  readonly hostname: string;
  readonly port: number;
  readonly connections: ReadonlySet<Connection>;
  /** Stops accepting, closes every connection with bye `reason` and waits for them to end. */
  stop(reason?: string): Promise<void>;
}

const dialHandlers = Connection.handlers((socket) => socket.data.attach(socket));

/** Dials a peer; throws CONNECT_FAILED (status 502, cause kept) when it cannot be reached. */
export async function connectTo(options: ConnectOptions): Promise<Connection> {
  const connection = new Connection(options);
  try {
    await Bun.connect({ hostname: options.hostname, port: options.port, data: connection, socket: dialHandlers });
  } catch (error) {
    throw new FleetError("CONNECT_FAILED", `cannot connect to ${options.hostname}:${options.port}: ${(error as Error).message}`, 502, { cause: error });
  }
  return connection;
}

/** Listens for peers; throws LISTEN_FAILED (status 500, cause kept) when the port cannot be bound. */
export function listenFor(options: ListenOptions): ProtocolListener {
  const connections = new Set<Connection>();
  const accept = Connection.handlers((socket) => {
    const connection = new Connection(options);
    connection.attach(socket);
    connections.add(connection);
    connection.onClose(() => connections.delete(connection));
    try {
      options.onConnection(connection);
    } catch (error) {
      void connection.close(`internal error: ${(error as Error).message}`);
    }
  });
  const hostname = options.hostname ?? "0.0.0.0";
  let listener;
  try {
    listener = Bun.listen<Connection>({ hostname, port: options.port, socket: accept });
  } catch (error) {
    throw new FleetError("LISTEN_FAILED", `cannot listen on ${hostname}:${options.port}: ${(error as Error).message}`, 500, { cause: error });
  }
  const stop = async (reason = "listener stopping") => {
    listener.stop(false);
    await Promise.all([...connections].map((connection) => connection.close(reason)));
  };
  return { hostname, port: listener.port, connections, stop, [Symbol.asyncDispose]: () => stop() };
}
