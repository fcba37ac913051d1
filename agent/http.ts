// Shared HTTP plumbing of every Elysia app in the agent: JSON errors and the error hook.
import type { Elysia } from "elysia";
import { FleetError } from "./errors";

/** A JSON response with `status` and extra headers. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** The `{error, message}` response for anything thrown; unknown errors become 500 INTERNAL without a stack. */
export function errorResponse(error: unknown): Response {
  if (error instanceof FleetError) return jsonResponse(error.toJSON(), error.status);
  return jsonResponse({ error: "INTERNAL", message: error instanceof Error ? error.message : String(error) }, 500);
}

/** Elysia's own error codes mapped to ours: (status, code). */
const ELYSIA_ERRORS: Record<string, [number, string]> = {
  NOT_FOUND: [404, "NOT_FOUND"],
  PARSE: [400, "BAD_BODY"],
  VALIDATION: [422, "BAD_REQUEST"],
  INVALID_COOKIE_SIGNATURE: [400, "BAD_REQUEST"],
};

/**
 * Makes every error an app throws answer `{error, message}` JSON: FleetError with its
 * own status, Elysia's parse/validation/not-found errors as 400/422/404.
 */
export function answerErrorsAsJson<App extends Elysia<any, any, any, any, any, any, any>>(app: App): App {
  return app.onError(({ code, error }) => {
    if (error instanceof FleetError) return errorResponse(error);
    const mapped = ELYSIA_ERRORS[String(code)];
    if (!mapped) return errorResponse(error);
    const [status, errorCode] = mapped;
    const message = code === "VALIDATION" ? summarizeValidation(error) : (error as Error).message || errorCode;
    return jsonResponse({ error: errorCode, message }, status);
  }) as App;
}

/** One line naming the fields Elysia's validator rejected. */
function summarizeValidation(error: unknown): string {
  const all = (error as { all?: { path?: string; message?: string }[] }).all ?? [];
  const lines = all.map((item) => `${item.path || "body"}: ${item.message}`);
  return lines.length > 0 ? [...new Set(lines)].join("; ") : "request does not match the schema";
}
