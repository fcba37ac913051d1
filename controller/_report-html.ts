// The HTML of the report's header and of each scenario's section: chart places, figure tables, failed runs.
import type { Results } from "./results";
import { formatFigure, formatValue, sortFigureKeys, toFigureLabel, toHalfWidth } from "./_report-entries";
import type { ReportModel, ScenarioView } from "./_report-model";

/** `text` safe inside HTML text and double-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The page header: version, start, host, mode, counts, and a note when figures are emulated or local. */
export function renderHeader(results: Results, model: ReportModel): string {
  const host = results.host ?? {};
  const mode = typeof host.mode === "string" ? host.mode : "";
  const entries = model.scenarios.flatMap((scenario) => scenario.points);
  const runs = entries.reduce((sum, point) => sum + (point.entry.runs?.length ?? 0), 0);
  const failed = entries.reduce((sum, point) => sum + point.failed.length, 0);
  const meta: [string, string][] = [
    ["Framefleet", results.framefleet ? `v${results.framefleet}` : "unknown version"],
    ["Started", formatDate(results.started_at)],
    ["Host", formatHost(host)],
    ["Mode", mode === "local" ? "local (every agent a process on the controller's machine)" : mode === "remote" ? "remote (agents on the fleet)" : mode || "not recorded"],
    ["Measured", `${runs} runs${failed ? ` (${failed} failed)` : ""} of ${entries.length} points in ${model.scenarios.length} scenarios`],
  ];
  const emulated = model.scenarios.filter((scenario) => scenario.emulated.length > 0);
  const notes: string[] = [];
  if (emulated.length > 0)
    notes.push(
      `<p class="note warn"><strong>Emulated network.</strong> Some points ran with injected impairment (delay, loss, rate or CPU limits): ` +
        `their figures describe the emulation, not the real medium. Affected: ${emulated.map((scenario) => escapeHtml(`${scenario.name}${scenario.swept.length ? ` (${scenario.emulated.join("; ")})` : ""}`)).join(", ")}.</p>`,
    );
  if (mode === "local")
    notes.push(`<p class="note">Local mode: all agents shared one machine, so the figures leave out the real network and the Pis' own limits.</p>`);
  const rows = meta.map(([term, value]) => `<div><dt>${term}</dt><dd>${escapeHtml(value)}</dd></div>`).join("");
  const nav = model.scenarios.map((scenario, index) => `<a href="#scenario-${index}">${escapeHtml(scenario.name)}</a>`).join("");
  return `<header><h1>Framefleet report</h1><dl class="meta">${rows}</dl>${notes.join("")}<nav>${nav}</nav></header>`;
}

/** One scenario's section: tags, fixed params, chart places (drawn later by the page's script) and tables. */
export function renderScenario(scenario: ScenarioView, index: number, model: ReportModel): string {
  const tags = [
    ...scenario.mediums.map((medium) => `<span class="tag">medium: ${escapeHtml(medium)}</span>`),
    ...(scenario.emulated.length > 0 ? [`<span class="tag warn">emulated</span>`] : []),
    ...(scenario.swept.length > 0 ? [`<span class="tag">swept: ${escapeHtml(scenario.swept.join(", "))}</span>`] : []),
  ];
  const fixed = Object.entries(scenario.fixed).map(([key, value]) => `${key}=${formatValue(value)}`);
  const figure = (id: string) => {
    const title = escapeHtml(model.charts[id]!.title);
    return `<figure class="chart"><figcaption>${title}</figcaption><div class="plot"><canvas data-chart="${escapeHtml(id)}" role="img" aria-label="${title}"></canvas></div></figure>`;
  };
  const main = [scenario.charts.box, ...scenario.charts.sweeps].filter((id): id is string => id !== undefined);
  return [
    `<section class="scenario" id="scenario-${index}">`,
    `<h2>${escapeHtml(scenario.name)}</h2>`,
    scenario.description ? `<p class="description">${escapeHtml(scenario.description)}</p>` : "",
    tags.length > 0 ? `<p class="tags">${tags.join("")}</p>` : "",
    fixed.length > 0 ? `<p class="params"><span>params</span> ${escapeHtml(fixed.join("  "))}</p>` : "",
    main.length > 0 ? `<div class="charts">${main.map(figure).join("")}</div>` : `<p class="empty">No counted run: nothing to plot.</p>`,
    scenario.charts.series.length > 0 ? `<h3>Throughput over time</h3><div class="charts small">${scenario.charts.series.map(figure).join("")}</div>` : "",
    `<h3>Figures</h3>`,
    renderFigureTable(scenario),
    renderFailedTable(scenario),
    `</section>`,
  ].join("\n");
}

