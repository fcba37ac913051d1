// The HTML of the report's header and of each scenario's section: chart places, figure tables, failed runs.
import type { AgentRunTelemetry, Results } from "./results";
import type { Verdict } from "./verdict";
import { formatFigure, formatValue, sortFigureKeys, toFigureLabel, toHalfWidth } from "./_report-entries";
import type { ReportModel, ScenarioView } from "./_report-model";
import { ORIGINALS_SOURCE } from "./originals";
import type { OriginalsTable } from "./report-originals";
import { toSpeedupRow } from "./scaling";

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

/**
 * The summary at the top: every scenario point's images/s on one chart, then one row per
 * point with its mean and interval and how its thresholds fared; "" without counted runs.
 */
export function renderSummary(model: ReportModel): string {
  if (!model.summary) return "";
  const spec = model.charts[model.summary]!;
  const height = Math.max(160, 28 * (spec.kind === "compare" ? spec.labels.length : 1) + 80);
  const rows = model.scenarios.flatMap((view) =>
    view.points.map((point) => {
      const figure = point.summary.images_per_s;
      const outcomes = point.entry.thresholds ?? [];
      const failed = outcomes.filter((outcome) => !outcome.pass).length;
      const goals = outcomes.length === 0 ? "-" : failed === 0 ? `<span class="pass">all ${outcomes.length} pass</span>` : `<span class="fail">${failed} of ${outcomes.length} fail</span>`;
      const mean = figure ? `${figure.mean.toFixed(2)} [${figure.ci95[0].toFixed(2)}, ${figure.ci95[1].toFixed(2)}]` : "-";
      return `<tr><td>${escapeHtml(point.label ? `${view.name} ${point.label}` : view.name)}</td><td class="num">${mean}</td><td>${goals}</td><td>${escapeHtml(describeVerdict(point.entry.verdict))}</td></tr>`;
    }),
  );
  return [
    `<section class="summary" id="summary">`,
    `<h2>Summary</h2>`,
    `<figure class="chart wide"><figcaption>${escapeHtml(spec.title)}</figcaption><div class="plot" style="height:${height}px"><canvas data-chart="${model.summary}" role="img" aria-label="${escapeHtml(spec.title)}"></canvas></div></figure>`,
    `<table class="summary"><thead><tr><th>scenario</th><th>images/s mean [95% CI]</th><th>thresholds</th><th>limited by</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
    `</section>`,
  ].join("\n");
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
  const main = [scenario.charts.saturation, scenario.charts.box, ...scenario.charts.sweeps].filter((id): id is string => id !== undefined);
  return [
    `<section class="scenario" id="scenario-${index}">`,
    `<h2>${escapeHtml(scenario.name)}</h2>`,
    scenario.description ? `<p class="description">${escapeHtml(scenario.description)}</p>` : "",
    tags.length > 0 ? `<p class="tags">${tags.join("")}</p>` : "",
    fixed.length > 0 ? `<p class="params"><span>params</span> ${escapeHtml(fixed.join("  "))}</p>` : "",
    main.length > 0 ? `<div class="charts">${main.map(figure).join("")}</div>` : `<p class="empty">No counted run: nothing to plot.</p>`,
    scenario.charts.series.length > 0 ? `<h3>Throughput over time</h3><div class="charts small">${scenario.charts.series.map(figure).join("")}</div>` : "",
    renderWarnings(scenario),
    renderThresholdTable(scenario),
    renderVerdictTable(scenario),
    scenario.charts.telemetry.length > 0 ? `<h3>CPU over time</h3><div class="charts small">${scenario.charts.telemetry.map(figure).join("")}</div>` : "",
    renderSaturationTable(scenario),
    renderSpeedupTable(scenario),
    `<h3>Figures</h3>`,
    renderFigureTable(scenario),
    renderFailedTable(scenario),
    `</section>`,
  ].join("\n");
}

/** A point's verdict in a few words: the bottleneck's sentence, "nothing near its limit", or "-" without one. */
function describeVerdict(verdict: Verdict | undefined): string {
  if (!verdict) return "-";
  return verdict.bottleneck ? verdict.text : "nothing near its limit";
}

/**
 * Per point, what limited it: the verdict and the three loads closest to their limits, then
 * each agent's telemetry over the point's runs (box CPU, its process's cores, hottest
 * temperature, slowest clock); a warning first when a Pi throttled during a run.
 * "" when no run has a verdict.
 */
function renderVerdictTable(scenario: ScenarioView): string {
  const points = scenario.points.filter((point) => point.entry.verdict);
  if (points.length === 0) return "";
  const throttled = new Set(
    scenario.points.flatMap((point) =>
      point.entry.runs.flatMap((run) => Object.entries(run.telemetry ?? {}).filter(([, agent]) => agent.throttled.length > 0).map(([name, agent]) => `${name} (${agent.throttled.join(", ")})`)),
    ),
  );
  const rows = points.map((point) => {
    const loads = point.entry.verdict!.loads.slice(0, 3).map((load) => `${load.text}: ${Math.round(load.ratio * 100)}% of its limit`);
    return `<tr><td>${escapeHtml(point.label || scenario.name)}</td><td>${escapeHtml(describeVerdict(point.entry.verdict))}</td><td>${loads.map(escapeHtml).join("<br>")}</td></tr>`;
  });
  const telemetryRows = points.flatMap((point) => {
    const agents = new Map<string, AgentRunTelemetry[]>();
    for (const run of point.entry.runs) for (const [name, figures] of Object.entries(run.telemetry ?? {})) agents.set(name, [...(agents.get(name) ?? []), figures]);
    return [...agents].map(([name, runs]) => {
      const meanOf = (read: (figures: (typeof runs)[number]) => number | null) => {
        const values = runs.map(read).filter((value): value is number => value !== null);
        return values.length ? (values.reduce((a, b) => a + b, 0) / values.length).toFixed(2) : "-";
      };
      const extreme = (read: (figures: (typeof runs)[number]) => number | null, pick: (...values: number[]) => number) => {
        const values = runs.map(read).filter((value): value is number => value !== null);
        return values.length ? String(pick(...values)) : "-";
      };
      const cells = [meanOf((figures) => figures.cpu_total_pct), meanOf((figures) => figures.process_cpu_cores), extreme((figures) => figures.temp_c_max, Math.max), extreme((figures) => figures.freq_mhz_min, Math.min)];
      return `<tr><td>${escapeHtml(point.label || scenario.name)}</td><td>${escapeHtml(name)} <span class="ci">${escapeHtml(runs[0]!.host)}, ${runs[0]!.cores} cores</span></td>${cells.map((cell) => `<td class="num">${cell}</td>`).join("")}</tr>`;
    });
  });
  return [
    `<h3>What limited it</h3>`,
    throttled.size > 0 ? `<p class="note warn">A Raspberry Pi throttled during a run: ${escapeHtml([...throttled].join("; "))}. Its figures describe a throttled board.</p>` : "",
    `<table class="verdicts"><thead><tr><th>point</th><th>limited by</th><th>closest to their limits</th></tr></thead><tbody>${rows.join("")}</tbody></table>`,
    telemetryRows.length > 0
      ? `<table class="telemetry"><thead><tr><th>point</th><th>agent</th><th>box CPU % (mean)</th><th>agent process, cores (mean)</th><th>temperature, °C (max)</th><th>CPU clock, MHz (min)</th></tr></thead><tbody>${telemetryRows.join("")}</tbody></table>`
      : "",
  ].join("\n");
}

/** Per point, each threshold of scenarios.toml with the number it read and PASS or FAIL; "" when the scenario has none. */
function renderThresholdTable(scenario: ScenarioView): string {
  const rows = scenario.points.flatMap((point) =>
    (point.entry.thresholds ?? []).map((outcome) => {
      const seen = outcome.actual === undefined ? (outcome.reason ?? "") : outcome.actual.toFixed(2);
      const verdict = outcome.pass ? `<td class="pass">PASS</td>` : `<td class="fail">FAIL</td>`;
      return `<tr>${verdict}<td>${escapeHtml(point.label || "-")}</td><td>${escapeHtml(outcome.key)} ${escapeHtml(outcome.expression)}</td><td class="num">${escapeHtml(seen)}</td></tr>`;
    }),
  );
  if (rows.length === 0) return "";
  return `<h3>Thresholds</h3><table class="thresholds"><thead><tr><th></th><th>point</th><th>goal</th><th>measured</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The warnings of the scenario's runs (a clock skew larger than the latencies it distorts), one note each with its point and repeat; "" without any. */
function renderWarnings(scenario: ScenarioView): string {
  const notes = scenario.points.flatMap((point) =>
    (point.entry.runs ?? []).flatMap((run) => (run.warnings ?? []).map((warning) => `${[point.label, `repeat ${run.repeat}`].filter(Boolean).join(" ")}: ${warning}`)),
  );
  return notes.map((note) => `<p class="note warn">${escapeHtml(note)}</p>`).join("");
}

/** A saturation search: the maximum sustainable rate, the limits, then every step with what it broke; "" without one. */
function renderSaturationTable(scenario: ScenarioView): string {
  const saturation = scenario.points.find((point) => point.entry.saturation)?.entry.saturation;
  if (!saturation) return "";
  const max = saturation.max_rate;
  const found = max
    ? `max sustainable ${escapeHtml(saturation.option)} <strong>${max.mean.toFixed(2)}</strong> <span class="ci">95% CI [${max.ci95[0].toFixed(2)}, ${max.ci95[1].toFixed(2)}], n ${max.n}</span>`
    : `no sustainable ${escapeHtml(saturation.option)} found`;
  const limits = Object.entries(saturation.limit ?? {}).map(([figure, most]) => `${figure} <= ${most}`).join(", ");
  const rows = (saturation.steps ?? []).map((step) => {
    const figure = (key: string) => (Number.isFinite(step.figures?.[key]) ? step.figures[key]!.toFixed(2) : "-");
    const verdict = step.held ? `<td class="pass">held</td>` : `<td class="fail">broke</td>`;
    return `<tr><td class="num">${step.repeat}</td><td class="num">${step.rate}${step.confirm ? " (confirm)" : ""}</td>${verdict}<td class="num">${figure("images_per_s")}</td><td class="num">${figure("latency_p99_ms")}</td><td>${escapeHtml(step.broke.join("; "))}</td></tr>`;
  });
  const notes = (saturation.notes ?? []).map((note) => `<p class="note warn">${escapeHtml(note)}</p>`).join("");
  const head = ["repeat", `offered ${escapeHtml(saturation.option)}`, "", "images/s", "p99 ms", "broke"].map((title) => `<th>${title}</th>`).join("");
  return `<h3>Saturation</h3><p>${found}; limits: ${escapeHtml(limits)}</p>${notes}<table class="saturation"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
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

/** The original distributed-grayscale table for a scenario with scaling figures: per point workers, mean send, process and receive time (s), speedup, efficiency. */
function renderSpeedupTable(scenario: ScenarioView): string {
  const rows = scenario.points.flatMap((point) => {
    const row = toSpeedupRow(point.entry);
    if (!row) return [];
    const seconds = (summary: typeof row.avg_send_s) =>
      summary ? `${summary.mean.toFixed(4)}${summary.n > 1 ? ` <span class="ci">± ${toHalfWidth(summary).toFixed(4)}</span>` : ""}` : "-";
    const cells = [
      `<td>${escapeHtml(point.label)}</td>`,
      `<td class="num">${row.workers}</td>`,
      ...[row.avg_send_s, row.avg_process_s, row.avg_receive_s].map((summary) => `<td class="num">${seconds(summary)}</td>`),
      `<td class="num">${row.speedup.toFixed(2)}x <span class="ci">[${row.speedup_ci95[0].toFixed(2)}, ${row.speedup_ci95[1].toFixed(2)}]</span></td>`,
      `<td class="num">${(row.efficiency * 100).toFixed(1)}%</td>`,
    ];
    return [`<tr>${cells.join("")}</tr>`];
  });
  if (rows.length === 0) return "";
  const head = ["point", "workers", "avg send (s)", "avg process (s)", "avg receive (s)", "speedup [95% CI]", "efficiency"].map((title) => `<th>${title}</th>`).join("");
  return `<h3>Speedup (the original's table; times are means per stripe ± 95% CI)</h3><table class="speedup"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The section "The originals beside ours": the source named, then per reproduced experiment its table, notes and what differs; "" without any. */
export function renderOriginals(tables: OriginalsTable[]): string {
  if (tables.length === 0) return "";
  const blocks = tables.map((table) => {
    const head = table.header.map((title) => `<th>${escapeHtml(title)}</th>`).join("");
    const body = table.rows.map((row) => `<tr>${row.map((cell, column) => (column < 2 ? `<td>${escapeHtml(cell)}</td>` : `<td class="num">${escapeHtml(cell)}</td>`)).join("")}</tr>`).join("");
    return [
      `<h3>${escapeHtml(table.title)} <span class="ci">${escapeHtml(table.scenario)}</span></h3>`,
      `<table class="originals"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`,
      ...table.notes.map((note) => `<p class="note warn">${escapeHtml(note)}</p>`),
      `<p class="note"><strong>What differs.</strong> ${escapeHtml(table.differs)}</p>`,
    ].join("\n");
  });
  return [
    `<section class="originals" id="originals">`,
    `<h2>The originals beside ours</h2>`,
    `<p class="description">Source: ${escapeHtml(ORIGINALS_SOURCE)}. Their figures were measured on their hardware: shown for comparison, never as targets. Ours: mean and 95% Student's t interval over our repeats.</p>`,
    ...blocks,
    `</section>`,
  ].join("\n");
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
