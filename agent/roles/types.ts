// The one shape every role has: a name, an options schema, and start() giving a handle.
import type { Static, TObject } from "@sinclair/typebox";
import type { AuthMode } from "../auth";
import type { ObserveDuration } from "../control/prometheus/durations";
import type { Impairer } from "../impair";

/** What the agent gives a role when starting it. */
export interface RoleContext {
  /** The agent's name, used as the `agent` label of figures. */
  agent: string;
  /** Address servers of the role bind to (the agent's `--host`). */
  host: string;
  /**
   * The agent's shared secret (`--token-file` or AGENT_TOKEN), when it has one: the manager's
   * HTTP endpoints and the worker plane's HMAC hello both use it. Undefined = open.
   */
  token?: string;
  /** How the agent's servers are guarded (agent/auth.ts): `loopback` makes an open server answer only loopback Host names (DNS rebinding). */
  auth?: AuthMode;
  /** Writes one structured log line (JSON to stderr). */
  log(event: string, fields?: Record<string, unknown>): void;
  /**
   * The impairment this role injects itself (agent/impair/). Roles use
   * `context.impair ?? NO_IMPAIRMENT` and call it unconditionally; without impairment
   * every call is a no-op.
   */
  impair?: Impairer;
  /**
   * Observes one duration (ms) into the agent's Prometheus histogram of that name, labelled
   * with this role (agent/control/prometheus/durations.ts). Absent outside a supervisor: roles
   * call `context.observe?.(...)`.
   */
  observe?: ObserveDuration;
}

/** Live or final figures of a role: a flat JSON object whose fields depend on the role. */
export type RoleStats = Record<string, unknown> & { role: string };

/** A running role. */
export interface RoleHandle {
  /** Stops the role (drains what it accepted), gathers failures of its parts; resolves when done. */
  stop(): Promise<void>;
  /** Live figures; after stop() the final ones. */
  stats(): RoleStats;
  /** Resolves when the role ends by itself (a sender's `duration` ran out, a source ended). */
  ended?: Promise<void>;
}

/** An extra ability of a handle: the bytes of the last image the role handled (a receiver's last saved frame). */
export interface LastFrame {
  /** The JPEG bytes as received (no copy); undefined before the first image. */
  lastFrame(): Uint8Array | undefined;
}

/**
 * A role: its CLI/API name, a one-line summary, the strict TypeBox schema of its
 * options (the same schema checks CLI flags and control-API bodies), and start().
 */
export interface Role<Options extends TObject = TObject> {
  name: string;
  summary: string;
  options: Options;
  /**
   * The role serves endpoints guarded by the agent's token (the manager's jobs and worker
   * port), so protected mode (agent/auth.ts) applies to it even with `--no-control`.
   * Data planes (a receiver's uploads, a streamer's viewers) are open by design.
   */
  takesToken?: boolean;
  /**
   * Starts the role with options already checked against `options`.
   * @throws FleetError when the options cannot work here (port taken, no files...).
   */
  start(options: Static<Options>, context: RoleContext): Promise<RoleHandle>;
}
