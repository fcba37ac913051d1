// Fuzzes the receiver's POST /upload with a fixed seed (more cases: npm run fuzz).
import { expect, test } from "bun:test";
import { runSurface, TEST_SEED } from "./_surface";
import { uploadSurface } from "./_upload";

test("POST /upload answers every fuzzed request with a 2xx, a JSON 4xx or a close, and stays up", async () => {
  const report = await runSurface(uploadSurface, uploadSurface.testRuns, TEST_SEED);
  console.log(JSON.stringify(report));
  expect({ problem: report.problem, fiveXX: report.fiveXX }).toEqual({ problem: undefined, fiveXX: 0 });
});
