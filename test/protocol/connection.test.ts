// Connections over real sockets on 127.0.0.1: round trips, farewells, bad peers cut off while the listener stays up.
import { describe, expect, test } from "bun:test";
import type { FleetError } from "../../agent/errors";
import { MESSAGE_TYPES, connectTo, encodeFrame, encodeMessage, listenFor, type Connection, type Message } from "../../agent/protocol";
import { concat, dialRaw, plain, samples } from "./peers";

/** A listener whose accepted connections echo every message back, and a promise of each one's close reason. */
function listenEcho() {
  const reasons: Promise<FleetError>[] = [];
  const received: Message[] = [];
  const listener = listenFor({
    hostname: "127.0.0.1",
    port: 0,
    onConnection: (connection) => {
      reasons.push(connection.closed);
      connection.onMessage((message) => {
        received.push(plain(message));
        return connection.send(message);
      });
    },
  });
  return { listener, reasons, received };
}

function collect(connection: Connection, count: number): Promise<Message[]> {
  const got: Message[] = [];
  return new Promise((resolve) =>
    connection.onMessage((message) => {
      got.push(plain(message));
      if (got.length === count) resolve(got);
    }),
  );
}

const describeReason = (reason: FleetError) => `${reason.code}: ${reason.message}`;
const talk = samples.filter((message) => message.type !== "bye" && message.type !== "reject");

describe("Connection", () => {
  test("every message type crosses both ways byte-identically (JPEG payloads); close says bye", async () => {
    const { listener, reasons, received } = listenEcho();
    await using _ = listener;
    await using client = await connectTo({ hostname: "127.0.0.1", port: listener.port });
    const echoed = collect(client, talk.length);
    for (const message of talk) await client.send(message);
    expect(await echoed).toEqual(talk);
    expect(received).toEqual(talk);
    const [mine, theirs] = await Promise.all([client.close("worker leaving"), reasons[0]!]);
    expect([describeReason(mine), describeReason(theirs), listener.connections.size]).toEqual([
      "CONNECTION_CLOSED: closed here: worker leaving",
      "PEER_BYE: peer said bye: worker leaving",
      0,
    ]);
    expect(await client.send(talk[0]!).catch(describeReason)).toBe("CONNECTION_CLOSED: connection closed: closed here: worker leaving");
  });

  test("a reject ends the connection; the rejected side's reason carries it", async () => {
    await using listener = listenFor({
      hostname: "127.0.0.1",
      port: 0,
      onConnection: (connection) => connection.onMessage(() => connection.send({ type: "reject", reason: "no ops in common" })),
    });
    await using client = await connectTo({ hostname: "127.0.0.1", port: listener.port });
    await client.send(samples[0]!);
    expect(describeReason(await client.closed)).toBe("PEER_REJECTED: peer rejected us: no ops in common");
  });

  test("a hello of protocol version 2 gets a reject naming both versions", async () => {
    const { listener, reasons } = listenEcho();
    await using _ = listener;
    await using raw = await dialRaw(listener.port);
    raw.socket.write(concat(encodeFrame(MESSAGE_TYPES.hello, JSON.stringify({ version: 2, workerId: "w", ops: ["blur"], cores: 1, credit: 1 }))));
    await raw.closed;
    expect({ got: raw.messages, reason: describeReason(await reasons[0]!) }).toEqual({
      got: [{ type: "reject", reason: "hello speaks protocol version 2; this side speaks version 3" }],
      reason: "PROTOCOL_VERSION: hello speaks protocol version 2; this side speaks version 3",
    });
  });

  test("oversize length, garbage and a frame cut by close are PROTOCOL_ERRORs; the listener keeps serving", async () => {
    const { listener, reasons } = listenEcho();
    await using _ = listener;
    const cut = concat(encodeMessage(samples[3]!));
    const attacks = [
      (raw: RawSocket) => raw.write(new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0x10])),
      (raw: RawSocket) => raw.write("GET / HTTP/1.1\r\nHost: manager\r\n\r\n"),
      (raw: RawSocket) => raw.write(new Uint8Array([0, 0, 0, 5, 0x99, 0, 0, 0, 0])),
      (raw: RawSocket) => raw.end(cut.subarray(0, cut.length - 3)),
    ];
    const farewells: Message[][] = [];
    for (const attack of attacks) {
      await using raw = await dialRaw(listener.port);
      attack(raw.socket);
      await raw.closed;
      farewells.push(raw.messages);
    }
    expect((await Promise.all(reasons)).map(describeReason)).toEqual([
      "PROTOCOL_ERROR: frame declares 2147483647 bytes, over the 134217728-byte limit",
      "PROTOCOL_ERROR: frame declares 1195725856 bytes, over the 134217728-byte limit",
      "PROTOCOL_ERROR: unknown message type 0x99",
      `PROTOCOL_ERROR: stream ended inside a frame: ${cut.length - 7} of its ${cut.length - 4} bytes arrived`,
    ]);
    expect(farewells.slice(0, 3)).toEqual([
      [{ type: "bye", reason: "PROTOCOL_ERROR: frame declares 2147483647 bytes, over the 134217728-byte limit" }],
      [{ type: "bye", reason: "PROTOCOL_ERROR: frame declares 1195725856 bytes, over the 134217728-byte limit" }],
      [{ type: "bye", reason: "PROTOCOL_ERROR: unknown message type 0x99" }],
    ]);
    await using client = await connectTo({ hostname: "127.0.0.1", port: listener.port });
    const echoed = collect(client, 1);
    await client.send(samples[0]!);
    expect(await echoed).toEqual([samples[0]!]);
  });

  test("a handler that throws closes its connection with HANDLER_FAILED and the cause kept", async () => {
    const reason = Promise.withResolvers<FleetError>();
    await using listener = listenFor({
      hostname: "127.0.0.1",
      port: 0,
      onConnection: (connection) => {
        connection.onClose(reason.resolve);
        connection.onMessage(() => {
          throw new Error("boom");
        });
      },
    });
    await using client = await connectTo({ hostname: "127.0.0.1", port: listener.port });
    await client.send(samples[6]!);
    const [mine, theirs] = await Promise.all([client.closed, reason.promise]);
    expect([describeReason(mine), describeReason(theirs), (theirs.cause as Error).message]).toEqual([
      "PEER_BYE: peer said bye: internal error",
      "HANDLER_FAILED: heartbeat handler failed: boom",
      "boom",
    ]);
  });

  test("connecting to a closed port is CONNECT_FAILED", async () => {
    const listener = listenFor({ hostname: "127.0.0.1", port: 0, onConnection: () => {} });
    const port = listener.port;
    await listener.stop();
    const error = await connectTo({ hostname: "127.0.0.1", port }).catch((e: FleetError) => e);
    expect((error as FleetError).code).toBe("CONNECT_FAILED");
  });
});

type RawSocket = Awaited<ReturnType<typeof dialRaw>>["socket"];
