// Typed client of an agent's control API, used by the controller (and the shape the pages rely on).
import { FleetError } from "./errors";
import type { TelemetrySample } from "./telemetry";
import type { ClockReading, Health, Impairment, LogLines, RoleInfo } from "./wire";

/** Time a control call may take before it fails (ms); stopping a receiver drains its queue, hence generous. */
const CALL_TIMEOUT_MS = 60_000;

/** A client of one agent: `baseUrl` such as `http://pi1.local:7700`, with the agent's bearer token if it has one. */
export class ControlClient {
  constructor(readonly name: string, readonly baseUrl: string, private readonly token?: string) {}

  /** `GET /v1/health`. */
  health(): Promise<Health> {
    return this.call("GET", "/v1/health");
  }

  /** `GET /v1/telemetry?since=`: the box's samples taken at or after `since` (epoch ms, the agent's clock), oldest first; at most the last hour. */
  async telemetry(since: number): Promise<TelemetrySample[]> {
    return (await this.call<{ samples: TelemetrySample[] }>("GET", `/v1/telemetry?since=${Math.max(0, Math.floor(since))}`)).samples;
  }

  /** `GET /v1/logs`: the agent's last `lines` (1-1000) log lines numbered above `after`, oldest first. */
  logs(after = 0, lines = 100): Promise<LogLines> {
    return this.call("GET", `/v1/logs?after=${after}&lines=${lines}`);
  }

  /** `GET /v1/clock`: the agent's wall clock as it received and answered the call (ms since epoch). */
  readClock(): Promise<ClockReading> {
    return this.call("GET", "/v1/clock");
  }

  /** `POST /v1/roles`: starts `role` with `options` and optional `impair`ment; answers the role as listed. */
  startRole(role: string, options: Record<string, unknown>, impair?: Impairment): Promise<RoleInfo> {
    return this.call("POST", "/v1/roles", impair ? { role, options, impair } : { role, options });
  }

  /** `GET /v1/roles`. */
  listRoles(): Promise<RoleInfo[]> {
    return this.call("GET", "/v1/roles");
  }

  /** `GET /v1/roles/:id`. */
  getRole(id: string): Promise<RoleInfo> {
    return this.call("GET", `/v1/roles/${encodeURIComponent(id)}`);
  }

  /** `DELETE /v1/roles/:id`: stops the role; answers it with its final figures. */
  stopRole(id: string): Promise<RoleInfo> {
    return this.call("DELETE", `/v1/roles/${encodeURIComponent(id)}`);
  }

  /**
   * One JSON call.
   * @throws FleetError with the agent's own code and status for a 4xx/5xx answer,
   *   AGENT_UNREACHABLE (502) when the agent cannot be reached; messages start with the agent's name.
   */
  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: { "content-type": "application/json", ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
      });
    } catch (error) {
      throw new FleetError("AGENT_UNREACHABLE", `agent ${this.name} (${this.baseUrl}): ${(error as Error).message}`, 502, { cause: error });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { error: "BAD_ANSWER", message: text.slice(0, 200) };
    }
    if (!response.ok) {
      const answer = parsed as { error?: string; message?: string };
      throw new FleetError(answer.error ?? `HTTP_${response.status}`, `agent ${this.name}: ${answer.message ?? text.slice(0, 200)}`, response.status);
    }
    return parsed as T;
  }
}
