// A live line chart of images per second (Chart.js, loaded by the page from /vendor/chart.js as the global `Chart`).
// @ts-check

/** @typedef {[unixSecond: number, images: number, bytes: number]} SeriesPoint */

/** Seconds of history shown: the five minutes a role's series keeps. */
const WINDOW_S = 300;
/** Seconds the x axis spans while there is nothing to draw yet. */
const EMPTY_WINDOW_S = 60;

/**
 * Per-second counts from `series` between `firstSecond` and `lastSecond`, seconds without events as 0.
 * @param {SeriesPoint[]} series @param {number} lastSecond
 * @returns {{x: number, y: number}[]}
 */
export function fillSeconds(series, lastSecond) {
  const oldest = series[0];
  if (!oldest) return [];
  const counts = new Map(series.map(([second, images]) => [second, images]));
  const first = Math.max(oldest[0], lastSecond - WINDOW_S + 1);
  const points = [];
  for (let second = first; second <= lastSecond; second += 1) points.push({ x: second, y: counts.get(second) ?? 0 });
  return points;
}

/** `HH:MM:SS` of a unix second, the x axis labels. @param {number | string} second */
function toTickLabel(second) {
  return new Date(Number(second) * 1000).toLocaleTimeString("en-GB", { hour12: false });
}

/**
 * Draws a throughput chart into `canvas`; call `update` with a role's series and the last complete second.
 * @param {HTMLCanvasElement} canvas
 */
export function createThroughputChart(canvas) {
  const Chart = /** @type {any} */ (globalThis).Chart;
  const chart = new Chart(canvas, {
    type: "line",
    data: { datasets: [{ label: "images/s", data: [], borderColor: "#2563eb", backgroundColor: "rgba(37, 99, 235, 0.12)", fill: true, borderWidth: 1.5, pointRadius: 0, tension: 0 }] },
    options: {
      animation: false,
      maintainAspectRatio: false,
      parsing: false,
      plugins: { legend: { display: false }, tooltip: { mode: "index", intersect: false, callbacks: { title: (/** @type {any[]} */ items) => toTickLabel(items[0]?.parsed.x ?? 0) } } },
      scales: {
        x: { type: "linear", ticks: { callback: toTickLabel, maxTicksLimit: 6, maxRotation: 0, precision: 0 }, grid: { display: false } },
        y: { beginAtZero: true, title: { display: true, text: "images/s" }, ticks: { maxTicksLimit: 5, precision: 0 } },
      },
    },
  });
  return {
    /** @param {SeriesPoint[]} series @param {number} lastSecond */
    update(series, lastSecond) {
      const points = fillSeconds(series, lastSecond);
      chart.data.datasets[0].data = points;
      // Before the first image the axis still shows the last minute, not 0..1 of an empty scale.
      chart.options.scales.x.min = points[0]?.x ?? lastSecond - EMPTY_WINDOW_S;
      chart.options.scales.x.max = Math.max(lastSecond, chart.options.scales.x.min + 1);
      chart.update("none");
    },
    destroy: () => chart.destroy(),
  };
}
