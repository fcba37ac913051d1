// The HTML report of a run: one self-contained page (charts, tables, the data as JSON) that opens offline.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Results } from "./results";
import { CHART_SCRIPT, DRAW_SCRIPT, STYLE } from "./_report-assets";
import { escapeHtml, renderHeader, renderOriginals, renderScenario, renderSummary } from "./_report-html";
import { buildOriginalsTables } from "./report-originals";
import { buildReportModel } from "./_report-model";

/**
 * Renders results as one HTML page with everything inlined (Chart.js and its box plot and error
 * bar plugins, the chart data as JSON): it makes no request when opened. First a summary: every
 * scenario point's images/s on one chart with its 95% CI and its thresholds' outcome. Per scenario name: a box
 * plot of images/s per point, images/s and Mbit/s against each swept key with 95% CI error bars,
 * images/s over time per repeat, a table of every summary figure and the failed runs; with
 * scaling figures the original's speedup table; first, the originals' published figures
 * beside ours for each reproduced experiment the results hold (`buildOriginalsTables`).
 * Tolerates files without points, sweeps, statuses or series.
 */
export function renderReport(results: Results): string {
  const model = buildReportModel(results);
  const title = `Framefleet report ${results.started_at ?? ""}`.trim();
  return [
    "<!doctype html>",
    `<html lang="en">`,
    `<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>\n${STYLE}</style>`,
    "</head>",
    "<body>",
    renderHeader(results, model),
    "<main>",
    renderSummary(model),
    renderOriginals(buildOriginalsTables(results)),
    ...model.scenarios.map((scenario, index) => renderScenario(scenario, index, model)),
    "</main>",
    `<script type="application/json" id="report-data">${toScriptJson({ charts: model.charts })}</script>`,
    `<script>\n${CHART_SCRIPT}\n</script>`,
    `<script>\n${DRAW_SCRIPT}\n</script>`,
    "</body>",
    "</html>",
    "",
  ].join("\n");
}

/** Writes `dir/report.html` (creating `dir`) and answers its path. */
export async function writeReport(dir: string, results: Results): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, "report.html");
  await writeFile(path, renderReport(results));
  return path;
}

/** JSON that cannot end its <script> element early: `<`, `>` and `&` as \u escapes (still valid JSON). */
function toScriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
