// controller run --pushgateway URL: each scenario's summary lands on a real Prometheus Pushgateway; a bad URL is refused before anything runs.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { describeWith } from "../_requires";
import { makeTempDir, runController, writeOneToOneScenario } from "../helpers";
import { pickFreePort, startPushgateway } from "../prometheus/servers";
import type { Results } from "../../controller/results";
import { roundTo } from "../../controller/stats";

/** The value of the one sample of `name` whose label set contains `labels` in the Pushgateway's /metrics text (NaN when none). */
function readSample(text: string, name: string, labels: string[]): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}{`) && labels.every((label) => candidate.includes(label)));
  return Number(line?.split(" ").at(-1) ?? Number.NaN);
}

describeWith("prometheus-pushgateway")("controller run --pushgateway", () => {
  test("leaves mean, CI bounds and repeats of every figure there, labelled with scenario and point, equal to results.json", async () => {
    using dir = makeTempDir();
    await using gateway = await startPushgateway();
    await writeOneToOneScenario(dir.path, "pushed");
    const out = join(dir.path, "out");
    const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--repeat", "2", "--out", out, "--pushgateway", `${gateway.base}/`], dir.path);
    const results = (await Bun.file(join(out, "results.json")).json()) as Results;
    const summary = results.scenarios[0]!.summary;
    const text = await (await fetch(`${gateway.base}/metrics`)).text();
    const labels = (figure: string) => ['job="framefleet_controller"', 'scenario="pushed"', 'point=""', `figure="${figure}"`];
    // Pushed exactly; results.json keeps 2 decimals.
    const pushed = (figure: string) => ({
      mean: roundTo(readSample(text, "framefleet_run_summary_mean", labels(figure))),
      low: roundTo(readSample(text, "framefleet_run_summary_ci95_low", labels(figure))),
      high: roundTo(readSample(text, "framefleet_run_summary_ci95_high", labels(figure))),
      repeats: readSample(text, "framefleet_run_summary_repeats", labels(figure)),
    });
    const expected = (figure: string) => ({ mean: summary[figure]!.mean, low: summary[figure]!.ci95[0], high: summary[figure]!.ci95[1], repeats: 2 });
    const figures = Object.keys(summary);
    expect({
      code,
      stderr: stderr.split("\n").filter((line) => line.includes("not pushed") || line.includes("could not be pushed")),
      figures: Object.fromEntries(figures.map((figure) => [figure, pushed(figure)])),
    }).toEqual({ code: 0, stderr: [], figures: Object.fromEntries(figures.map((figure) => [figure, expected(figure)])) });
    expect({ images: summary.images_per_s!.mean > 0, latency: figures.includes("latency_p99_ms"), spread: summary.latency_p99_ms!.ci95[1] > summary.latency_p99_ms!.ci95[0] }).toEqual({ images: true, latency: true, spread: true });
  });
});

test("a --pushgateway that is not an http(s) URL is refused at once, naming the flag", async () => {
  using dir = makeTempDir();
  await writeOneToOneScenario(dir.path, "never");
  const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--pushgateway", "ftp://127.0.0.1:9091"], dir.path);
  expect({ code, stderr: stderr.trim() }).toEqual({ code: 2, stderr: 'controller: BAD_FLAG: --pushgateway "ftp://127.0.0.1:9091" must be an http:// or https:// URL without query or fragment' });
});

test("an unreachable Pushgateway fails the run (exit 1) after writing its results, naming the scenario", async () => {
  using dir = makeTempDir();
  await writeOneToOneScenario(dir.path, "unpushed");
  const out = join(dir.path, "out");
  const nobody = `http://127.0.0.1:${pickFreePort()}`;
  const { code, stderr } = await runController(["run", "scenarios.toml", "--local", "--out", out, "--pushgateway", nobody], dir.path);
  expect({
    code,
    written: await Bun.file(join(out, "results.json")).exists(),
    said: stderr.split("\n").filter((line) => line.startsWith("controller:")).map((line) => line.replace(/not pushed: .*/, "not pushed: ...")),
  }).toEqual({
    code: 1,
    written: true,
    said: ["controller: scenario unpushed: summary not pushed: ...", `controller: 1 scenario summary(ies) could not be pushed to ${nobody}`],
  });
});
