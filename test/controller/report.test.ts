// Tests of controller/report.ts: the page's structure and escaping, and the charts drawn in real headless Chromium with no network.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { renderReport, writeReport } from "../../controller/report";
import { summarizeRunResults, type Results, type RunResult, type ScenarioResult } from "../../controller/results";
import { makeTempDir } from "../helpers";
import { launchBrowser, openOffline } from "../web/chromium";
import { describeWith } from "../_requires";


/** The bits of the page the in-page check uses (the project compiles without the DOM library). */
interface PageCanvas {
  width: number;
  height: number;
  dataset: Record<string, string | undefined>;
  getContext(kind: "2d"): { getImageData(x: number, y: number, width: number, height: number): { data: Uint8ClampedArray } } | null;
}
interface PageGlobals {
  document: { querySelectorAll(selector: "canvas"): Iterable<PageCanvas>; querySelector(selector: string): PageCanvas | null };
  Chart: { getChart(canvas: PageCanvas): { data: { datasets: unknown[]; labels?: unknown[] } } | undefined };
}

function makeRun(repeat: number, images_per_s: number, failed?: string): RunResult {
  const t = Array.from({ length: 12 }, (_, second) => second);
  const images = t.map((second) => (second === 0 ? images_per_s / 2 : images_per_s + 20 * Math.sin(second + repeat)));
  return {
    repeat,
    images_per_s,
    mbit_per_s: images_per_s / 10,
    sent: images_per_s * 10,
    saved: images_per_s * 10,
    lost: 0,
    failed: 0,
    duration_s: 10,
    latency_ms: { p50: 3 + repeat / 10, p99: 12 + repeat },
    senders: [{ agent: "pi1" }],
    receivers: [{ agent: "pi5" }],
    series: { t, images_per_s: images, mbit_per_s: images.map((value) => value / 10) },
    ...(failed ? { status: "failed" as const, error: failed } : { status: "ok" as const }),
  };
}

/** `run` with both agents' telemetry on one 2-core box: the box's busy cores and each process's, per second. */
function withTelemetry(run: RunResult): RunResult {
  const t = [1, 2, 3, 4];
  const agent = (process: number[]) => ({ host: "box", cores: 2, cpu_total_pct: 60, process_cpu_cores: 0.5, temp_c_max: null, freq_mhz_min: null, throttled: [], series: { t, box_busy_cores: [1.1, 1.2, 1.3, 1.2], process_cpu_cores: process } });
  return { ...run, telemetry: { pi1: agent([0.3, 0.4, 0.5, 0.4]), pi5: agent([0.6, 0.7, 0.6, 0.7]) } };
}

function makeEntry(fields: Omit<ScenarioResult, "summary">): ScenarioResult {
  return { ...fields, summary: summarizeRunResults(fields.runs.filter((run) => run.status !== "failed")) };
}

/** Two scenarios: one without a sweep, one swept over `multiply` (two points, the second emulated with a failed repeat). */
function makeResults(): Results {
  return {
    framefleet: "0.1.0",
    started_at: "2025-01-02T03:04:05.000Z",
    host: { name: "controller", arch: "x64", cpus: 4, memory: 8 * 2 ** 30, mode: "local" },
    scenarios: [
      makeEntry({
        name: "case1-1to1",
        description: "one sender, one receiver",
        point: "",
        params: { senders: 1 },
        swept: [],
        medium: "ethernet",
        runs: [makeRun(1, 800), makeRun(2, 812), makeRun(3, 805)].map(withTelemetry),
      }),
      ...[100, 200].map((multiply) =>
        makeEntry({
          name: "case2-multiply",
          description: "the sender multiplies each frame",
          point: `multiply=${multiply}`,
          params: { multiply, senders: 2 },
          swept: ["multiply"],
          emulated: multiply === 200,
          runs:
            multiply === 100
              ? [makeRun(1, 1500), makeRun(2, 1530), makeRun(3, 1490)]
              : [makeRun(1, 2400), makeRun(2, 2350), makeRun(3, 900, "receiver pi5: <connection refused>")],
        }),
      ),
    ],
  };
}

