// The manager/worker messages of the protocol (version 3: the manager opens with a challenge, hello and welcome carry HMAC proofs): schemas (the types and the checks), type bytes, encode and decode.
import { Type as t, type Static, type TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { FleetError } from "../errors";
import { DEFAULT_MAX_FRAME_BYTES, encodeFrame, type Frame } from "./framing";
import { OPS } from "./tasks";

/**
 * The protocol version this code speaks; a challenge, hello or welcome naming another is
 * answered with `reject`. 2: an assign may carry a whole image file; 3: the manager opens
 * with `challenge`, hello and welcome carry HMAC proofs of the shared token (auth.ts).
 */
export const PROTOCOL_VERSION = 3;

/**
 * Most tasks a worker may ask to hold at once in its hello (`credit`): 64. A worker with
 * more threads offers 64; the cap keeps one connection from draining the whole queue.
 */
export const MAX_CREDIT = 64;

const strict = { additionalProperties: false } as const;
const TaskId = t.String({ minLength: 1, maxLength: 256 });
const Attempt = t.Integer({ minimum: 1 });
const Count = t.Integer({ minimum: 0 });
const Reason = t.String({ maxLength: 1024 });
const JsonObject = t.Record(t.String(), t.Unknown());
/** 32 random bytes in base64 (RFC 4648 section 4, padded): 44 characters. */
const Nonce = t.String({ pattern: "^[A-Za-z0-9+/]{43}=$" });
/** An HMAC-SHA256 digest in lower-case hex: 64 characters. */
const Proof = t.String({ pattern: "^[0-9a-f]{64}$" });
const OpName = t.Union(OPS.map((op) => t.Literal(op)));

/** Each message's JSON header; `payload` (raw bytes after the header) only on assign and result. */
const headers = {
  /** Manager -> worker, first message on accept: a fresh `nonce`, and whether the manager holds a token (`auth`) the hello must prove. */
  challenge: t.Object({ version: t.Literal(PROTOCOL_VERSION), nonce: Nonce, auth: t.Boolean() }, strict),
  /**
   * Worker -> manager, the answer to the challenge: who it is, what it can do, how many tasks
   * it takes at once (`credit`, at most MAX_CREDIT), its own `nonce`, and with a token the
   * `proof` of it (auth.ts `proveHello`).
   */
  hello: t.Object(
    {
      version: t.Literal(PROTOCOL_VERSION),
      workerId: t.String({ minLength: 1, maxLength: 128 }),
      ops: t.Array(OpName, { minItems: 1, uniqueItems: true }),
      cores: t.Integer({ minimum: 1 }),
      credit: t.Integer({ minimum: 1, maximum: MAX_CREDIT }),
      nonce: Nonce,
      proof: t.Optional(Proof),
    },
    strict,
  ),
  /** Manager -> worker: hello accepted; the worker sends a heartbeat every `heartbeatMs`; with a token, the manager's `proof` (auth.ts `proveWelcome`). */
  welcome: t.Object({ version: t.Literal(PROTOCOL_VERSION), heartbeatMs: t.Integer({ minimum: 1 }), proof: t.Optional(Proof) }, strict),
  /** Either side: the peer is refused and the connection ends. */
  reject: t.Object({ reason: Reason }, strict),
  /**
   * Manager -> worker: run `op` with `params` on the payload; `attempt` counts from 1 and grows on each retransmission.
   * The params follow the task contract (tasks.ts: the op's params, plus `image` for an image op), checked by the worker that runs it.
   */
  assign: t.Object({ taskId: TaskId, attempt: Attempt, op: OpName, params: JsonObject }, strict),
  /** Worker -> manager: the output of one attempt; `meta` describes the payload (tasks.ts RawResultMeta, ClassifyResultMeta), checked by the manager. */
  result: t.Object({ taskId: TaskId, attempt: Attempt, meta: JsonObject }, strict),
  /** Worker -> manager: one attempt failed; `code` is UPPER_SNAKE. */
  error: t.Object(
    { taskId: TaskId, attempt: Attempt, code: t.String({ pattern: "^[A-Z][A-Z0-9_]*$", maxLength: 64 }), message: t.String({ maxLength: 4096 }) },
    strict,
  ),
  /** Worker -> manager: liveness and load. `cpuPercent` may exceed 100 on several cores. */
  heartbeat: t.Object({ inFlight: Count, done: Count, cpuPercent: t.Number({ minimum: 0 }), rssBytes: Count }, strict),
  /** Either side: a clean goodbye before closing. */
  bye: t.Object({ reason: Reason }, strict),
};

type Headers = typeof headers;
type Kind = keyof Headers;
type Carrying = "assign" | "result";
type MessageOf<K extends Kind> = { type: K } & Static<Headers[K]> & (K extends Carrying ? { payload: Uint8Array } : unknown);

export type Challenge = MessageOf<"challenge">;
export type Hello = MessageOf<"hello">;
export type Welcome = MessageOf<"welcome">;
export type Reject = MessageOf<"reject">;
export type Assign = MessageOf<"assign">;
export type Result = MessageOf<"result">;
export type TaskError = MessageOf<"error">;
export type Heartbeat = MessageOf<"heartbeat">;
export type Bye = MessageOf<"bye">;
/** Every message, told apart by `type`. */
export type Message = Challenge | Hello | Welcome | Reject | Assign | Result | TaskError | Heartbeat | Bye;

/** The type byte of each message on the wire. */
export const MESSAGE_TYPES = {
  hello: 0x01,
  welcome: 0x02,
  reject: 0x03,
  challenge: 0x04,
  assign: 0x10,
  result: 0x11,
  error: 0x12,
  heartbeat: 0x20,
  bye: 0x7f,
} as const satisfies Record<Kind, number>;

interface Spec {
  kind: Kind;
  code: number;
  check: TypeCheck<TSchema>;
  carries: boolean;
  versioned: boolean;
}

const specs = new Map<Kind, Spec>();
const byCode: (Spec | undefined)[] = new Array(256);
for (const kind of Object.keys(headers) as Kind[]) {
  const spec: Spec = {
    kind,
    code: MESSAGE_TYPES[kind],
    check: TypeCompiler.Compile(headers[kind] as TSchema),
    carries: kind === "assign" || kind === "result",
    versioned: kind === "challenge" || kind === "hello" || kind === "welcome",
  };
  specs.set(kind, spec);
  byCode[spec.code] = spec;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Encodes a message as frame parts (see `encodeFrame`): its JSON header checked against its
 * schema, its payload (assign, result) as raw bytes, never copied when over 16 KiB.
 * Throws PROTOCOL_ERROR naming each bad field, FRAME_TOO_LARGE past `maxFrameBytes`.
 */
export function encodeMessage(message: Message, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array[] {
  const spec = specs.get(message.type);
  if (!spec) throw new FleetError("PROTOCOL_ERROR", `unknown message type ${JSON.stringify(message.type)}`, 500);
  const { type: _type, payload, ...header } = message as { type: Kind; payload?: Uint8Array };
  if (!spec.check.Check(header)) throw new FleetError("PROTOCOL_ERROR", `${spec.kind}: ${describeErrors(spec.check, header)}`, 500);
  if (spec.carries && !(payload instanceof Uint8Array)) throw new FleetError("PROTOCOL_ERROR", `${spec.kind}: payload must be a Uint8Array`, 500);
  return encodeFrame(spec.code, JSON.stringify(header), spec.carries ? payload : EMPTY, maxFrameBytes);
}

/**
 * Decodes one frame into a message, checking its header strictly (unknown keys refused).
 * Throws PROTOCOL_VERSION (naming both versions) for a challenge, hello or welcome of another protocol
 * version, PROTOCOL_ERROR naming what was wrong for anything else malformed. The payload
 * is a view of the frame's bytes, not a copy.
 */
export function decodeMessage(frame: Frame): Message {
  const spec = byCode[frame.type];
  if (!spec) throw new FleetError("PROTOCOL_ERROR", `unknown message type 0x${frame.type.toString(16).padStart(2, "0")}`);
  const header = parseHeader(spec.kind, frame.header);
  if (spec.versioned) checkVersion(spec.kind, header);
  if (!spec.check.Check(header)) throw new FleetError("PROTOCOL_ERROR", `${spec.kind}: ${describeErrors(spec.check, header)}`);
  if (spec.carries) header.payload = frame.payload;
  else if (frame.payload.length > 0) throw new FleetError("PROTOCOL_ERROR", `${spec.kind}: carries ${frame.payload.length} payload bytes; it takes none`);
  header.type = spec.kind;
  return header as unknown as Message;
}

function parseHeader(kind: Kind, bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    throw new FleetError("PROTOCOL_ERROR", `${kind}: header is not UTF-8 JSON (${(error as Error).message})`, 400, { cause: error });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FleetError("PROTOCOL_ERROR", `${kind}: header is ${Array.isArray(value) ? "an array" : `${value}`}, not a JSON object`);
  }
  return value as Record<string, unknown>;
}

function checkVersion(kind: Kind, header: Record<string, unknown>): void {
  const version = header.version;
  if (!Number.isInteger(version) || version === PROTOCOL_VERSION) return;
  throw new FleetError("PROTOCOL_VERSION", `${kind} speaks protocol version ${version}; this side speaks version ${PROTOCOL_VERSION}`);
}

/** The first schema violation of each of the first few faulty fields as `path message (got value)`, joined by "; ". */
function describeErrors(check: TypeCheck<TSchema>, value: unknown): string {
  const found = new Map<string, string>();
  for (const error of check.Errors(value)) {
    const path = error.path || "/";
    if (found.has(path)) continue;
    const got = JSON.stringify(error.value);
    found.set(path, `${path} ${error.message}${got === undefined ? "" : ` (got ${got.length > 40 ? `${got.slice(0, 40)}...` : got})`}`);
    if (found.size === 4) break;
  }
  return [...found.values()].join("; ");
}
