// The chart libraries and the page's own script and style, embedded as text (so the compiled controller carries them too).
// The packages' `exports` hide their browser builds, hence the paths into node_modules; TypeScript types none of these as text.
import { CHART_JS as chartJs } from "../agent/native/chart-js";
// @ts-expect-error a text import of a browser bundle
import boxPlot from "../node_modules/@sgratzl/chartjs-chart-boxplot/build/index.umd.min.js" with { type: "text" };
// @ts-expect-error a text import of a browser bundle
import errorBars from "../node_modules/chartjs-chart-error-bars/build/index.umd.min.js" with { type: "text" };
// @ts-expect-error a text import of the page's script
import drawScript from "./report/draw.js" with { type: "text" };
// @ts-expect-error a text import of the page's style
import style from "./report/style.css" with { type: "text" };

/** Chart.js, then its box plot and error bar plugins (each registers itself), ready for one inline <script>. */
export const CHART_SCRIPT: string = [chartJs, boxPlot, errorBars].map((source: string) => toInlineScript(source)).join("\n;\n");

/** The script that draws every `<canvas data-chart>` from the JSON in `#report-data`. */
export const DRAW_SCRIPT: string = toInlineScript(drawScript as string);

/** The page's CSS. */
export const STYLE: string = (style as string).replace(/<\/style/gi, "<\\/style");

/** Drops source map comments (the maps are not on the page) and breaks any `</script` so the inline script cannot end early. */
function toInlineScript(source: string): string {
  return source.replace(/^\/\/# sourceMappingURL=.*$/gm, "").replace(/<\/script/gi, "<\\/script");
}
