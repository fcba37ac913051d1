// Fuzzes the MJPEG splitter and the multipart stream parser with a fixed seed (more cases: npm run fuzz).
import { expect, test } from "bun:test";
import { mjpegSplitterSurface, multipartSurface } from "./_parsers";
import { runSurface, TEST_SEED } from "./_surface";

for (const surface of [mjpegSplitterSurface, multipartSurface]) {
  test(`${surface.name} yields only SOI..EOI frames, whatever the cuts and mutations`, async () => {
    const report = await runSurface(surface, surface.testRuns, TEST_SEED);
    console.log(JSON.stringify(report));
    expect(report.problem).toBeUndefined();
  });
}
