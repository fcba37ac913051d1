// The controller's --ui page: progress, finished runs, the current run's live rate and every agent, polled from /api/state.
// @ts-check
/** @typedef {import("../controller/ui-state").UiState} UiState */
/** @typedef {import("../controller/ui-state").UiAgent} UiAgent */
/** @typedef {import("../agent/wire").RoleInfo} RoleInfo */
import { byId, element, formatNumber, toClock, toTable } from "./dom.js";
import { createThroughputChart } from "./throughput.js";

const POLL_MS = 1000;
/** Finished runs listed, newest first. */
const RUNS_SHOWN = 20;

const chart = createThroughputChart(/** @type {HTMLCanvasElement} */ (byId("live-chart")));
/** @type {UiState | undefined} */
let last;
/** @type {Date | undefined} */
let downSince;

/** @param {HTMLElement} bar @param {number} fraction */
function setBar(bar, fraction) {
  bar.style.width = `${Math.round(Math.min(Math.max(fraction, 0), 1) * 100)}%`;
}

/** @param {UiState["progress"]} progress @param {number} now */
function showProgress(progress, now) {
  const where = progress.scenario ? [progress.scenario, progress.point, `repeat ${progress.repeat} of ${progress.repeats}`].filter(Boolean).join(" · ") : progress.finished ? "run finished" : "between scenarios";
  byId("where").textContent = where;
  byId("description").textContent = progress.description ?? "";
  byId("runs-done").textContent = `${progress.done} of ${progress.total} runs done${progress.failed > 0 ? `, ${progress.failed} failed` : ""}`;
  setBar(byId("runs-bar"), progress.total > 0 ? progress.done / progress.total : 0);
  const running = progress.run_started_at !== undefined && progress.run_ms !== undefined;
  const elapsed = running ? (now - /** @type {number} */ (progress.run_started_at)) / 1000 : 0;
  const length = running ? /** @type {number} */ (progress.run_ms) / 1000 : 0;
  byId("run-time").textContent = running ? `this run: ${Math.round(elapsed)} s of ${length} s${elapsed > length ? " (stopping roles, counting)" : ""}` : "";
  setBar(byId("run-bar"), running ? elapsed / length : 0);
}

/** @param {UiState} state */
function showRuns(state) {
  const rows = state.runs
    .slice(-RUNS_SHOWN)
    .reverse()
    .map((run) => [[run.scenario, run.point].filter(Boolean).join(" "), run.repeat, run.status === "failed" ? "FAILED" : run.images_per_s, run.mbit_per_s, run.sent, run.saved, run.lost, `${run.latency_ms.p50} / ${run.latency_ms.p99}`]);
  byId("no-runs").hidden = rows.length > 0;
  byId("runs").replaceChildren(...(rows.length > 0 ? [toTable(["scenario", "repeat", "images/s", "Mbit/s", "sent", "saved", "lost", "latency p50 / p99 ms"], rows)] : []));
  byId("failures").hidden = state.failures.length === 0;
  byId("failure-list").replaceChildren(...state.failures.map((line) => element("li", {}, [line])));
}

/** One agent's card: up or down, its health, its roles with their main figures. @param {UiAgent} agent */
function toAgentCard(agent) {
  const health = agent.health;
  const summary = health ? `v${health.version} on ${health.host} (${health.arch}, ${health.cpus} cores), up ${health.uptime_s} s` : (agent.error ?? "");
  const rows = agent.roles.map((info) => {
    const stats = /** @type {Record<string, number>} */ (info.stats);
    const count = info.role === "sender" ? stats.ok : stats.saved;
    return [info.id, info.state, stats.rate_5s ?? 0, count ?? 0, (stats.failed ?? 0) + (stats.rejected ?? 0)];
  });
  return element("section", { class: "card agent", "data-agent": agent.name }, [
    element("h3", {}, [`${agent.name} `, element("span", { class: `state state-${health ? "up" : "down"}` }, [health ? "up" : "down"])]),
    element("p", { class: "muted" }, [agent.url]),
    element("p", { class: health ? "muted" : "error" }, [summary]),
    rows.length > 0 ? toTable(["role", "state", "images/s", "done", "errors"], rows) : element("p", { class: "muted" }, ["no roles running"]),
  ]);
}

/** @param {UiState} state */
function show(state) {
  byId("started").textContent = `started ${toClock(Date.parse(state.started_at))}, ${state.agents.length} agent(s)`;
  showProgress(state.progress, state.now);
  byId("live-rate").textContent = formatNumber(state.live.images_per_s);
  chart.update(state.live.series, Math.floor(state.now / 1000) - 1);
  showRuns(state);
  byId("agents").replaceChildren(...state.agents.map(toAgentCard));
}

/** Says the run is over, or the controller cannot be reached (it keeps trying). @param {string} text @param {boolean} done */
function showBanner(text, done) {
  const banner = byId("banner");
  banner.hidden = false;
  banner.classList.toggle("done", done);
  banner.textContent = text;
}

async function poll() {
  try {
    const response = await fetch("/api/state", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    last = /** @type {UiState} */ (await response.json());
    downSince = undefined;
    byId("banner").hidden = true;
    show(last);
    if (last.progress.finished) showBanner(`run finished at ${toClock(last.now)}; the controller writes its results and stops serving this page`, true);
  } catch {
    downSince ??= new Date();
    if (!last?.progress.finished) showBanner(`controller unreachable since ${toClock(downSince)}; still trying every second`, false);
  }
  setTimeout(poll, POLL_MS);
}
void poll();
