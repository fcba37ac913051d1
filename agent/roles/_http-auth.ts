// Who may call a role's HTTP endpoints: the bearer token (header; `?token=` where a browser cannot set one), a viewer cookie, and the same-origin check of browsers' mutating calls and WebSocket upgrades.
import { jsonResponse } from "../http";
import { sameSecret } from "../protocol";

/** The cookie a streamer's viewer page keeps its `--viewer-token` in. */
export const VIEWER_COOKIE = "framefleet_viewer";

/**
 * The token of an `Authorization: Bearer TOKEN` header; the scheme name is case-insensitive
 * (RFC 9110 section 11.1). Undefined without the header or with another scheme.
 */
export function readBearer(request: Request): string | undefined {
  const match = /^bearer[ \t]+(.+?)[ \t]*$/i.exec(request.headers.get("authorization") ?? "");
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
    return new URL(origin).host !== (request.headers.get("host") ?? new URL(request.url).host);
  } catch {
    return true;
  }
}

/** The 401 answer: `{error: "UNAUTHORIZED", message}` with a `WWW-Authenticate: Bearer` challenge. */
export function refuseUnauthorized(message: string): Response {
  return jsonResponse({ error: "UNAUTHORIZED", message }, 401, { "www-authenticate": 'Bearer realm="framefleet"' });
}

/** The 403 answer to a foreign `Origin`: `{error: "FOREIGN_ORIGIN", message}`. */
export function refuseForeignOrigin(request: Request): Response {
  return jsonResponse({ error: "FOREIGN_ORIGIN", message: `Origin ${request.headers.get("origin")} is not this server's own (${request.headers.get("host")})` }, 403);
}

/** What one server's gate lets through. */
export interface GateRules {
  /** The token wanted; undefined = everything open (the origin rule still holds). */
  token: string | undefined;
  /** Paths anyone may read without the token (a page and its files). */
  isPublic(path: string): boolean;
  /** Paths that also take the token as `?token=` (where a browser cannot set a header: WebSocket, `<img>`). */
  takesQueryToken(path: string): boolean;
  /** A cookie that also carries the token (a viewer page's). */
  cookie?: string;
  /** Refuse a foreign `Origin` (403) on every call but GET and HEAD, and on WebSocket upgrades. */
  sameOriginOnly: boolean;
  /** Says how to send the token, in the 401's message. */
  hint: string;
}

/**
 * Checks one request against `rules`: a Response refusing it (403 FOREIGN_ORIGIN, 401
 * UNAUTHORIZED), or undefined to let it through. Default deny: every path but the public
 * ones needs the token. Token comparisons run in constant time (`holdsToken`).
 */
export function checkRequest(request: Request, rules: GateRules): Response | undefined {
  const url = new URL(request.url);
  const upgrade = request.headers.get("upgrade")?.toLowerCase() === "websocket";
  const reads = request.method === "GET" || request.method === "HEAD";
  if (rules.sameOriginOnly && (upgrade || !reads) && isForeignOrigin(request)) return refuseForeignOrigin(request);
  if (rules.token === undefined || (reads && !upgrade && rules.isPublic(url.pathname))) return undefined;
  const offered = [
    readBearer(request),
    rules.takesQueryToken(url.pathname) ? (url.searchParams.get("token") ?? undefined) : undefined,
    rules.cookie ? readCookie(request, rules.cookie) : undefined,
  ];
  return holdsToken(rules.token, offered) ? undefined : refuseUnauthorized(`${url.pathname} needs the token: ${rules.hint}`);
}
