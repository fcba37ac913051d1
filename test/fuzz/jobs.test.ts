// Fuzzes the manager's POST /jobs multipart with a fixed seed (more cases: npm run fuzz).
import { expect, test } from "bun:test";
import { jobsSurface } from "./_jobs";
import { runSurface, TEST_SEED } from "./_surface";

test("POST /jobs answers every fuzzed form with a 2xx, a JSON 4xx or a close, and the manager stays up", async () => {
  const report = await runSurface(jobsSurface, jobsSurface.testRuns, TEST_SEED);
  console.log(JSON.stringify(report));
  expect({ problem: report.problem, fiveXX: report.fiveXX }).toEqual({ problem: undefined, fiveXX: 0 });
});
