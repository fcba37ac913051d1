// Reads scenarios.toml: TOML parsed by smol-toml, checked strictly, every problem reported at once.
import { parse as parseToml } from "smol-toml";
import { Type as t, type Static } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { FleetError } from "../agent/errors";
import { checkOptions } from "../agent/options";
import { findRole } from "../agent/roles";
import { parseDuration } from "../agent/units";

const NAME = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";

const RoleEntry = t.Object(
  {
    role: t.String({ minLength: 1 }),
    agents: t.Array(t.String({ pattern: NAME }), { minItems: 1 }),
    options: t.Optional(t.Record(t.String(), t.Unknown())),
  },
  { additionalProperties: false },
);

const ScenarioEntry = t.Object(
  {
    name: t.String({ pattern: NAME }),
    description: t.Optional(t.String()),
    duration: t.Optional(t.String()),
    repeat: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
    roles: t.Array(RoleEntry, { minItems: 1 }),
  },
  { additionalProperties: false },
);

const ScenarioFile = t.Object(
  {
    duration: t.Optional(t.String()),
    repeat: t.Optional(t.Integer({ minimum: 1, maximum: 1000 })),
    agents: t.Record(t.String({ pattern: NAME }), t.String({ pattern: "^https?://" })),
    scenario: t.Array(ScenarioEntry, { minItems: 1 }),
  },
  { additionalProperties: false },
);
type ScenarioFile = Static<typeof ScenarioFile>;

/** One role of a scenario: which agents run it, with which options. */
export interface RolePlan {
  role: string;
  agents: string[];
  options: Record<string, unknown>;
}

/** A scenario ready to run: defaults applied, durations in ms. */
export interface Scenario {
  name: string;
  description?: string;
  durationMs: number;
  repeat: number;
  roles: RolePlan[];
}

/** The whole file: agent names to control URLs, and the scenarios in file order. */
export interface ScenarioSet {
  agents: Record<string, string>;
  scenarios: Scenario[];
}

/** File-level defaults when the file gives none: 5 s runs, once each. */
const DEFAULTS = { duration: "5s", repeat: 1 };

/** Options the controller fills in itself, so a scenario need not (and should not) give them. */
const FILLED_BY_CONTROLLER: Record<string, Record<string, unknown>> = {
  sender: { target: ["http://filled-in-by-the-controller/upload"], duration: "0" },
  receiver: { port: 0, out: "filled-in-by-the-controller" },
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

/** Checks what the schema cannot: known roles and agents, role options, durations, unique names. */
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
  for (const scenario of file.scenario) {
    const where = `scenario ${scenario.name}`;
    if (seen.has(scenario.name)) problems.push(`${where}: the name is used twice`);
    seen.add(scenario.name);
    if (scenario.duration !== undefined) check(where, () => parseDuration(scenario.duration!, "duration"));
    scenario.roles.forEach((entry, index) => {
      for (const agent of entry.agents)
        if (!(agent in file.agents)) problems.push(`${where}: roles[${index}].agents: "${agent}" is not in [agents]`);
      check(`${where}: roles[${index}] (${entry.role})`, () => {
        const role = findRole(entry.role);
        checkOptions(role.options, { ...FILLED_BY_CONTROLLER[entry.role], ...entry.options }, "api");
      });
    });
  }
  return problems;
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
  const durationMs = parseDuration(file.duration ?? DEFAULTS.duration, "duration");
  return {
    agents: file.agents,
    scenarios: file.scenario.map((scenario) => ({
      name: scenario.name,
      description: scenario.description,
      durationMs: scenario.duration ? parseDuration(scenario.duration, "duration") : durationMs,
      repeat: scenario.repeat ?? file.repeat ?? DEFAULTS.repeat,
      roles: scenario.roles.map((entry) => ({ role: entry.role, agents: entry.agents, options: entry.options ?? {} })),
    })),
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
