// Expands a scenario's sweep (lists of values for role options or impairments) into its points, the cartesian product.
import { findRole } from "../agent/roles";
import { Impairment } from "../agent/wire";
import type { RolePlan } from "./scenarios";

/** One combination of swept values and the role plans with those values applied. */
export interface SweepPoint {
  /** `multiply=200,sender.impair.delay=100ms`; empty for a scenario without a sweep. */
  label: string;
  /** The swept values under their sweep keys, e.g. `{ multiply: 200 }`. */
  params: Record<string, unknown>;
  roles: RolePlan[];
  /** The medium this point runs on (swept as `medium`, else the scenario's), when any. */
  medium?: string;
}

type Value = string | number | boolean | string[];

/** `{sender: {multiply: [1, 2]}}` -> `[["sender.multiply", [1, 2]]]`: TOML dotted keys become nested tables. */
function flattenSweep(sweep: Record<string, unknown>, prefix = ""): [string, unknown][] {
  return Object.entries(sweep).flatMap(([key, value]) =>
    value !== null && typeof value === "object" && !Array.isArray(value)
      ? flattenSweep(value as Record<string, unknown>, `${prefix}${key}.`)
      : [[`${prefix}${key}`, value] as [string, unknown]],
  );
}

/** The sweep key of the medium: a list of `[media]` profile names, applied to every plan by the scenarios reader. */
export const MEDIUM_KEY = "medium";

/**
 * What a sweep key sets in each plan: `OPTION` (every role with that option),
 * `ROLE.OPTION`, `impair.FIELD` (every role's impairment), `ROLE.impair.FIELD`, or
 * `ROLE.agents` (which agents run the role: lists of names, to vary a role's count).
 * Returns a setter, or undefined when the key names nothing in this plan.
 */
function toSetter(key: string, plan: RolePlan): ((plan: RolePlan, value: Value) => void) | undefined {
  const parts = key.split(".");
  const [role, rest] = parts.length > 1 && parts[0] !== "impair" ? [parts[0], parts.slice(1)] : [undefined, parts];
  if (role !== undefined && role !== plan.role) return undefined;
  if (role !== undefined && rest.length === 1 && rest[0] === "agents") return (target, value) => (target.agents = value as string[]);
  if (rest[0] === "impair" && rest.length === 2 && rest[1]! in Impairment.properties)
    return (target, value) => (target.impair = { ...target.impair, [rest[1]!]: value });
  if (rest.length === 1 && rest[0]! in findRole(plan.role).options.properties)
    return (target, value) => (target.options = { ...target.options, [rest[0]!]: value });
  return undefined;
}

/**
 * The points of a sweep over `plans`, in file order (the last key varies fastest).
 * @throws Error naming the key whose values are not a non-empty list of numbers,
 *   strings or booleans, or which sets nothing in this scenario's roles.
 */
export function expandSweep(sweep: Record<string, unknown>, plans: RolePlan[]): SweepPoint[] {
  const axes = flattenSweep(sweep).map(([key, values]) => {
    const isAgents = key.endsWith(".agents");
    const fits = (value: unknown) =>
      isAgents
        ? Array.isArray(value) && value.length > 0 && value.every((name) => typeof name === "string")
        : ["string", "number", "boolean"].includes(typeof value);
    if (!Array.isArray(values) || values.length === 0 || !values.every(fits))
      throw new Error(
        isAgents
          ? `${key}: a sweep of agents needs a non-empty list of non-empty lists of agent names`
          : `${key}: a sweep needs a non-empty list of numbers, strings or booleans`,
      );
    if (key !== MEDIUM_KEY && !setsAnything(key, plans))
      throw new Error(`${key}: no role of this scenario has that option (use OPTION, ROLE.OPTION, impair.FIELD, ROLE.impair.FIELD, ROLE.agents or medium)`);
    return { key, values: values as Value[] };
  });
  let points: SweepPoint[] = [{ label: "", params: {}, roles: plans }];
  for (const axis of axes) points = points.flatMap((point) => axis.values.map((value) => withValue(point, axis.key, value)));
  return points;
}

/**
 * `point` with sweep key `key` (as `expandSweep` reads it) set to `value` in every plan it
 * names, the key and value added to its label and params; plans it names nothing in are copied as they are.
 */
export function withValue(point: SweepPoint, key: string, value: Value): SweepPoint {
  return {
    ...point,
    label: [point.label, `${key}=${Array.isArray(value) ? value.join("+") : value}`].filter(Boolean).join(","),
    params: { ...point.params, [key]: value },
    roles: point.roles.map((plan) => {
      const setter = toSetter(key, plan);
      const next = { ...plan, options: { ...plan.options } };
      setter?.(next, value);
      return next;
    }),
  };
}

/** True when sweep key `key` sets something in one of `plans` (an option, an impairment field or the agents of a role). */
export function setsAnything(key: string, plans: RolePlan[]): boolean {
  return plans.some((plan) => toSetter(key, plan) !== undefined);
}
