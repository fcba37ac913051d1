// Figures of a soak after its warm-up (RSS slope and growth, fds, lag) and its self-contained HTML chart.
import { CHART_JS } from "../agent/native/chart-js";
import type { SoakSample } from "./_soak-fleet";

/** One agent's figures over the samples after the warm-up. */
export interface SoakFigures {
  agent: string;
  samples: number;
  /** RSS slope by least squares (MB per minute). */
  rss_slope_mb_per_min: number;
  /** Mean RSS of the last minute over the first minute after the warm-up, in percent more. */
  rss_growth_pct: number;
  rss_first_mb: number;
  rss_last_mb: number;
  fds_first: number;
  fds_last: number;
  fds_max: number;
  lag_p50_ms: number;
  lag_p99_ms: number;
  lag_max_ms: number;
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}

function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Least-squares slope of `ys` over `xs`. */
export function fitSlope(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i += 1) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** The figures of one agent's samples taken at `warmupS` seconds or later; the growth compares 60 s windows at both ends. */
export function toFigures(agent: string, series: SoakSample[], warmupS: number): SoakFigures {
  const after = series.filter((sample) => sample.t >= warmupS);
  const end = after.at(-1)?.t ?? warmupS;
  const windowS = Math.min(60, Math.max(1, (end - warmupS) / 4));
  const first = mean(after.filter((sample) => sample.t < warmupS + windowS).map((sample) => sample.rss_mb));
  const last = mean(after.filter((sample) => sample.t > end - windowS).map((sample) => sample.rss_mb));
  const lags = after.map((sample) => sample.lag_ms);
  const fds = after.map((sample) => sample.fds);
  return {
    agent,
    samples: after.length,
    rss_slope_mb_per_min: round(fitSlope(after.map((sample) => sample.t / 60), after.map((sample) => sample.rss_mb)), 3),
    rss_growth_pct: first === 0 ? 0 : round(((last - first) / first) * 100),
    rss_first_mb: round(first, 1),
    rss_last_mb: round(last, 1),
    fds_first: fds[0] ?? -1,
    fds_last: fds.at(-1) ?? -1,
    fds_max: Math.max(-1, ...fds),
    lag_p50_ms: round(quantile(lags, 0.5)),
    lag_p99_ms: round(quantile(lags, 0.99)),
    lag_max_ms: round(Math.max(0, ...lags)),
  };
}

/** The figures as a fixed-width table for the terminal. */
export function toTable(figures: SoakFigures[]): string {
  const head = ["agent", "MB/min", "growth %", "RSS first", "RSS last", "fds first", "fds last", "fds max", "lag p50", "lag p99", "lag max"];
  const rows = figures.map((f) => [f.agent, f.rss_slope_mb_per_min, f.rss_growth_pct, f.rss_first_mb, f.rss_last_mb, f.fds_first, f.fds_last, f.fds_max, f.lag_p50_ms, f.lag_p99_ms, f.lag_max_ms]);
  const widths = head.map((name, column) => Math.max(name.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells: unknown[]) => cells.map((cell, column) => (column === 0 ? String(cell).padEnd(widths[column]!) : String(cell).padStart(widths[column]!))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

/** A self-contained page: Chart.js inlined, one chart each for RSS, fds and lag of every agent, the figures table under them. */
export function toHtml(series: Record<string, SoakSample[]>, figures: SoakFigures[], warmupS: number, title: string): string {
  const data = JSON.stringify({ series, warmupS });
  const rows = figures
    .map((f) => `<tr><td>${f.agent}</td><td>${f.rss_slope_mb_per_min}</td><td>${f.rss_growth_pct}</td><td>${f.fds_first} / ${f.fds_last}</td><td>${f.lag_p99_ms}</td><td>${f.lag_max_ms}</td></tr>`)
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px system-ui;margin:20px;max-width:1100px}canvas{margin-bottom:24px}td,th{padding:2px 10px;text-align:right}td:first-child{text-align:left}</style>
<script>${CHART_JS.replaceAll("</script", "<\\/script")}</script></head><body>
<h1>${title}</h1><p>Warm-up: the first ${warmupS} s (shaded out of the figures).</p>
<table><tr><th>agent</th><th>RSS MB/min</th><th>RSS growth %</th><th>fds first / last</th><th>lag p99 ms</th><th>lag max ms</th></tr>${rows}</table>
<canvas id="rss"></canvas><canvas id="fds"></canvas><canvas id="lag"></canvas>
<script>
const { series, warmupS } = ${data};
const draw = (id, field, label) => new Chart(document.getElementById(id), {
  type: "line",
  data: { datasets: Object.entries(series).map(([name, points]) => ({ label: name, data: points.map((p) => ({ x: p.t, y: p[field] })), pointRadius: 0, borderWidth: 1.5 })) },
  options: { animation: false, parsing: true, scales: { x: { type: "linear", title: { display: true, text: "seconds (warm-up ends at " + warmupS + " s)" } }, y: { title: { display: true, text: label } } } },
});
draw("rss", "rss_mb", "RSS (MB)");
draw("fds", "fds", "open fds");
draw("lag", "lag_ms", "event-loop lag, max over 1 s (ms)");
</script></body></html>
`;
}
