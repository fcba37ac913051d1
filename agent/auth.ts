// Who may call an agent's HTTP surfaces: the bearer token, protected mode, same-origin and JSON-only rules.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { FleetError } from "./errors";
import { jsonResponse } from "./http";

/**
 * How an agent's HTTP surfaces are guarded: `token` (a bearer token is required),
 * `loopback` (no token, bound to loopback only: open to this machine's users, closed to
 * DNS rebinding by the Host check), `insecure` (no token on a LAN address, by
 * `--insecure-no-auth`; every page says so).
 */
export type AuthMode = "token" | "loopback" | "insecure";

/** A per-process key: tokens are compared as HMAC digests, so neither their bytes nor their length show in the timing. */
const COMPARE_KEY = randomBytes(32);

function digestOf(text: string): Buffer {
  return createHmac("sha256", COMPARE_KEY).update(text).digest();
}

/** The credentials of `Authorization: Bearer CREDENTIALS` (scheme name case-insensitive, RFC 9110 section 11.1), else undefined. */
export function readBearer(header: string | null | undefined): string | undefined {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(header ?? "");
  return match?.[1];
}

/** Whether `given` equals `token`, compared in constant time over fixed-size digests (leaks neither the token nor its length). */
export function isToken(given: string | undefined, token: string): boolean {
  return given !== undefined && timingSafeEqual(digestOf(given), digestOf(token));
}

/** Whether `host` (an address or name to bind) is loopback: `localhost`, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (bare === "localhost" || bare === "::1") return true;
  return isIP(bare) === 4 && bare.startsWith("127.");
}

/**
 * The guard of an agent that binds `host`: refuses a non-loopback bind without a token
 * unless `insecure` (Redis's protected mode).
 * @throws FleetError INSECURE_BIND naming `--token-file`, `AGENT_TOKEN` and `--insecure-no-auth`.
 */
export function chooseAuthMode(host: string, token: string | undefined, insecure: boolean): AuthMode {
  if (token) return "token";
  if (isLoopbackHost(host)) return "loopback";
  if (insecure) return "insecure";
  throw new FleetError(
    "INSECURE_BIND",
    `--host ${host} is reachable from the network and this agent has no token: give one with --token-file PATH or AGENT_TOKEN, bind --host 127.0.0.1, or accept an open agent with --insecure-no-auth`,
  );
}

/** The host part (no port) of a Host header or URL host, lower-case. */
function toHostName(host: string): string {
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!.toLowerCase();
}

/**
 * Whether the request's `Origin`, when it has one, is the agent's own (same host and port
 * as the `Host` header). Browsers send Origin on cross-site POSTs and WebSocket upgrades.
 */
export function isSameOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return true;
  if (!URL.canParse(origin)) return false;
  return new URL(origin).host === (request.headers.get("host") ?? "").toLowerCase();
}

/** Methods that change something: they take `application/json` bodies only. */
const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** What `guardRequest` checks. */
export interface Guard {
  mode: AuthMode;
  token?: string;
  /** True for paths anyone may read (the page and its files, the health probe). */
  isPublic(method: string, path: string): boolean;
  /** Mutating paths that take a body other than JSON (e.g. multipart uploads); default none. */
  takesOtherBodies?(path: string): boolean;
}

/**
 * The answer to a request the guard refuses, or undefined to let it through. In order:
 * 403 FOREIGN_ORIGIN (a browser page of another origin: cross-site form POSTs, WebSocket
 * upgrades), 403 FOREIGN_HOST (loopback mode: a Host header not naming loopback, i.e. DNS
 * rebinding), 415 UNSUPPORTED_TYPE (a mutating call whose body is not `application/json`),
 * 401 UNAUTHORIZED (token mode, no valid `Authorization: Bearer TOKEN`).
 */
export function guardRequest(request: Request, guard: Guard): Response | undefined {
  const path = new URL(request.url).pathname;
  if (!isSameOrigin(request)) return refusal(403, "FOREIGN_ORIGIN", "requests from pages of another origin are refused");
  if (guard.mode === "loopback" && !isLoopbackHost(toHostName(request.headers.get("host") ?? "localhost")))
    return refusal(403, "FOREIGN_HOST", "this agent has no token and answers only Host names of loopback (127.0.0.1, localhost)");
  if (MUTATING.has(request.method) && !guard.takesOtherBodies?.(path)) {
    const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const hasBody = request.method !== "DELETE" || type !== "" || Number(request.headers.get("content-length") ?? 0) > 0;
    if (hasBody && type !== "application/json")
      return refusal(415, "UNSUPPORTED_TYPE", `content type "${type || "none"}": send application/json`);
  }
  if (guard.mode !== "token" || guard.isPublic(request.method, path)) return undefined;
  if (isToken(readBearer(request.headers.get("authorization")), guard.token!)) return undefined;
  return jsonResponse({ error: "UNAUTHORIZED", message: "send Authorization: Bearer TOKEN" }, 401, { "www-authenticate": "Bearer" });
}

function refusal(status: number, code: string, message: string): Response {
  return jsonResponse({ error: code, message }, status);
}
