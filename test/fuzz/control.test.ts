// Fuzzes the control API's POST /v1/roles with a fixed seed (more cases: npm run fuzz).
import { expect, test } from "bun:test";
import { controlSurface } from "./_control";
import { runSurface, TEST_SEED } from "./_surface";

test("POST /v1/roles answers every fuzzed body with a 2xx or a JSON 4xx, and the agent stays up", async () => {
  const report = await runSurface(controlSurface, controlSurface.testRuns, TEST_SEED);
  console.log(JSON.stringify(report));
  expect({ problem: report.problem, fiveXX: report.fiveXX }).toEqual({ problem: undefined, fiveXX: 0 });
});
