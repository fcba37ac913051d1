// Reads scenarios.toml: TOML parsed by smol-toml, checked strictly, every problem reported at once.
import { parse as parseToml } from "smol-toml";
import { Type as t, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { FleetError } from "../agent/errors";
import { checkOptions } from "../agent/control/options";
import { findRole, roles } from "../agent/roles";
import { parseDuration } from "../agent/units";
import { Impairment } from "../agent/wire";
import { parseRate } from "../agent/impair/rate";
import { BROKER, expandSweep, MEDIUM_KEY, setsAnything, withValue, type SweepPoint } from "./sweep";
import { parseSaturation, type OptionShape, type Saturation } from "./saturation";
import { parseThresholds, type Threshold } from "./thresholds";

const NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

/**
 * A role entry's impairment: the agents' own `Impairment` (agent/wire.ts) plus `agents`, the
 * agents of the entry its faults hit (default: all of them). See `toAgentImpairment`.
 */
const RoleImpairment = t.Composite([Impairment, t.Object({ agents: t.Optional(t.Array(t.String({ pattern: NAME }), { minItems: 1 })) })], {
  additionalProperties: false,
});

/**
 * A `[media]` profile: the link a medium gives each agent, applied as Framefleet's own
 * impairment of what the agent sends (`rate` token bucket, `delay` ± `jitter`, `loss` of
 * whole requests). Example: `wifi-5ghz = { rate = "100Mbit", delay = "3ms", jitter = "2ms" }`.
 */
const MediumProfile = t.Pick(Impairment, ["rate", "delay", "jitter", "loss"], { additionalProperties: false });
export type MediumProfile = Static<typeof MediumProfile>;

/** Where a sender role sends: `all` spreads every sender over every sink in turn, `paired` sends sender i to sink i only. */
const Targets = t.Union([t.Literal("all"), t.Literal("paired")]);
export type Targets = Static<typeof Targets>;

const RoleEntry = t.Object(
  {
    role: t.String({ minLength: 1 }),
    agents: t.Array(t.String({ pattern: NAME }), { minItems: 1 }),
    options: t.Optional(t.Record(t.String(), t.Unknown())),
    impair: t.Optional(RoleImpairment),
    targets: t.Optional(Targets),
  },
  { additionalProperties: false },
);

const ScenarioEntry = t.Object(
  {
    name: t.String({ pattern: NAME }),
    broker: t.Optional(t.String({ pattern: BROKER })),
    description: t.Optional(t.String()),
    duration: t.Optional(t.String()),
    warmup: t.Optional(t.String()),
    repeat: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
    medium: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
    sweep: t.Optional(t.Record(t.String(), t.Unknown())),
    thresholds: t.Optional(t.Record(t.String(), t.Unknown())),
    /** A saturation search (controller/saturation.ts): `option`, `start`, `limit = {FIGURE = MAX}`, optional `factor`, `bisect`, `max`. */
    saturate: t.Optional(t.Record(t.String(), t.Unknown())),
    roles: t.Array(RoleEntry, { minItems: 1 }),
  },
  { additionalProperties: false },
);

const ScenarioFile = t.Object(
  {
    duration: t.Optional(t.String()),
    warmup: t.Optional(t.String()),
    repeat: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
    medium: t.Optional(t.String({ minLength: 1, maxLength: 64 })),
    /** Named link profiles (`[media]`): a `medium` naming one shapes every agent's link with it. */
    media: t.Optional(t.Record(t.String({ pattern: NAME }), MediumProfile)),
    /** Thresholds every scenario is judged by (a scenario's own table adds to them and wins on the same key). */
    thresholds: t.Optional(t.Record(t.String(), t.Unknown())),
    agents: t.Record(t.String({ pattern: NAME }), t.String({ pattern: "^https?://" })),
    /** `controller deploy` settings: `ssh`, the SSH destination of an agent (an ~/.ssh/config Host or user@host) where it is not the host of its URL. */
    deploy: t.Optional(t.Object({ ssh: t.Optional(t.Record(t.String({ pattern: NAME }), t.String({ minLength: 1, pattern: "^[^-\\s]\\S*$" }))) }, { additionalProperties: false })),
    scenario: t.Array(ScenarioEntry, { minItems: 1 }),
  },
  { additionalProperties: false },
);
type ScenarioFile = Static<typeof ScenarioFile>;

/** One role of a scenario: which agents run it, with which options and impairment. */
export interface RolePlan {
  role: string;
  agents: string[];
  options: Record<string, unknown>;
  impair?: Impairment;
  /** The agents the impairment's faults hit (`impair.agents` in the file); undefined = every agent of the plan. */
  impairAgents?: string[];
  /** Senders only: `all` (default) or `paired` (sender i to the i-th sink of the scenario). */
  targets?: Targets;
  /** The point's medium profile (`[media]`), on every agent of the plan beneath its own impairment. */
  link?: MediumProfile;
}

/** Impairment fields that emulate the board rather than a fault: they apply to every agent of a plan, named in `impair.agents` or not. */
const BOARD_FIELDS = ["cpu"] as const;

/**
 * The impairment one agent of a plan runs with: the plan's medium (`link`), beneath the whole
 * of `plan.impair` when the plan names no `impairAgents` or names this agent; otherwise
 * beneath only its board fields (`cpu`, the emulated Pi-class CPU, so a baseline keeps the
 * same CPU setting); undefined when nothing is left.
 */
export function toAgentImpairment(plan: RolePlan, agent: string): Impairment | undefined {
  const own = !plan.impair || !plan.impairAgents || plan.impairAgents.includes(agent) ? plan.impair : pickBoardFields(plan.impair);
  const merged = { ...plan.link, ...own };
  return Object.keys(merged).length > 0 ? merged : undefined;
}

function pickBoardFields(impair: Impairment): Impairment {
  return Object.fromEntries(BOARD_FIELDS.filter((field) => impair[field] !== undefined).map((field) => [field, impair[field]]));
}

/** A scenario ready to run: defaults applied, durations in ms, its sweep expanded into points. */
export interface Scenario {
  name: string;
  description?: string;
  /** Measured time of each run, after the warm-up. */
  durationMs: number;
  /** Time at the start of each run that is excluded from the figures. */
  warmupMs: number;
  repeat: number;
  /** The scenario's medium: a `[media]` profile's name (its points run on it unless they sweep `medium`), or a free label (`ethernet`) carried into the results. */
  medium?: string;
  /** `tcp` (default), `nats` (the local NATS server) or `nats://HOST:PORT`; a sweep's `broker` key wins per point. */
  broker?: string;
  /** The sweep keys in file order (empty without a sweep). */
  swept: string[];
  /** One point per combination of swept values (one point with no params without a sweep). */
  points: SweepPoint[];
  /** Goals judged on each point's summary (file-wide ones first, the scenario's own win on the same key); empty without any. */
  thresholds: Threshold[];
  /** The saturation search of `[scenario.saturate]`: its one point is run at rates the search picks instead of once per repeat. */
  saturate?: Saturation;
}

/** The whole file: agent names to control URLs, and the scenarios in file order. */
export interface ScenarioSet {
  agents: Record<string, string>;
  /** `[deploy.ssh]`: agent name to SSH destination, for agents not reached by the host of their URL (empty without the table). */
  ssh: Record<string, string>;
  /** The `[media]` profiles by name (empty without the table). */
  media: Record<string, MediumProfile>;
  scenarios: Scenario[];
}

/** File-level defaults when the file gives none: 5 s runs, no warm-up, once each. */
const DEFAULTS = { duration: "5s", warmup: "0s", repeat: 1 };

/** Options the controller fills in itself, so a scenario need not (and should not) give them. */
const FILLED_BY_CONTROLLER: Record<string, Record<string, unknown>> = {
  sender: { target: ["http://filled-in-by-the-controller/upload"], duration: "0" },
  receiver: { port: 0, out: "filled-in-by-the-controller" },
  viewers: { target: "http://filled-in-by-the-controller/stream" },
  manager: { port: 0, workerPort: 0 },
  "grayscale-worker": { manager: "filled-in-by-the-controller:1" },
  "recognition-worker": { manager: "filled-in-by-the-controller:1" },
};

/** `/scenario/2/roles/0/agents` -> `scenario case3-3to1: roles[0].agents` (or `file: agents.pi1` outside scenarios). */
function describePath(path: string, file: ScenarioFile): string {
  const parts = path.split("/").filter(Boolean);
  if (parts[0] !== "scenario" || parts[1] === undefined) return `file: ${parts.join(".") || "(top level)"}`;
  const entry = (file.scenario as unknown[])[Number(parts[1])] as { name?: unknown } | undefined;
  const label = typeof entry?.name === "string" ? entry.name : `#${Number(parts[1]) + 1}`;
  const rest = parts.slice(2).map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`)).join("").replace(/^\./, "");
  return `scenario ${label}: ${rest || "(entry)"}`;
}

/** The role entries of a scenario as plans, options and impairment copied. */
function toRolePlans(scenario: ScenarioFile["scenario"][number]): RolePlan[] {
  return scenario.roles.map((entry) => {
    const { agents: impairAgents, ...impair } = entry.impair ?? {};
    return {
      role: entry.role,
      agents: entry.agents,
      options: { ...entry.options },
      ...(entry.impair ? { impair } : {}),
      ...(impairAgents ? { impairAgents: [...impairAgents] } : {}),
      ...(entry.targets ? { targets: entry.targets } : {}),
    };
  });
}

/** Roles a sender's targets point at: receivers (`/upload`) and managers (`/jobs`), in file order. */
export const SINK_ROLES = ["receiver", "manager"];

/** What is wrong with the targets and targeted impairment of one point's plans (empty when nothing). */
function checkTargeting(plans: RolePlan[], at: string): string[] {
  const problems: string[] = [];
  const sinks = plans.filter((plan) => SINK_ROLES.includes(plan.role)).reduce((total, plan) => total + plan.agents.length, 0);
  plans.forEach((plan, index) => {
    const where = `${at}roles[${index}] (${plan.role})`;
    if (plan.targets !== undefined && plan.role !== "sender") problems.push(`${where}: targets is for senders only`);
    if (plan.targets === "paired" && plan.role === "sender" && plan.agents.length !== sinks)
      problems.push(`${where}: targets = "paired" needs as many senders as receivers (${plan.agents.length} senders, ${sinks} receivers)`);
    for (const agent of plan.impairAgents ?? [])
      if (!plan.agents.includes(agent)) problems.push(`${where}: impair.agents: "${agent}" does not run this role (${plan.agents.join(", ")})`);
  });
  return problems;
}

/**
 * What the roles of `plans` say of sweep key `key` as a load option: whole numbers or not, and
 * the smallest maximum of their schemas; undefined when the key sets no numeric option or
 * impairment field of any plan.
 */
function readOptionShape(key: unknown, plans: RolePlan[]): OptionShape | undefined {
  if (typeof key !== "string" || key === MEDIUM_KEY || key.endsWith(".agents") || !setsAnything(key, plans)) return undefined;
  const parts = key.split(".");
  const name = parts.at(-1)!;
  const schemas = plans
    .map((plan) => (parts.at(-2) === "impair" ? Impairment.properties[name as keyof typeof Impairment.properties] : findRole(plan.role).options.properties[name]) as { type?: string; maximum?: number } | undefined)
    .filter((schema) => schema?.type === "number" || schema?.type === "integer");
  if (schemas.length === 0) return undefined;
  const maxima = schemas.flatMap((schema) => (schema!.maximum === undefined ? [] : [schema!.maximum]));
  const senders = plans.some((plan) => plan.role === "sender");
  return { integer: schemas.every((schema) => schema!.type === "integer"), senders, ...(maxima.length > 0 ? { maximum: Math.min(...maxima) } : {}) };
}

/** The saturation of a scenario's `[scenario.saturate]`, and what is wrong with it (a sweep beside it is). */
function readSaturation(scenario: ScenarioFile["scenario"][number], plans: RolePlan[]): { saturation?: Saturation; problems: string[] } {
  if (!scenario.saturate) return { problems: [] };
  const parsed = parseSaturation(scenario.saturate, readOptionShape(scenario.saturate.option, plans));
  if (scenario.sweep) parsed.problems.push("saturate: a saturation search sets its option itself; it does not combine with [scenario.sweep]");
  return parsed;
}

/** Checks what the schema cannot: known roles and agents, role options, durations, unique names, a load for every streamer scenario. */
function checkMeaning(file: ScenarioFile): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const check = (where: string, action: () => void): void => {
    try {
      action();
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
  };
  check("file: duration", () => parseDuration(file.duration ?? DEFAULTS.duration, "duration"));
  problems.push(...parseThresholds(file.thresholds ?? {}).problems.map((problem) => `file: ${problem}`));
  check("file: warmup", () => parseDuration(file.warmup ?? DEFAULTS.warmup, "warmup"));
  for (const [name, profile] of Object.entries(file.media ?? {})) {
    for (const field of ["delay", "jitter"] as const) if (profile[field] !== undefined) check(`file: media.${name}.${field}`, () => parseDuration(profile[field]!, field));
    if (profile.rate !== undefined) check(`file: media.${name}.rate`, () => parseRate(profile.rate!, "rate"));
  }
  for (const agent of Object.keys(file.deploy?.ssh ?? {}))
    if (!(agent in file.agents)) problems.push(`file: deploy.ssh.${agent}: "${agent}" is not in [agents]`);
  for (const scenario of file.scenario) {
    const where = `scenario ${scenario.name}`;
    if (seen.has(scenario.name)) problems.push(`${where}: the name is used twice`);
    seen.add(scenario.name);
    if (scenario.duration !== undefined) check(where, () => parseDuration(scenario.duration!, "duration"));
    if (scenario.warmup !== undefined) check(where, () => parseDuration(scenario.warmup!, "warmup"));
    problems.push(...parseThresholds(scenario.thresholds ?? {}).problems.map((problem) => `${where}: ${problem}`));
    scenario.roles.forEach((entry, index) => {
      for (const agent of entry.agents)
        if (!(agent in file.agents)) problems.push(`${where}: roles[${index}].agents: "${agent}" is not in [agents]`);
      check(`${where}: roles[${index}] (${entry.role})`, () => findRole(entry.role));
    });
    const roleNames = scenario.roles.map((entry) => entry.role);
    if (roleNames.includes("streamer") && !roleNames.includes("viewers"))
      problems.push(`${where}: a streamer scenario needs a "viewers" role to measure it`);
    const managerAgents = scenario.roles.filter((entry) => entry.role === "manager").flatMap((entry) => entry.agents);
    const brokers = Array.isArray(scenario.sweep?.broker) ? (scenario.sweep.broker as unknown[]) : [scenario.broker ?? "tcp"];
    const brokered = brokers.every((broker) => broker !== "tcp");
    if (managerAgents.length > 1 && !brokered)
      problems.push(`${where}: ${managerAgents.length} manager agents; workers dial one manager over TCP, so a scenario has one (or give broker = "nats" to share the workers)`);
    if (managerAgents.length === 0 && roleNames.some((name) => name.endsWith("-worker")))
      problems.push(`${where}: workers need a "manager" role to dial`);
    const rolesKnown = scenario.roles.every((entry) => roles.some((role) => role.name === entry.role));
    if (!rolesKnown) continue;
    const plans = toRolePlans(scenario);
    const saturation = readSaturation(scenario, plans);
    problems.push(...saturation.problems.map((problem) => `${where}: ${problem}`));
    const swept = (() => {
      try {
        return expandSweep(scenario.sweep ?? {}, plans);
      } catch (error) {
        problems.push(`${where}: sweep: ${(error as Error).message}`);
        return [];
      }
    })();
    // A saturation's options are checked at the lowest and highest rate it may try.
    const { saturation: sat } = saturation;
    const points = sat ? swept.flatMap((point) => [withValue(point, sat.option, sat.start), withValue(point, sat.option, sat.max)]) : swept;
    const media = Object.keys(file.media ?? {});
    for (const medium of new Set(points.flatMap((point) => (point.params[MEDIUM_KEY] === undefined ? [] : [String(point.params[MEDIUM_KEY])]))))
      if (!media.includes(medium)) problems.push(`${where}: sweep: medium: "${medium}" is not a [media] profile (have ${media.join(", ") || "none"})`);
    for (const point of points) {
      problems.push(...checkTargeting(point.roles, `${where}${point.label ? ` (${point.label})` : ""}: `));
      point.roles.forEach((plan, index) => {
        for (const agent of plan.agents)
          if (!scenario.roles[index]!.agents.includes(agent) && !(agent in file.agents))
            problems.push(`${where} (${point.label}): roles[${index}].agents: "${agent}" is not in [agents]`);
        const at = `${where}${point.label ? ` (${point.label})` : ""}: roles[${index}] (${plan.role})`;
        check(at, () => checkOptions(findRole(plan.role).options, { ...FILLED_BY_CONTROLLER[plan.role], ...plan.options }, "api"));
        for (const field of ["delay", "jitter", "downtime"] as const)
          if (plan.impair?.[field] !== undefined) check(`${at}: impair.${field}`, () => parseDuration(plan.impair![field]!, field));
      });
    }
  }
  return problems;
}

/**
 * Each point on its medium: swept (`params.medium`) or else `fallback`; when that names a
 * `[media]` profile, every plan of the point gets it as its `link`.
 */
function onMedia(points: SweepPoint[], fallback: string | undefined, media: Record<string, MediumProfile>): SweepPoint[] {
  return points.map((point) => {
    const medium = (point.params[MEDIUM_KEY] as string | undefined) ?? fallback;
    if (medium === undefined) return point;
    const link = media[medium];
    return { ...point, medium, roles: link ? point.roles.map((plan) => ({ ...plan, link })) : point.roles };
  });
}

/**
 * `scenario` run over each of `names` (`controller run --medium`): its points crossed with
 * the media, `medium` first among the swept keys.
 * @throws FleetError BAD_FLAG when a name is not a `[media]` profile or the scenario sweeps `medium` itself.
 */
export function overMedia(scenario: Scenario, names: string[], media: Record<string, MediumProfile>): Scenario {
  const unknown = names.filter((name) => !(name in media));
  if (unknown.length > 0) throw new FleetError("BAD_FLAG", `--medium ${names.join(",")}: no [media] profile ${unknown.join(", ")} (have ${Object.keys(media).join(", ") || "none"})`);
  if (scenario.swept.includes(MEDIUM_KEY)) throw new FleetError("BAD_FLAG", `--medium: scenario ${scenario.name} sweeps medium itself`);
  const points = names.flatMap((medium) =>
    onMedia(
      scenario.points.map((point) => ({ ...point, label: [`${MEDIUM_KEY}=${medium}`, point.label].filter(Boolean).join(","), params: { [MEDIUM_KEY]: medium, ...point.params } })),
      undefined,
      media,
    ),
  );
  return { ...scenario, swept: [MEDIUM_KEY, ...scenario.swept], points };
}

/**
 * Parses and checks a scenarios file's text.
 * @throws FleetError CONFIG_INVALID (exit code EXIT.CONFIG) whose message lists every problem, one per line.
 */
export function parseScenarios(text: string, source = "scenarios.toml"): ScenarioSet {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    throw new FleetError("CONFIG_INVALID", `${source}: not valid TOML: ${(error as Error).message.split("\n")[0]}`, 422, { cause: error });
  }
  const shapeProblems = [...Value.Errors(ScenarioFile, raw)].map(
    (error) => `${describePath(error.path, raw as ScenarioFile)}: ${error.message}`,
  );
  if (shapeProblems.length > 0) throw new FleetError("CONFIG_INVALID", `${source}:\n  ${[...new Set(shapeProblems)].join("\n  ")}`, 422);
  const file = raw as ScenarioFile;
  const meaningProblems = checkMeaning(file);
  if (meaningProblems.length > 0) throw new FleetError("CONFIG_INVALID", `${source}:\n  ${meaningProblems.join("\n  ")}`, 422);
  const media = file.media ?? {};
  return {
    agents: file.agents,
    ssh: file.deploy?.ssh ?? {},
    media,
    scenarios: file.scenario.map((scenario) => {
      const sweep = scenario.sweep ?? {};
      const points = onMedia(expandSweep(sweep, toRolePlans(scenario)), scenario.medium ?? file.medium, media);
      return {
        name: scenario.name,
        description: scenario.description,
        durationMs: parseDuration(scenario.duration ?? file.duration ?? DEFAULTS.duration, "duration"),
        warmupMs: parseDuration(scenario.warmup ?? file.warmup ?? DEFAULTS.warmup, "warmup"),
        repeat: scenario.repeat ?? file.repeat ?? DEFAULTS.repeat,
        medium: scenario.medium ?? file.medium,
        broker: scenario.broker,
        swept: points[0] ? Object.keys(points[0].params) : [],
        points,
        thresholds: parseThresholds({ ...file.thresholds, ...scenario.thresholds }).thresholds,
        ...(scenario.saturate ? { saturate: readSaturation(scenario, toRolePlans(scenario)).saturation } : {}),
      };
    }),
  };
}

/**
 * Reads and checks a scenarios file.
 * @throws FleetError CONFIG_MISSING when the file cannot be read, CONFIG_INVALID as parseScenarios.
 */
export async function readScenarios(path: string): Promise<ScenarioSet> {
  const file = Bun.file(path);
  if (!(await file.exists())) throw new FleetError("CONFIG_MISSING", `${path}: no such file`, 404);
  return parseScenarios(await file.text(), path);
}
