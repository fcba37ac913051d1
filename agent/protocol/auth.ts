// The worker plane's handshake (protocol version 3): the manager's challenge, the HMAC proofs of hello and welcome, the limits before admission. The token never travels.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { FleetError } from "../errors";
import { PROTOCOL_VERSION, type Challenge, type Hello, type Welcome } from "./messages";

/** How long a fresh connection to the manager may take to say a valid hello before it is closed: 5000 ms. */
export const HELLO_TIMEOUT_MS = 5000;

/** Largest frame either side takes from a peer not yet admitted (before a valid hello, before a checked welcome): 64 KiB. */
export const HANDSHAKE_MAX_FRAME_BYTES = 64 * 1024;

/** Random bytes in each nonce (manager's and worker's): 32, sent as 44 characters of base64. */
const NONCE_BYTES = 32;

/** Where to fix a mismatch, said in every refusal. */
const FIX = "give the manager and every worker the same --token-file or AGENT_TOKEN";

/** What a worker says of itself in hello, besides the handshake's own fields. */
export type HelloFields = Omit<Hello, "type" | "version" | "nonce" | "proof">;

/** A fresh random nonce: 32 bytes from the CSPRNG in base64. */
function createNonce(): string {
  return randomBytes(NONCE_BYTES).toString("base64");
}

/** HMAC-SHA256 (RFC 2104, FIPS 180-4) of `text` under `token`, in lower-case hex. */
function hmacHex(token: string, text: string): string {
  return createHmac("sha256", token).update(text, "utf8").digest("hex");
}

/** Compares two proofs (64 hex characters each, as the schema makes them) in constant time. */
function sameProof(given: string, wanted: string): boolean {
  const a = Buffer.from(given, "hex");
  const b = Buffer.from(wanted, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The key `sameSecret` hashes both sides under: random per process, so digests say nothing outside it. */
const COMPARE_KEY = randomBytes(32);

/**
 * Whether `given` equals `wanted` (a secret such as a bearer token), in time that depends on
 * neither's content nor length: both are hashed with HMAC-SHA256 under a per-process random
 * key and the 32-byte digests compared with `timingSafeEqual`.
 */
export function sameSecret(given: string, wanted: string): boolean {
  const digest = (text: string) => createHmac("sha256", COMPARE_KEY).update(text, "utf8").digest();
  return timingSafeEqual(digest(given), digest(wanted));
}

/**
 * The worker's proof in hello: HMAC-SHA256(token, "framefleet-hello\n" + managerNonce + "\n" +
 * workerNonce + "\n" + workerId) in hex (RFC 2104). The manager's fresh nonce makes a recorded
 * hello useless on another connection; the worker id binds the proof to who says it.
 */
export function proveHello(token: string, managerNonce: string, workerNonce: string, workerId: string): string {
  return hmacHex(token, `framefleet-hello\n${managerNonce}\n${workerNonce}\n${workerId}`);
}

/**
 * The manager's proof in welcome: HMAC-SHA256(token, "framefleet-welcome\n" + workerNonce + "\n" +
 * managerNonce) in hex (RFC 2104): the worker learns the manager holds the token too (mutual).
 * A different label from `proveHello`, so neither proof can stand for the other.
 */
export function proveWelcome(token: string, workerNonce: string, managerNonce: string): string {
  return hmacHex(token, `framefleet-welcome\n${workerNonce}\n${managerNonce}`);
}

/** Manager: the first message of a fresh connection, a new nonce each time; `auth` tells whether a proof is wanted. */
export function createChallenge(token: string | undefined): Challenge {
  return { type: "challenge", version: PROTOCOL_VERSION, nonce: createNonce(), auth: token !== undefined };
}

/**
 * Worker: the hello answering `challenge`, with a fresh nonce and, when the worker holds a
 * token, its proof. A worker without a token answers without proof, so that the manager
 * that wants one refuses it and logs why.
 * @throws FleetError AUTH_MISMATCH (401) when this worker holds a token and the manager has
 *   none: a worker with a token serves only a manager that can prove it.
 */
export function answerChallenge(token: string | undefined, challenge: Challenge, fields: HelloFields): Hello {
  if (token !== undefined && !challenge.auth) {
    throw new FleetError("AUTH_MISMATCH", `authentication mismatch: this worker has a token but the manager has none; ${FIX}`, 401);
  }
  const nonce = createNonce();
  const proof = token === undefined ? {} : { proof: proveHello(token, challenge.nonce, nonce, fields.workerId) };
  return { type: "hello", version: PROTOCOL_VERSION, ...fields, nonce, ...proof };
}

/** Manager: why `hello` is refused under the token this manager holds (naming the cause, never the token), or null when its proof holds. */
export function checkHello(token: string | undefined, challenge: Challenge, hello: Hello): string | null {
  if (token === undefined) {
    return hello.proof === undefined ? null : `authentication mismatch: the worker proves a token but this manager has none; ${FIX}`;
  }
  if (hello.proof === undefined) return `authentication failed: this manager requires the shared token and the hello carries no proof; ${FIX}`;
  if (!sameProof(hello.proof, proveHello(token, challenge.nonce, hello.nonce, hello.workerId))) {
    return `authentication failed: the hello's proof does not match; the worker holds a different token; ${FIX}`;
  }
  return null;
}

/** Manager: the welcome for an admitted `hello`, with the manager's proof when it holds a token. */
export function createWelcome(token: string | undefined, challenge: Challenge, hello: Hello, heartbeatMs: number): Welcome {
  const proof = token === undefined ? {} : { proof: proveWelcome(token, hello.nonce, challenge.nonce) };
  return { type: "welcome", version: PROTOCOL_VERSION, heartbeatMs, ...proof };
}

/** Worker: why `welcome` is refused (the manager cannot prove the token, or proves one this worker lacks), or null when it holds. */
export function checkWelcome(token: string | undefined, challenge: Challenge, hello: Hello, welcome: Welcome): string | null {
  if (token === undefined) {
    return welcome.proof === undefined ? null : `authentication mismatch: the manager proves a token but this worker has none; ${FIX}`;
  }
  if (welcome.proof === undefined) return `authentication failed: the manager's welcome carries no proof; ${FIX}`;
  if (!sameProof(welcome.proof, proveWelcome(token, hello.nonce, challenge.nonce))) {
    return `authentication failed: the manager's welcome proof does not match; the manager holds a different token; ${FIX}`;
  }
  return null;
}
