// Fuzzes the manager's worker port before and after hello with a fixed seed (more cases: npm run fuzz).
import { expect, test } from "bun:test";
import { runSurface, TEST_SEED } from "./_surface";
import { workerPortSurface } from "./_worker-port";

test("the worker port survives any bytes before and after hello and sends only whole welcome/reject/bye frames", async () => {
  const report = await runSurface(workerPortSurface, workerPortSurface.testRuns, TEST_SEED);
  console.log(JSON.stringify(report));
  expect(report.problem).toBeUndefined();
});
