// The contract every role passes: start with valid options, figures named after the role, stop twice, bad options refused.
import { describe, expect, test } from "bun:test";
import { FleetError } from "../../agent/errors";
import { checkOptions } from "../../agent/control/options";
import { roles } from "../../agent/roles";
import { makeTempDir, quietContext } from "../helpers";

/** Minimal working options per role; a new role must add its own here. */
function sampleOptions(role: string, dir: string): Record<string, unknown> {
  const samples: Record<string, Record<string, unknown>> = {
    receiver: { port: 0, out: dir },
    sender: { target: ["http://127.0.0.1:9/upload"], source: "synthetic:32x32", duration: "0", fps: 5 },
    streamer: { port: 0, source: "synthetic:32x32", fps: 5 },
    viewers: { target: "http://127.0.0.1:9/stream", count: 2, duration: "1s" },
    manager: { port: 0, workerPort: 0 },
    "grayscale-worker": { manager: "127.0.0.1:9", concurrency: 1 },
    "recognition-worker": { manager: "127.0.0.1:9", concurrency: 1 },
  };
  const sample = samples[role];
  if (!sample) throw new Error(`role ${role} has no sample options in the contract suite`);
  return sample;
}

describe.each(roles.map((role) => [role.name, role] as const))("role %s", (name, role) => {
  test("starts, reports figures named after itself, stops twice without error", async () => {
    using dir = makeTempDir();
    const handle = await role.start(checkOptions(role.options, sampleOptions(name, dir.path), "api"), quietContext);
    expect(handle.stats().role).toBe(name);
    await handle.stop();
    await handle.stop();
    expect(handle.stats().role).toBe(name);
  });

  test("refuses unknown options and wrong types, naming each", () => {
    using dir = makeTempDir();
    const bad = { ...sampleOptions(name, dir.path), surprise: true, [Object.keys(role.options.properties)[0]!]: { nested: "object" } };
    let caught: unknown;
    try {
      checkOptions(role.options, bad, "api");
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FleetError);
    expect((caught as FleetError).code).toBe("BAD_OPTIONS");
    expect((caught as FleetError).message).toContain("options.surprise");
    expect((caught as FleetError).message).toContain(`options.${Object.keys(role.options.properties)[0]}`);
  });

  test("every option has a default, is required, or names the default it computes; the schema is strict", () => {
    const required = new Set(role.options.required ?? []);
    // An optional option without a schema default computes one at start (a worker's id is HOSTNAME-PID) or is one of two
    // ways to say a thing (--manager or --broker): its description ends with a clause saying which ("; default X", "; no default: ...").
    const loose = Object.entries(role.options.properties as Record<string, { default?: unknown; description?: string }>)
      .filter(([key, property]) => property.default === undefined && !required.has(key) && !/; (no )?default\b/.test(property.description ?? ""))
      .map(([key]) => key);
    expect({ loose, strict: role.options.additionalProperties }).toEqual({ loose: [], strict: false });
    expect(role.summary.length).toBeGreaterThan(10);
  });
});
