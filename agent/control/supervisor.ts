// Runs roles on an agent: start with checked options, list, figures, stop; shared by the CLI and the control API.
import { checkFilesSpec, checkReadPath, placeOutput, resolveRoots } from "./_read-policy";
import { startRestarting, type RestartingHandle } from "../impair/restart";
import { FleetError, describeError } from "../errors";
import { createImpairer } from "../impair";
import { checkOptions } from "./options";
import { findRole } from "../roles";
import type { LastFrame, RoleContext, RoleHandle, RoleStats } from "../roles/types";
import { parseSourceSpec, runsCommand } from "../sources";
import type { Impairment, RoleInfo, RoleInfoOf, RoleState } from "../wire";
import { DurationHistograms } from "./prometheus/durations";

/** Where a start request came from: the local command line, or the network (control API). */
export type Origin = "cli" | "api";

/** What the network may do on this agent. */
export interface NetworkPolicy {
  /** Let the control API start sources that run a command (mjpeg-cmd, camera): the agent's `--allow-source-cmd`. */
  allowSourceCmd: boolean;
  /** Folder that relative `out` paths from the network resolve into (`--data-dir`). */
  dataDir: string;
  /** Let the control API read files anywhere (`files:` sources, `model`): the agent's `--allow-files-anywhere`; else only under its working folder or data dir. */
  allowFilesAnywhere?: boolean;
}

/** The info of a role started by the name `Name`: typed by it when it names a role wire.ts knows. */
type InfoOf<Name extends string> = Name extends RoleInfo["role"] ? RoleInfoOf<Name> : RoleInfo;

interface Entry {
  id: string;
  role: string;
  state: RoleState;
  startedAt: Date;
  options: Record<string, unknown>;
  handle: RoleHandle;
  /** Set when `fail` impairment makes the role crash and restart. */
  restarting?: RestartingHandle;
  final?: RoleStats;
  error?: string;
}

/**
 * Holds the roles running on this agent. Options from the network are held to the
 * policy: no command sources unless allowed, files read only under the working folder or the
 * data dir unless allowed, output folders only inside the data dir.
 */