describe("renderReport", () => {
  test("inlines everything: no external script, style or link", () => {
    const html = renderReport(makeResults());
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toMatch(/https?:\/\/[^"'\s]*\.(js|css)/);
    expect(html.length).toBeLessThan(400_000);
  });

  test("escapes names in the HTML and in the embedded JSON", () => {
    const results = makeResults();
    results.scenarios[0]!.name = `evil</script><b>"x"</b><!--`;
    const html = renderReport(results);
    expect(html.match(/<\/script>/g)?.length).toBe(3);
    expect(html).toContain("<h2>evil&#60;/script&#62;&#60;b&#62;&#34;x&#34;&#60;/b&#62;&#60;!--</h2>");
    const json = html.match(/<script type="application\/json" id="report-data">(.*?)<\/script>/s)![1]!;
    expect(JSON.parse(json).charts["s0-box"].labels).toEqual([results.scenarios[0]!.name]);
  });

  test("says what limited each point: in the summary, a table of verdicts with the closest loads, agents' telemetry, and a warning when a Pi throttled", () => {
    const results = makeResults();
    const telemetry = (throttled: string[]) => ({ host: "pi1", cores: 4, cpu_total_pct: 97.5, process_cpu_cores: 0.99, temp_c_max: 81.2, freq_mhz_min: 1000, throttled });
    const verdict = { bottleneck: "emulated-cpu pi1", text: "sender pi1 CPU 100% (emulated board, cpu 0.1)", loads: [{ resource: "emulated-cpu", where: "pi1", ratio: 1, text: "sender pi1 CPU 100% (emulated board, cpu 0.1)" }, { resource: "cpu", where: "pi5", ratio: 0.2, text: "receiver pi5 CPU 0.20 cores (its JavaScript thread is one)" }] };
    const entry = results.scenarios[0]!;
    entry.verdict = verdict;
    entry.runs = entry.runs.map((run, index) => ({ ...run, verdict, telemetry: { pi1: telemetry(index === 0 ? ["throttled", "soft_temperature_limit"] : []) } }));
    results.scenarios[1]!.verdict = { bottleneck: null, text: "no resource near its limit (highest: ...)", loads: [] };
    const html = renderReport(results);
    const summary = html.slice(html.indexOf('id="summary"'), html.indexOf("</section>", html.indexOf('id="summary"')));
    expect([summary.includes("<th>limited by</th>"), summary.includes("<td>sender pi1 CPU 100% (emulated board, cpu 0.1)</td>"), summary.includes("<td>nothing near its limit</td>")]).toEqual([true, true, true]);
    expect(html).toContain("<h3>What limited it</h3>");
    expect(html).toContain("receiver pi5 CPU 0.20 cores (its JavaScript thread is one): 20% of its limit");
    expect(html).toContain("A Raspberry Pi throttled during a run: pi1 (throttled, soft_temperature_limit).");
    expect(html).toMatch(/<td>pi1 <span class="ci">pi1, 4 cores<\/span><\/td><td class="num">97.50<\/td><td class="num">0.99<\/td><td class="num">81.2<\/td><td class="num">1000<\/td>/);
  });

  test("tolerates a file from before sweeps, statuses, series and telemetry: points from the params that differ", () => {
    const old = makeResults();
    for (const entry of old.scenarios) {
      delete entry.point;
      delete entry.swept;
      for (const run of entry.runs) {
        delete run.series;
        delete run.status;
        delete run.telemetry;
      }
    }
    old.scenarios[2]!.summary = {};
    const html = renderReport(old);
    expect([...html.matchAll(/<canvas data-chart="([^"]+)"/g)].map((match) => match[1])).toEqual([
      "summary",
      "s0-box",
      "s1-box",
      "s1-sweep0-images_per_s",
      "s1-sweep0-mbit_per_s",
    ]);
    expect(html).toContain(`<th class="point" rowspan="9">multiply=200</th>`);
  });
});

describeWith("chromium")("report in Chromium", () => {
  test("draws every chart offline, with no request and no console error", async () => {
    using dir = makeTempDir("framefleet-report-");
    const path = await writeReport(dir.path, makeResults());
    expect(readFileSync(path, "utf8")).toStartWith("<!doctype html>");
    await using browser = await launchBrowser();
    const { page, requests, errors } = await openOffline(browser, path);

    const charts = await page.evaluate(() => {
      const { document, Chart } = globalThis as unknown as PageGlobals;
      return [...document.querySelectorAll("canvas")].map((canvas) => {
        const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
        let painted = 0;
        let blue = 0;
        for (let at = 0; at < data.length; at += 4) {
          if (data[at + 3]! > 0) painted += 1;
          if (data[at + 3]! > 200 && Math.abs(data[at]! - 37) < 40 && Math.abs(data[at + 1]! - 99) < 40 && Math.abs(data[at + 2]! - 235) < 40) blue += 1;
        }
        const datasets = Chart.getChart(canvas)?.data.datasets.length ?? 0;
        return { id: canvas.dataset.chart, drawn: painted > 0.02 * canvas.width * canvas.height && blue > 20, datasets };
      });
    });
    expect(charts).toEqual([
      { id: "summary", drawn: true, datasets: 1 },
      { id: "s0-box", drawn: true, datasets: 1 },
      { id: "s0-series0", drawn: true, datasets: 3 },
      { id: "s0-telemetry0", drawn: true, datasets: 3 },
      { id: "s1-box", drawn: true, datasets: 1 },
      { id: "s1-sweep0-images_per_s", drawn: true, datasets: 1 },
      { id: "s1-sweep0-mbit_per_s", drawn: true, datasets: 1 },
      { id: "s1-series0", drawn: true, datasets: 3 },
      { id: "s1-series1", drawn: true, datasets: 3 },
    ]);
    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith("file:"))).toEqual([]);
    // The summary puts every point side by side: one bar per point with counted runs, in file order.
    const bars = await page.evaluate(() => (globalThis as unknown as PageGlobals).Chart.getChart((globalThis as unknown as PageGlobals).document.querySelector("canvas[data-chart=summary]")!)!.data.labels);
    expect(bars).toEqual(["case1-1to1", "case2-multiply multiply=100", "case2-multiply multiply=200"]);
    expect(await page.locator("table.summary tbody tr").count()).toBe(3);

    expect(await page.locator("section.scenario h2").allInnerTexts()).toEqual(["case1-1to1", "case2-multiply"]);
    expect(await page.locator("header .note.warn").innerText()).toContain("case2-multiply (multiply=200)");
    const figures = page.locator("#scenario-1 table.figures");
    expect(await figures.locator("th.point").allInnerTexts()).toEqual(["multiply=100", "multiply=200"]);
    expect(await figures.locator("tr", { hasText: "images/s" }).first().innerText()).toContain("1506.67 ± 51.71");
    expect(await page.locator("#scenario-1 table.failed tbody tr").allInnerTexts()).toEqual(["multiply=200\t3\treceiver pi5: <connection refused>"]);
    expect(await page.locator("#scenario-0 table.figures tbody tr").first().innerText()).toContain("805.67");
  });
  test("a saturation search is drawn offline: images/s and p99 against the offered rate per repeat, the knee marked, the steps tabled", async () => {
    using dir = makeTempDir("framefleet-report-");
    const step = (repeat: number, rate: number, held: boolean) => ({
      repeat,
      rate,
      held,
      broke: held ? [] : [`skipped_pct ${rate} > 5`],
      figures: { images_per_s: Math.min(rate, 33) * 20, latency_p99_ms: held ? 40 : 400 },
    });
    const rates = [5, 10, 20, 40, 30, 35, 37.5];
    const steps = [1, 2].flatMap((repeat) => rates.map((rate) => step(repeat, rate, rate <= 35 - repeat)));
    const runs = [{ ...makeRun(1, 600), warnings: ["the clock of pi1 is 2000 ± 2 ms ahead of pi5's"] }, makeRun(2, 620)];
    const entry = makeEntry({ name: "case1-saturate", point: "", params: {}, swept: [], runs });
    const saturation = { option: "fps", limit: { skipped_pct: 5 }, max_rate: { mean: 32.5, std: 3.5, ci95: [1, 64] as [number, number], n: 2 }, per_repeat: [30, 30], steps, notes: [] };
    const path = await writeReport(dir.path, { ...makeResults(), scenarios: [{ ...entry, saturation }] });
    await using browser = await launchBrowser();
    const { page, requests, errors } = await openOffline(browser, path);
    const chart = await page.evaluate(() => {
      const { document, Chart } = globalThis as unknown as PageGlobals;
      const canvas = document.querySelector("canvas[data-chart=s0-saturation]")!;
      const { data } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
      let painted = 0;
      for (let at = 3; at < data.length; at += 4) if (data[at]! > 0) painted += 1;
      const datasets = Chart.getChart(canvas)!.data.datasets as { label: string }[];
      return { drawn: painted > 0.02 * canvas.width * canvas.height, labels: datasets.map((dataset) => dataset.label) };
    });
    expect(chart).toEqual({
      drawn: true,
      labels: ["images/s, repeat 1", "latency p99 (ms), repeat 1", "images/s, repeat 2", "latency p99 (ms), repeat 2", "max sustainable fps 32.50"],
    });
    expect({ errors, requests: requests.filter((url) => !url.startsWith("file:")) }).toEqual({ errors: [], requests: [] });
    expect(await page.locator("#scenario-0 table.saturation tbody tr").count()).toBe(14);
    expect(await page.locator("#scenario-0").innerText()).toContain("max sustainable fps 32.50");
    expect(await page.locator("#scenario-0 .note.warn").allInnerTexts()).toEqual(["repeat 1: the clock of pi1 is 2000 ± 2 ms ahead of pi5's"]);
  });
});
