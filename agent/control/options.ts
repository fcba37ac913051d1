// Checks role options against the role's schema, for CLI flags and control-API bodies alike.
import { parseArgs } from "node:util";
import type { TObject, TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { FleetError } from "../errors";

/** `maxBody` -> `max-body`: option keys are camelCase in JSON and kebab-case as flags. */
export function toFlagName(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

function isArraySchema(schema: TSchema): boolean {
  return (schema as { type?: string }).type === "array";
}

/**
 * Reads a role's flags (`--multiply 20 --target A --target B`) into an options object,
 * using the schema to know each flag and whether it repeats. Values stay strings;
 * `checkOptions` converts them.
 * @throws FleetError BAD_FLAG (status 422) naming the unknown or malformed flag.
 */
export function readFlags(schema: TObject, argv: string[]): Record<string, unknown> {
  const known: Record<string, { type: "string"; multiple: boolean }> = {};
  const keyOfFlag = new Map<string, string>();
  for (const [key, property] of Object.entries(schema.properties)) {
    known[toFlagName(key)] = { type: "string", multiple: isArraySchema(property) };
    keyOfFlag.set(toFlagName(key), key);
  }
  try {
    const { values } = parseArgs({ args: argv, options: known, strict: true, allowPositionals: false });
    return Object.fromEntries(Object.entries(values).map(([flag, value]) => [keyOfFlag.get(flag)!, value]));
  } catch (error) {
    const flags = Object.keys(known).map((flag) => `--${flag}`).join(", ");
    throw new FleetError("BAD_FLAG", `${(error as Error).message} (this role takes ${flags})`, 422, { cause: error });
  }
}

/**
 * Applies defaults, converts flag strings (`origin: "cli"`) and checks `raw` against the
 * strict schema, reporting every problem at once, each named the way the user wrote it
 * (`--multiply` on the CLI, `options.multiply` over the API).
 * @throws FleetError BAD_OPTIONS (status 422) listing every problem.
 */
export function checkOptions<T>(schema: TObject, raw: unknown, origin: "cli" | "api"): T {
  let value = Value.Default(schema, structuredClone(raw ?? {}));
  if (origin === "cli") value = Value.Convert(schema, value);
  const problems = [...Value.Errors(schema, value)].map((error) => {
    const key = error.path.split("/").filter(Boolean)[0] ?? "";
    const where = origin === "cli" ? `--${toFlagName(key)}` : `options${error.path.replaceAll("/", ".")}`;
    const shown = error.value === undefined ? "" : ` (got ${JSON.stringify(error.value)})`;
    return `${where}: ${error.message}${shown}`;
  });
  if (problems.length > 0) throw new FleetError("BAD_OPTIONS", [...new Set(problems)].join("; "), 422);
  return value as T;
}
