// Backpressure over a real socket: 20 MB payloads to a slow reader pass intact while the sender's queue stays bounded.
import { expect, test } from "bun:test";
import { FrameDecoder, connectTo, decodeMessage } from "../../agent/protocol";

const MB = 1024 * 1024;
const LIMIT = 1 * MB;

/** A receiver that reads one chunk, then pauses its socket for 2 ms: far slower than the sender. */
function listenSlow() {
  const hashes: (number | bigint)[] = [];
  const farewell: string[] = [];
  const decoder = new FrameDecoder();
  const ended = Promise.withResolvers<void>();
  let chunks = 0;
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      binaryType: "uint8array",
      data(socket, chunk) {
        chunks += 1;
        decoder.push(chunk, (frame) => {
          const message = decodeMessage(frame);
          if (message.type === "assign") hashes.push(Bun.hash(message.payload));
          else farewell.push(message.type);
        });
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      },
      close: () => ended.resolve(),
    },
  });
  return { port: listener.port, hashes, farewell, ended: ended.promise, chunks: () => chunks, [Symbol.asyncDispose]: async () => listener.stop(true) };
}

test("three 20 MB assigns reach a slow reader byte-identical; queued bytes never pass the limit plus one message", async () => {
  await using receiver = listenSlow();
  await using sender = await connectTo({ hostname: "127.0.0.1", port: receiver.port, maxWritableBytes: LIMIT });
  const payloads = [1, 2, 3].map((seed) => {
    const bytes = new Uint8Array(20 * MB);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i / 4096 + seed) & 255;
    return bytes;
  });
  let peak = 0;
  let waits = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, sender.writableBytes)), 1);
  for (const [index, payload] of payloads.entries()) {
    const sending = sender.send({ type: "assign", taskId: `big-${index}`, attempt: 1, op: "grayscale", params: {}, payload });
    peak = Math.max(peak, sender.writableBytes);
    if (sender.writableBytes > LIMIT) waits += 1;
    await sending;
    peak = Math.max(peak, sender.writableBytes);
  }
  clearInterval(sampler);
  const reason = await sender.close("done");
  await receiver.ended;
  expect({
    hashes: receiver.hashes,
    reason: reason.code,
    farewell: receiver.farewell,
    waits,
    bounded: peak <= LIMIT + 20 * MB + 200,
    backpressured: peak > LIMIT,
    slowReads: receiver.chunks() > 30,
  }).toEqual({ hashes: payloads.map((p) => Bun.hash(p)), reason: "CONNECTION_CLOSED", farewell: ["bye"], waits: 3, bounded: true, backpressured: true, slowReads: true });
});