/** Per point, every summary figure: mean ± half-width of the 95% interval, std, n. */
function renderFigureTable(scenario: ScenarioView): string {
  const withPoint = scenario.points.some((point) => point.label);
  const head = `<tr>${withPoint ? "<th>point</th>" : ""}<th>figure</th><th>mean ± 95% CI</th><th>std</th><th>n</th></tr>`;
  const body = scenario.points.map((point) => {
    const keys = sortFigureKeys(Object.keys(point.summary));
    const pointCell = withPoint ? `<th class="point" rowspan="${Math.max(keys.length, 1)}">${escapeHtml(point.label)}</th>` : "";
    if (keys.length === 0) return `<tr>${pointCell}<td colspan="4" class="empty">no counted run</td></tr>`;
    return keys
      .map((key, row) => {
        const summary = point.summary[key]!;
        // A figure that did not vary (a count, a set duration) prints as it is; the others all with 2 decimals.
        const steady = summary.std === 0;
        const interval = summary.n > 1 && !steady ? ` <span class="ci">± ${toHalfWidth(summary).toFixed(2)}</span>` : "";
        const mean = steady ? formatFigure(summary.mean) : summary.mean.toFixed(2);
        const std = steady ? "0" : summary.std.toFixed(2);
        return `<tr>${row === 0 ? pointCell : ""}<td>${escapeHtml(toFigureLabel(key))}</td><td class="num">${mean}${interval}</td><td class="num">${std}</td><td class="num">${summary.n}</td></tr>`;
      })
      .join("");
  });
  return `<table class="figures"><thead>${head}</thead><tbody>${body.join("")}</tbody></table>`;
}

function renderFailedTable(scenario: ScenarioView): string {
  const rows = scenario.points.flatMap((point) =>
    point.failed.map(
      (run) => `<tr><td>${escapeHtml(point.label || scenario.name)}</td><td class="num">${run.repeat}</td><td class="error">${escapeHtml(run.error ?? "no error recorded")}</td></tr>`,
    ),
  );
  if (rows.length === 0) return "";
  return `<h3>Failed runs</h3><table class="failed"><thead><tr><th>point</th><th>repeat</th><th>error</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function formatDate(iso: string | undefined): string {
  const date = iso ? new Date(iso) : undefined;
  if (!date || Number.isNaN(date.getTime())) return iso || "not recorded";
  return `${date.toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

function formatHost(host: Record<string, unknown>): string {
  const parts: string[] = [];
  const name = host.name ?? host.hostname;
  if (name !== undefined) parts.push(formatValue(name));
  if (host.arch !== undefined) parts.push(formatValue(host.arch));
  if (typeof host.cpus === "number") parts.push(`${host.cpus} CPUs`);
  if (typeof host.memory === "number") parts.push(`${(host.memory / 2 ** 30).toFixed(1)} GiB memory`);
  const known = ["name", "hostname", "arch", "cpus", "memory", "mode"];
  for (const [key, value] of Object.entries(host)) if (!known.includes(key)) parts.push(`${key}: ${formatValue(value)}`);
  return parts.join(", ") || "not recorded";
}
