// Who may call an agent's HTTP servers (control API, manager, streamer): bearer token, protected mode, same-origin and JSON-only rules.
import { isIP } from "node:net";
import { FleetError } from "./errors";
import { jsonResponse } from "./http";
import { sameSecret } from "./protocol";

/**
 * How an agent's HTTP surfaces are guarded: `token` (a bearer token is required),
 * `loopback` (no token, bound to loopback only: open to this machine's users, closed to
 * DNS rebinding by the Host check), `insecure` (no token on a LAN address, by
 * `--insecure-no-auth`; every page says so).
 */
export type AuthMode = "token" | "loopback" | "insecure";

/** Whether `host` (an address or name to bind, or a Host header's name) is loopback: `localhost`, 127.0.0.0/8 or ::1. */
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

/**
 * The token of an `Authorization: Bearer TOKEN` header; the scheme name is case-insensitive
 * (RFC 9110 section 11.1). Undefined without the header or with another scheme.
 */
export function readBearer(request: Request): string | undefined {
  const match = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.get("authorization") ?? "");
  return match?.[1];
}

/** The value of cookie `name` in the request's Cookie header (RFC 6265 section 5.4), undefined if absent. */
export function readCookie(request: Request, name: string): string | undefined {
  for (const pair of (request.headers.get("cookie") ?? "").split(";")) {
    const at = pair.indexOf("=");
    if (at > 0 && pair.slice(0, at).trim() === name) {
      try {
        return decodeURIComponent(pair.slice(at + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Whether any of `offered` equals `token`; each compared in constant time (`sameSecret`), never short-circuiting on content. */
export function holdsToken(token: string, offered: (string | undefined)[]): boolean {
  let found = false;
  for (const candidate of offered) if (candidate !== undefined && sameSecret(candidate, token)) found = true;
  return found;
}

/**
 * Whether a browser sent this request from another site: its `Origin` header is present and
 * its host:port is not the request's `Host` (an `Origin: null` counts as foreign). Clients
 * that are not browsers send no Origin and pass (they still need the token).
 */
export function isForeignOrigin(request: Request): boolean {
  const origin = request.headers.get("origin");
  if (origin === null) return false;
  try {
    return new URL(origin).host !== (request.headers.get("host") ?? new URL(request.url).host).toLowerCase();
  } catch {
    return true;
  }
}

/** The name part (no port) of a Host header, lower-case; an IPv6 name keeps its brackets. */
function toHostName(host: string): string {
  return host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!.toLowerCase();
}

/** What one server's gate lets through. */
export interface GateRules {
  /** The token wanted; undefined = everything open (the origin, JSON and Host rules still hold). */
  token: string | undefined;
  /** Paths anyone may read (GET, HEAD) without the token (a page and its files). */
  isPublic(path: string): boolean;
  /** Paths that also take the token as `?token=` (where a browser cannot set a header: WebSocket, `<img>`). */
  takesQueryToken(path: string): boolean;
  /** A cookie that also carries the token (a viewer page's). */
  cookie?: string;
  /** Refuse a foreign `Origin` (403) on every call but GET and HEAD, and on WebSocket upgrades. */
  sameOriginOnly: boolean;
  /** Mutating calls (POST, PUT, PATCH, DELETE with a body) must send `application/json` (415 otherwise): no HTML form can. */
  jsonOnly?: boolean;
  /** Answer only Host names of loopback (403 otherwise): an open server on loopback is then out of DNS rebinding's reach. */
  loopbackHostOnly?: boolean;
  /** Says how to send the token, in the 401's message. */
  hint: string;
}

const MUTATING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/**
 * Checks one request against `rules`: a Response refusing it, or undefined to let it
 * through. In order: 403 FOREIGN_ORIGIN (a browser page of another origin: cross-site form
 * POSTs, WebSocket upgrades), 403 FOREIGN_HOST (`loopbackHostOnly`: DNS rebinding), 415
 * UNSUPPORTED_TYPE (`jsonOnly`), 401 UNAUTHORIZED (a token is set and none of the bearer
 * header, `?token=` or cookie holds it). Default deny: every path but the public ones
 * needs the token. Token comparisons run in constant time (`holdsToken`).
 */
export function checkRequest(request: Request, rules: GateRules): Response | undefined {
  const url = new URL(request.url);
  const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
  const reads = request.method === "GET" || request.method === "HEAD";
  if (rules.sameOriginOnly && (upgrade || !reads) && isForeignOrigin(request))
    return jsonResponse({ error: "FOREIGN_ORIGIN", message: `Origin ${request.headers.get("origin")} is not this server's own (${request.headers.get("host")})` }, 403);
  if (rules.loopbackHostOnly && !isLoopbackHost(toHostName(request.headers.get("host") ?? url.host)))
    return jsonResponse({ error: "FOREIGN_HOST", message: "this server has no token and answers only Host names of loopback (127.0.0.1, localhost)" }, 403);
  if (rules.jsonOnly && MUTATING.has(request.method)) {
    const type = (request.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
    const hasBody = request.method !== "DELETE" || type !== "" || Number(request.headers.get("content-length") ?? 0) > 0;
    if (hasBody && type !== "application/json") return jsonResponse({ error: "UNSUPPORTED_TYPE", message: `content type "${type || "none"}": send application/json` }, 415);
  }
  if (rules.token === undefined || (reads && !upgrade && rules.isPublic(url.pathname))) return undefined;
  const offered = [
    readBearer(request),
    rules.takesQueryToken(url.pathname) ? (url.searchParams.get("token") ?? undefined) : undefined,
    rules.cookie ? readCookie(request, rules.cookie) : undefined,
  ];
  if (holdsToken(rules.token, offered)) return undefined;
  return jsonResponse({ error: "UNAUTHORIZED", message: `${url.pathname} needs the token: ${rules.hint}` }, 401, { "www-authenticate": 'Bearer realm="framefleet"' });
}