export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private sequence = 0;
  /** The Prometheus histograms the roles observe their durations into (exported by the control API's /metrics). */
  readonly durations = new DurationHistograms();

  constructor(private readonly context: RoleContext, private readonly policy: NetworkPolicy) {}

  /**
   * Checks the options against the role's schema and the network policy, then starts the
   * role with its impairment (agent/impair/; `fail` is handled here, by restarts).
   * @throws FleetError UNKNOWN_ROLE/BAD_OPTIONS/BAD_IMPAIRMENT/NETEM_UNAVAILABLE (422),
   *   SOURCE_CMD_REFUSED/PATH_REFUSED (403), or the role's own.
   */
  async start<Name extends string>(roleName: Name, rawOptions: unknown, origin: Origin, impairment?: Impairment): Promise<InfoOf<Name>> {
    try {
      return await this.startChecked(roleName, rawOptions, origin, impairment);
    } catch (error) {
      // From the command line the process ends with this error as its one line; from the network it is answered, and kept in the log for `controller logs`.
      if (origin === "api") this.context.log("role_start_failed", { role: roleName, error: describeError(error) });
      throw error;
    }
  }

  private async startChecked<Name extends string>(roleName: Name, rawOptions: unknown, origin: Origin, impairment?: Impairment): Promise<InfoOf<Name>> {
    const role = findRole(roleName);
    const options = checkOptions<Record<string, unknown>>(role.options, rawOptions, origin);
    if (origin === "api") await this.holdToPolicy(options);
    const impair = createImpairer(impairment);
    const named = { id: "" };
    const observe = this.durations.observerFor(() => ({ agent: this.context.agent, role: role.name, id: named.id }));
    const context: RoleContext = { ...this.context, impair, observe };
    const logAsRole = (event: string, fields?: Record<string, unknown>) => this.context.log(event, { id: named.id, ...fields });
    const restarting = impair.failure
      ? await startRestarting((next) => role.start(next, context), options, impair.failure, logAsRole)
      : undefined;
    const handle = restarting ?? (await role.start(options, context));
    this.sequence += 1;
    named.id = `${role.name}-${this.sequence}`;
    const entry: Entry = { id: named.id, role: role.name, state: "running", startedAt: new Date(), options, handle, restarting };
    this.entries.set(entry.id, entry);
    handle.ended?.then(() => {
      if (entry.state === "running") entry.state = "ended";
    });
    this.context.log("role_started", { id: entry.id, role: role.name, ...(impairment ? { impair: impair.describe() } : {}) });
    // findRole found the role by this very name.
    return this.describe(entry) as InfoOf<Name>;
  }

  /**
   * The last frame role `id` holds (receivers keep the last saved image), if any.
   * @throws FleetError NO_SUCH_ROLE (404).
   */
  lastFrame(id: string): Uint8Array | undefined {
    return (this.find(id).handle as RoleHandle & Partial<LastFrame>).lastFrame?.();
  }

  /** Resolves when role `id` ends by itself; undefined for roles that run until stopped. */
  ended(id: string): Promise<void> | undefined {
    return this.find(id).handle.ended;
  }

  /** Every role started on this agent, running or ended. */
  list(): RoleInfo[] {
    return [...this.entries.values()].map((entry) => this.describe(entry));
  }

  /** @throws FleetError NO_SUCH_ROLE (404). */
  get(id: string): RoleInfo {
    return this.describe(this.find(id));
  }

  /**
   * Stops a role (idempotent), forgets it, and answers its final figures.
   * @throws FleetError NO_SUCH_ROLE (404).
   */
  async stop(id: string): Promise<RoleInfo> {
    const entry = this.find(id);
    if (entry.state === "running" || entry.state === "ended") {
      entry.state = "stopping";
      try {
        await entry.handle.stop();
        entry.state = "ended";
      } catch (error) {
        entry.state = "failed";
        entry.error = (error as Error).message;
      }
      entry.final = entry.handle.stats();
    }
    this.entries.delete(id);
    this.durations.forget(id);
    return this.describe(entry);
  }

  /** Stops every role, newest first (reverse order of start), and answers their final figures. */
  async stopAll(): Promise<RoleInfo[]> {
    const ids = [...this.entries.keys()].reverse();
    const stopped: RoleInfo[] = [];
    for (const id of ids) stopped.push(await this.stop(id));
    return stopped;
  }

  private find(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new FleetError("NO_SUCH_ROLE", `no role with id "${id}" on this agent`, 404);
    return entry;
  }

  private describe(entry: Entry): RoleInfo {
    const error = entry.error ?? entry.restarting?.restartError();
    // The one place a role's registry name meets its figures: each role reports the stats type agent/wire.ts gives its name.
    return {
      id: entry.id,
      role: entry.role,
      state: error ? "failed" : entry.state === "running" && entry.restarting?.isDown() ? "down" : entry.state,
      started_at: entry.startedAt.toISOString(),
      options: entry.options,
      stats: entry.final ?? entry.handle.stats(),
      ...(error ? { error } : {}),
    } as RoleInfo;
  }

  /**
   * Refuses command sources, files read from outside the working folder and data dir (each
   * match after realpath), and output paths (`out`, a sender's `ackLog`) outside the data
   * dir; rewrites them to their place in the data dir.
   */
  private async holdToPolicy(options: Record<string, unknown>): Promise<void> {
    if (typeof options.source === "string" && runsCommand(parseSourceSpec(options.source)) && !this.policy.allowSourceCmd)
      throw new FleetError(
        "SOURCE_CMD_REFUSED",
        `options.source "${options.source.split(":")[0]}" runs a command; this agent takes such sources only from its own command line (or when started with --allow-source-cmd)`,
        403,
      );
    if (!this.policy.allowFilesAnywhere) {
      const roots = await resolveRoots(this.policy.dataDir);
      if (typeof options.source === "string" && options.source.startsWith("files:")) await checkFilesSpec("options.source", options.source.slice("files:".length), roots);
      if (typeof options.model === "string") await checkReadPath("options.model", options.model, roots);
    }
    for (const field of ["out", "ackLog"] as const) {
      const value = options[field];
      if (typeof value === "string" && value !== "") options[field] = await placeOutput(`options.${field}`, value, this.policy.dataDir);
    }
  }
}
