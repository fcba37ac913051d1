// One role's card on the agent status page, updated in place: figures, throughput chart, topics, errors, last frame.
// @ts-check
/** @typedef {import("../agent/wire").RoleInfo} RoleInfo */
/** @typedef {import("../agent/wire").ReceiverStats} ReceiverStats */
/** @typedef {import("../agent/wire").SenderStats} SenderStats */
import { element, formatNumber, toTable, toTile } from "./dom.js";
import { createThroughputChart } from "./throughput.js";

/** Figures shown as tiles, in this order, when a role reports them, with their labels; errors have their own box. @type {[string, string][]} */
const FIGURES = [
  ["images_per_s", "images/s (average)"],
  ["rate_5s", "images/s (last 5 s)"],
  ["mbit_per_s", "Mbit/s"],
  ["sent", "sent"],
  ["ok", "ok"],
  ["received", "received"],
  ["saved", "saved"],
  ["queue_depth", "queue depth"],
  ["in_flight", "in flight"],
  ["retries", "retries"],
];

/** Error counts of a role: a receiver's failed saves and rejected or refused uploads, a sender's failures by code. @param {Record<string, unknown>} stats */
function listErrors(stats) {
  /** @type {[string, number][]} */
  const counts = [];
  for (const name of ["failed", "rejected", "busy"]) if (typeof stats[name] === "number") counts.push([name === "busy" ? "busy (503)" : name, /** @type {number} */ (stats[name])]);
  const byCode = /** @type {SenderStats["errors"] | undefined} */ (stats.errors);
  for (const [code, count] of Object.entries(byCode ?? {})) counts.push([code, count]);
  return counts;
}

/**
 * Builds the card of one role. `fetchFrame(id)` answers the role's last frame as a blob (the page adds the token).
 * @param {RoleInfo} info @param {(id: string) => Promise<Blob>} fetchFrame
 */
export function createRoleView(info, fetchFrame) {
  const title = element("h3");
  const figures = element("div", { class: "figures" });
  const canvas = /** @type {HTMLCanvasElement} */ (element("canvas", { "aria-label": "images per second" }));
  const topics = element("div", { class: "topics" });
  const errors = element("div", { class: "errors" });
  const image = /** @type {HTMLImageElement} */ (element("img", { class: "frame", alt: "last saved frame" }));
  const caption = element("figcaption", { class: "muted" }, ["no frame saved yet"]);
  const frame = element("figure", { class: "frame-box" }, [image, caption]);
  frame.hidden = info.role !== "receiver";
  const node = element("section", { class: "role", "data-role": info.role, "data-id": info.id }, [
    title,
    element("div", { class: "role-body" }, [
      element("div", { class: "role-main" }, [figures, element("div", { class: "chart-box" }, [canvas]), topics]),
      element("aside", { class: "role-side" }, [frame, errors]),
    ]),
  ]);
  const chart = createThroughputChart(canvas);
  let shownFile = "";
  let loading = false;

  /** Loads the last frame when the receiver saved a new one since the last shown. @param {string | undefined} file */
  const showFrame = async (file) => {
    if (!file || file === shownFile || loading) return;
    loading = true;
    try {
      const url = URL.createObjectURL(await fetchFrame(info.id));
      if (image.src) URL.revokeObjectURL(image.src);
      image.src = url;
      shownFile = file;
      caption.textContent = file.split("/").slice(-2).join("/");
    } catch {
      caption.textContent = "last frame not available";
    } finally {
      loading = false;
    }
  };

  return {
    node,
    /** Shows `next` (the same role, newer figures); `lastSecond` is the agent's last complete second. @param {RoleInfo} next @param {number} lastSecond */
    update(next, lastSecond) {
      const stats = /** @type {Record<string, unknown>} */ (next.stats);
      title.replaceChildren(`${next.role} `, element("span", { class: `state state-${next.state}` }, [next.state]), element("span", { class: "muted" }, [` ${next.id}`]));
      const tiles = FIGURES.filter(([name]) => typeof stats[name] === "number").map(([name, label]) => toTile(formatNumber(/** @type {number} */ (stats[name])), label));
      const latency = /** @type {ReceiverStats["latency_ms"] | undefined} */ (stats.latency_ms);
      if (latency) tiles.push(toTile(`${latency.p50} / ${latency.p99}`, "latency p50 / p99 ms"));
      figures.replaceChildren(...tiles);
      const series = /** @type {ReceiverStats["series"]} */ (stats.series ?? []);
      chart.update(series, next.state === "running" ? lastSecond : (series.at(-1)?.[0] ?? lastSecond));
      const topicStats = /** @type {ReceiverStats["topics"] | undefined} */ (stats.topics) ?? {};
      const topicRows = Object.entries(topicStats).map(([name, counts]) => [name, counts.received, counts.saved, counts.images_per_s]);
      topics.replaceChildren(...(topicRows.length > 0 ? [toTable(["topic", "received", "saved", "images/s"], topicRows)] : []));
      const counts = listErrors(stats);
      const bad = counts.filter(([, count]) => count > 0);
      errors.replaceChildren(
        element("h4", {}, ["errors"]),
        ...(next.error ? [element("p", { class: "error" }, [next.error])] : []),
        bad.length > 0 ? toTable(["kind", "count"], bad) : element("p", { class: "muted" }, ["none"]),
      );
      errors.classList.toggle("has-errors", bad.length > 0 || next.error !== undefined);
      void showFrame(/** @type {string | undefined} */ (stats.last_file));
    },
    destroy() {
      chart.destroy();
      if (image.src) URL.revokeObjectURL(image.src);
    },
  };
}
