// The agent status page: health and every role's live figures, polled from the control API once a second.
// @ts-check
/** @typedef {import("../agent/wire").Health} Health */
/** @typedef {import("../agent/wire").RoleInfo} RoleInfo */
import { byId, toClock } from "./dom.js";
import { createRoleView } from "./role-view.js";

const TOKEN_KEY = "framefleet-token";
const POLL_MS = 1000;

/** Thrown when the agent answers 401: the page shows the token form. */
class NeedsToken extends Error {}

/** Time the agent was last found unreachable first, cleared once it answers again. @type {Date | undefined} */
let downSince;
/** The agent's clock minus ours (ms), from the Date header of its answers. */
let clockOffsetMs = 0;
/** @type {Map<string, ReturnType<typeof createRoleView>>} */
const views = new Map();

/** GET `path` with the token the user gave, if any (kept in sessionStorage: for this tab only). @param {string} path */
async function get(path) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: "no-store" });
  if (response.status === 401) throw new NeedsToken("this agent needs its token");
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  const date = Date.parse(response.headers.get("date") ?? "");
  if (Number.isFinite(date)) clockOffsetMs = date - Date.now();
  return response;
}

/** Shows `roles`: new cards for new roles, cards of gone roles removed, the rest updated in place. @param {RoleInfo[]} roles */
function showRoles(roles) {
  const lastSecond = Math.floor((Date.now() + clockOffsetMs) / 1000) - 1;
  const container = byId("roles");
  for (const [id, view] of views)
    if (!roles.some((info) => info.id === id)) {
      view.destroy();
      view.node.remove();
      views.delete(id);
    }
  for (const info of roles) {
    let view = views.get(info.id);
    if (!view) {
      view = createRoleView(info, async (id) => (await get(`/v1/roles/${encodeURIComponent(id)}/frame.jpg`)).blob());
      views.set(info.id, view);
      container.append(view.node);
    }
    view.update(info, lastSecond);
  }
  byId("no-roles").hidden = roles.length > 0;
}

/**
 * The box in a few words from the agent's latest telemetry sample: CPU busy, temperature,
 * the Pi's throttling flags that hold now; "" before the first sample.
 * @param {Health["telemetry"]} sample
 */
function describeBox(sample) {
  if (!sample) return "";
  const parts = [];
  if (sample.cpu_total_pct !== null) parts.push(`CPU ${Math.round(sample.cpu_total_pct)}% busy`);
  if (sample.temp_c !== null) parts.push(`${sample.temp_c} °C`);
  const flags = sample.throttled ? ["under_voltage", "frequency_capped", "throttled", "soft_temperature_limit"].filter((flag) => sample.throttled[flag]) : [];
  if (flags.length > 0) parts.push(`THROTTLED: ${flags.join(", ")}`);
  return parts.length > 0 ? `; ${parts.join(", ")}` : "";
}

/** @param {Health} agent */
function showHealth(agent) {
  byId("agent-name").textContent = agent.agent;
  byId("health").textContent = `v${agent.version} on ${agent.host} (${agent.arch}, ${agent.cpus} cores), up ${agent.uptime_s} s, ${Math.round(agent.memory.rss / 1048576)} MB in use${describeBox(agent.telemetry)}`;
  byId("insecure").hidden = agent.auth !== "insecure";
}

/** Says what went wrong in the banner; a failed fetch means the agent is unreachable. @param {unknown} error */
function showProblem(error) {
  const banner = byId("banner");
  banner.hidden = false;
  if (error instanceof NeedsToken) {
    /** @type {HTMLFormElement} */ (byId("token-form")).hidden = false;
    banner.textContent = error.message;
    return;
  }
  if (error instanceof TypeError) {
    downSince ??= new Date();
    banner.textContent = `agent unreachable since ${toClock(downSince)}; still trying every second (the figures below are the last seen)`;
  } else banner.textContent = `the agent answered with an error: ${/** @type {Error} */ (error).message}`;
  byId("roles").classList.add("stale");
}

async function refresh() {
  try {
    showHealth(await (await get("/v1/health")).json());
    showRoles(await (await get("/v1/roles")).json());
    downSince = undefined;
    byId("banner").hidden = true;
    byId("roles").classList.remove("stale");
  } catch (error) {
    showProblem(error);
  }
}

/** Polls once a second, each poll after the previous has answered. */
async function poll() {
  await refresh();
  setTimeout(poll, POLL_MS);
}

byId("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, /** @type {HTMLInputElement} */ (byId("token")).value);
  /** @type {HTMLFormElement} */ (event.target).hidden = true;
  void refresh();
});
void poll();
