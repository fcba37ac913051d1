// Connecting to the NATS JetStream broker (`--broker nats://HOST:PORT`) with the agent's token; every failure one clear line naming the Debian package.
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { FleetError } from "../errors";

/** How to start the server this code expects: the Debian package and its command line. */
export const SERVER_HINT = "Debian package nats-server (apt-get install nats-server), started with JetStream: nats-server -js -sd DIR -a 127.0.0.1 -p PORT --auth TOKEN";

/** An open broker connection and its JetStream manager. */
export interface BrokerConnection {
  nc: NatsConnection;
  jsm: JetStreamManager;
  url: string;
}

/**
 * Splits `nats://HOST:PORT` (port 1..65535).
 * @throws FleetError BAD_BROKER (422) for anything else.
 */
export function parseBrokerUrl(url: string): { hostname: string; port: number } {
  const match = /^nats:\/\/(\[[^\]]+\]|[^:/\s]+):(\d{1,5})$/.exec(url);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) throw new FleetError("BAD_BROKER", `--broker ${url}: expected nats://HOST:PORT with a port in 1..65535`, 422);
  return { hostname: match[1]!, port };
}

/**
 * Connects to the broker at `url` as `name`, with `token` (NATS token auth) when given, and
 * checks that JetStream is on. Once connected the client reconnects by itself for good.
 * @throws FleetError BAD_BROKER (422); BROKER_UNREACHABLE (503), BROKER_AUTH (401),
 *   BROKER_NO_JETSTREAM (503), each one line naming the server package.
 */
export async function connectBroker(url: string, name: string, token?: string): Promise<BrokerConnection> {
  const { hostname, port } = parseBrokerUrl(url);
  let nc: NatsConnection;
  try {
    nc = await connect({ servers: `${hostname}:${port}`, name, token, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 5000 });
  } catch (error) {
    const message = (error as Error).message;
    if (/authori[sz]ation/i.test(message)) throw new FleetError("BROKER_AUTH", `--broker ${url}: the server refused the token (${message}); give it the agent's token with --auth TOKEN`, 401, { cause: error });
    throw new FleetError("BROKER_UNREACHABLE", `--broker ${url}: ${message}; is a NATS server with JetStream running there? ${SERVER_HINT}`, 503, { cause: error });
  }
  try {
    return { nc, jsm: await jetstreamManager(nc), url };
  } catch (error) {
    await nc.close().catch(() => {});
    throw new FleetError("BROKER_NO_JETSTREAM", `--broker ${url}: JetStream is not enabled on that server (${(error as Error).message}); start it with -js -sd DIR (${SERVER_HINT})`, 503, { cause: error });
  }
}
