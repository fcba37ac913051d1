// Chart.js's browser build as text, embedded by `bun build --compile`; the one import of it, for pages and the report.
// Bun caches a module by path whatever its import type, so importing this file once as "file" and once as
// "text" elsewhere hands one of them the other's value: every user goes through this module instead.
// The package's `exports` hide its browser build, hence the path into node_modules.
// @ts-expect-error a text import of a browser bundle, which TypeScript does not type
import chartJs from "../../node_modules/chart.js/dist/chart.umd.min.js" with { type: "text" };

/** Chart.js 4 (UMD, sets `window.Chart`), as JavaScript source text. */
export const CHART_JS: string = chartJs;
