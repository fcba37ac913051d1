// Protocol messages (assign, result, error) as NATS message bodies: the same frames as on TCP, with big payloads moved to the Object Store.
import { headers as natsHeaders, type MsgHdrs, type NatsConnection } from "@nats-io/transport-node";
import { Objm, setSha256Backend, type ObjectStore } from "@nats-io/obj";
import { FleetError } from "../errors";
import { decodeMessage, encodeMessage, FrameDecoder, type Message } from "../protocol";
import { BIG_PAYLOAD_BYTES, HEADERS, PAYLOAD_BUCKET, PAYLOAD_TTL_MS } from "./names";

/** A message's body: its one frame (agent/protocol/framing.ts) in one buffer. */
export function toBody(message: Message): Uint8Array {
  const parts = encodeMessage(message);
  if (parts.length === 1) return parts[0]!;
  const body = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) (body.set(part, at), (at += part.length));
  return body;
}

/**
 * The message a body holds, its header checked by the protocol's schemas.
 * @throws FleetError PROTOCOL_ERROR when the body is not exactly one well-formed frame.
 */
export function fromBody(body: Uint8Array): Message {
  const frames: Message[] = [];
  const decoder = new FrameDecoder();
  decoder.push(body, (frame) => frames.push(decodeMessage(frame)));
  if (frames.length !== 1 || decoder.bufferedBytes > 0) throw new FleetError("PROTOCOL_ERROR", `a broker message holds ${frames.length} whole frames (${decoder.bufferedBytes} bytes left over); expected one`);
  return frames[0]!;
}

/** Opens (creating when missing) the payload bucket; objects are digested with node:crypto (the default pure-JS SHA-256 took 2.5x as long on 25 MB). */
export function openPayloads(nc: NatsConnection): Promise<ObjectStore> {
  setSha256Backend("native");
  return new Objm(nc).create(PAYLOAD_BUCKET, { ttl: PAYLOAD_TTL_MS * 1e6 });
}

/**
 * Bytes of one Object Store chunk: the server's 1 MiB max_payload less room for the chunk's
 * subject and headers. The client's default, 128 KiB, costs 8x the acknowledged publishes: a
 * 6.2 MB put and get took 415-690 ms with it and 175-365 ms with this on a busy 2-core box.
 */
const CHUNK_BYTES = 1024 * 1024 - 8 * 1024;

/** Puts `bytes` in `payloads` as `name`, in CHUNK_BYTES chunks (fewer round trips than the client's default). */
export async function putPayload(payloads: ObjectStore, name: string, bytes: Uint8Array): Promise<void> {
  await payloads.putBlob({ name, options: { max_chunk_size: CHUNK_BYTES } }, bytes);
}

/**
 * The body and headers of `message`; a payload over BIG_PAYLOAD_BYTES is put in `payloads`
 * as `objectName` and the body carries that name instead (header OBJECT).
 */
export async function packMessage(message: Message, payloads: ObjectStore, objectName: string, extra: Record<string, string>): Promise<{ body: Uint8Array; headers: MsgHdrs; object?: string }> {
  const headers = natsHeaders();
  for (const [key, value] of Object.entries(extra)) headers.set(key, value);
  if (!("payload" in message) || message.payload.length <= BIG_PAYLOAD_BYTES) return { body: toBody(message), headers };
  await putPayload(payloads, objectName, message.payload);
  headers.set(HEADERS.object, objectName);
  return { body: toBody({ ...message, payload: new Uint8Array(0) }), headers, object: objectName };
}

/**
 * The message of a body and its headers, the payload fetched back from `payloads` when the
 * OBJECT header names one.
 * @throws FleetError PROTOCOL_ERROR as `fromBody`; PAYLOAD_GONE (502) when the object is missing (expired, or deleted).
 */
export async function unpackMessage(body: Uint8Array, headers: MsgHdrs | undefined, payloads: ObjectStore): Promise<Message> {
  const message = fromBody(body);
  const object = headers?.get(HEADERS.object);
  if (!object || !("payload" in message)) return message;
  const payload = await payloads.getBlob(object);
  if (!payload) throw new FleetError("PAYLOAD_GONE", `payload object ${object} is not in ${PAYLOAD_BUCKET} (expired or deleted)`, 502);
  return { ...message, payload } as Message;
}
