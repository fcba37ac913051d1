// Real sockets on 127.0.0.1: a stream written in pieces (each received before the next is sent) decodes identically.
import { describe, expect, test } from "bun:test";
import { encodeMessage, type Message } from "../../agent/protocol";
import { concat, dialRaw, listenRaw, plain, samples, seeded } from "./peers";

const small: Message[] = samples.map((message) => ("payload" in message ? { ...message, payload: message.payload.subarray(0, 150) } : message));

/** Writes `pieces` one at a time, each only after the receiver has had everything before it, so each arrives as its own chunk. */
async function writeApart(pieces: Uint8Array[]) {
  await using server = listenRaw();
  await using client = await dialRaw(server.port);
  const receiver = await server.accepted;
  let sent = 0;
  const written: number[] = [];
  for (const piece of pieces) {
    written.push(client.socket.write(piece));
    sent += piece.length;
    await receiver.until(sent);
  }
  return { written, chunks: receiver.chunkSizes, messages: receiver.messages };
}

describe("frames cut by real sockets", () => {
  test("cut at every byte offset of a stream of every message type: same messages, each cut really arrived apart", async () => {
    const stream = concat(small.flatMap((message) => encodeMessage(message)));
    const pieces: Uint8Array[] = [];
    for (let cut = 1; cut < stream.length; cut++) pieces.push(stream.subarray(0, cut), stream.subarray(cut));
    const got = await writeApart(pieces);
    const sizes = pieces.map((piece) => piece.length);
    expect({ written: got.written, chunks: got.chunks, messages: got.messages.length }).toEqual({
      written: sizes,
      chunks: sizes,
      messages: small.length * (stream.length - 1),
    });
    expect(got.messages).toEqual(Array.from({ length: stream.length - 1 }, () => small).flat());
  });

  test("random seeded piece sizes over full messages with JPEG payloads: same messages", async () => {
    const stream = concat(samples.flatMap((message) => encodeMessage(message)));
    for (const seed of [1, 2, 3, 42, 1234]) {
      const random = seeded(seed);
      const pieces: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = 1 + Math.floor(random() ** 2 * 16_384);
        pieces.push(stream.subarray(at, at + size));
        at += size;
      }
      const got = await writeApart(pieces);
      expect({ seed, chunks: got.chunks, messages: got.messages }).toEqual({ seed, chunks: pieces.map((p) => p.length), messages: samples.map(plain) });
    }
  });

  test("many frames in one write arrive as one chunk and all decode", async () => {
    const stream = concat(Array.from({ length: 80 }, () => small).flat().flatMap((message) => encodeMessage(message)));
    const got = await writeApart([stream]);
    expect({ chunks: got.chunks.length, messages: got.messages.length, last: got.messages.at(-1) }).toEqual({ chunks: 1, messages: 80 * small.length, last: small.at(-1) });
  });
});
