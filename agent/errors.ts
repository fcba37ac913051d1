// The one error class of Framefleet and the table of process exit codes.

/** Process exit codes, one table for every entry point. */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  CONFIG: 3,
  NATIVE: 4,
  /** A run that finished but missed a goal of scenarios.toml's `[thresholds]` (k6's code for the same). */
  THRESHOLDS: 99,
} as const;

/**
 * An error with a stable UPPER_SNAKE `code`, the HTTP `status` to answer with
 * (400..599) and the underlying `cause` kept for logs.
 */
export class FleetError extends Error {
  override readonly name = "FleetError";
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The JSON body answered for this error: `{error, message}`. */
  toJSON(): { error: string; message: string } {
    return { error: this.code, message: this.message };
  }
}

/** Turns anything thrown into a one-line message fit for a terminal (never a stack). */
export function describeError(error: unknown): string {
  if (error instanceof FleetError) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return error.message;
  return String(error);
}
