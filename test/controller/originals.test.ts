// The originals beside ours: the published figures' Student's t interval, the grayscale table in results.csv and report.html, the originals table in Chromium.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { RECOGNITION_SWEEPS, toStudentInterval, toWidthRatio } from "../../controller/originals";
import { renderReport, writeReport } from "../../controller/report";
import { formatCsv, type Results, type RunResult, type ScenarioResult } from "../../controller/results";
import { addScaling } from "../../controller/scaling";
import { summarizeRunResults } from "../../controller/results";
import { buildOriginalsTables, formatOriginals } from "../../controller/report-originals";
import { makeTempDir } from "../helpers";
import { testWith } from "../_requires";
import { launchBrowser } from "../web/chromium";

/** A run with the figures the tables read: images/s, Mbit/s and the manager's mean ms per stripe. */
function toRun(repeat: number, imagesPerS: number, mbitPerS: number, timing: [number, number, number]): RunResult {
  const [send_ms, process_ms, receive_ms] = timing;
  return { repeat, status: "ok", images_per_s: imagesPerS, mbit_per_s: mbitPerS, sent: 10, saved: 10, lost: 0, failed: 0, duration_s: 1, latency_ms: { p50: 1, p99: 2 }, send_ms, process_ms, receive_ms, senders: [], receivers: [] };
}

function toEntry(name: string, key: string, value: unknown, runs: RunResult[], extra: Record<string, unknown> = {}): ScenarioResult {
  return { name, point: `${key}=${JSON.stringify(value)}`, swept: [key, ...Object.keys(extra)], params: { [key]: value, ...extra }, runs, summary: summarizeRunResults(runs) };
}

/** Results as a run of grayscale-speedup (1, 4, 8 workers at cpu 0.25) and recognition-workers would give them. */
function makeResults(): Results {
  const workers = (count: number) => Array.from({ length: count }, (_, index) => `worker${index + 1}`);
  const grayscale = [1, 4, 8].map((count) =>
    toEntry("grayscale-speedup", "grayscale-worker.agents", workers(count), [toRun(1, 0.5 * count ** 0.5, 1, [300 / count, 1900, 3200]), toRun(2, 0.52 * count ** 0.5, 1, [310 / count, 1950, 3300])], {
      "grayscale-worker.impair.cpu": 0.25,
    }),
  );
  const recognition = [3, 2, 1].map((count) => toEntry("recognition-workers", "recognition-worker.agents", workers(count), [toRun(1, count, 2 * count, [1, 1, 1]), toRun(2, count, 2.2 * count, [1, 1, 1])]));
  return { framefleet: "test", started_at: "2025-01-01T00:00:00Z", host: { mode: "local" }, scenarios: addScaling([...grayscale, ...recognition]) };
}

/** The fields of one RFC 4180 line (quoted fields with doubled quotes; no line breaks inside fields here). */
function splitCsvLine(line: string): string[] {
  return [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].map(([, field]) => (field!.startsWith('"') ? field!.slice(1, -1).replaceAll('""', '"') : field!));
}

describe("the originals beside ours", () => {
  test("a Student's t interval on the originals' own mean, std and n = 8 is about 70 times wider than theirs", () => {
    const [three] = RECOGNITION_SWEEPS[0]!.points;
    const student = toStudentInterval(three!.mean, three!.std, 8);
    expect(Math.round((student[1] - student[0]) / 2 / 1000)).toBe(1166);
    const ratios = RECOGNITION_SWEEPS.flatMap((sweep) => sweep.points.map((point) => toWidthRatio(toStudentInterval(point.mean, point.std, 8), point.ci95)));
    expect(ratios.every((ratio) => ratio > 69 && ratio < 76)).toBe(true);
  });

  test("grayscale-speedup's table (avg send, process, receive in s, speedup, efficiency) is in results.csv and report.html", () => {
    const results = makeResults();
    const [header, ...rows] = formatCsv(results).trim().split("\r\n").map(splitCsvLine);
    const column = (name: string) => header!.indexOf(name);
    const table = ["table.workers", "table.avg_send_s", "table.avg_process_s", "table.avg_receive_s", "table.speedup", "table.efficiency"];
    expect(table.map(column).every((index) => index >= 0)).toBe(true);
    const firstOfEach = [rows[0]!, rows[2]!, rows[4]!].map((row) => table.map((name) => row[column(name)]));
    expect(firstOfEach).toEqual([
      ["1", "0.305", "1.925", "3.25", "1", "1"],
      ["4", "0.0762", "1.925", "3.25", "2", "0.5"],
      ["8", "0.0381", "1.925", "3.25", "2.8284", "0.3536"],
    ]);
    const html = renderReport(results);
    expect(html).toContain(`<h3>Speedup (the original's table; times are means per stripe ± 95% CI)</h3>`);
    // One speedup table per scenario with scaling (grayscale-speedup, recognition-workers): a header and a row per point.
    expect([...html.matchAll(/<table class="speedup">.*?<\/table>/gs)].map(([table]) => table.match(/<tr>/g)!.length)).toEqual([1 + 3, 1 + 3]);
    const terminal = formatOriginals(buildOriginalsTables(results));
    expect(terminal).toContain("source: the published results of the original projects (docs/originals.md)");
    expect(terminal).toContain("What differs: Hardware");
  });

  testWith("chromium")("report.html shows the originals' tables beside ours, with the Student's t interval and what differs", async () => {
    using dir = makeTempDir();
    const path = await writeReport(dir.path, makeResults());
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(pathToFileURL(path).href, { waitUntil: "load" });
    const shown = await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { textContent: string; querySelectorAll(s: string): { length: number } } | null; querySelectorAll(s: string): Iterable<{ textContent: string }> } }).document;
      const section = doc.querySelector("#originals")!;
      const tables = [...doc.querySelectorAll("#originals table.originals")].map((table) => table.textContent);
      return { title: doc.querySelector("#originals h2")!.textContent, tables: tables.length, rows: section.querySelectorAll("table.originals tbody tr").length, text: section.textContent };
    });
    // recognition-workers: 3 published points; grayscale: 3 published rows, each with our cpu 0.25 row.
    expect({ title: shown.title, tables: shown.tables, rows: shown.rows }).toEqual({ title: "The originals beside ours", tables: 2, rows: 3 + 6 });
    for (const text of ["16,289,294", "Student's t 95% CI of their mean, std, n = 8", "times wider than the one they published", "GoogleNet", "ours, cpu 0.25", "0.3329"])
      expect(shown.text).toContain(text);
  });
});
