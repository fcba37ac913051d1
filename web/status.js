// The agent status page: health, running roles and their live figures, polled from the control API once a second.
// @ts-check
/** @typedef {import("../agent/wire").Health} Health */
/** @typedef {import("../agent/wire").RoleInfo} RoleInfo */

const TOKEN_KEY = "framefleet-token";
/** Figures shown as tiles, in this order, when a role reports them. */
const FIGURES = ["images_per_s", "mbit_per_s", "rate_5s", "sent", "ok", "received", "saved", "failed", "rejected", "busy", "queue_depth", "in_flight"];

/** @param {string} path */
async function getJson(path) {
  const token = localStorage.getItem(TOKEN_KEY);
  const response = await fetch(path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (response.status === 401) {
    /** @type {HTMLFormElement} */ (document.getElementById("token-form")).hidden = false;
    throw new Error("this agent needs its token");
  }
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** @param {string} tag @param {Record<string, string>} attributes @param {(Node|string)[]} children */
function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** @param {RoleInfo} info */
function renderRole(info) {
  const stats = /** @type {Record<string, unknown>} */ (info.stats);
  const tiles = FIGURES.filter((name) => typeof stats[name] === "number").map((name) =>
    element("div", { class: "figure" }, [element("b", {}, [String(stats[name])]), element("span", {}, [name.replaceAll("_", " ")])]),
  );
  const latency = /** @type {{p50: number, p99: number} | undefined} */ (stats.latency_ms);
  if (latency) tiles.push(element("div", { class: "figure" }, [element("b", {}, [`${latency.p50} / ${latency.p99}`]), element("span", {}, ["p50 / p99 ms"])]));
  const children = [
    element("h3", {}, [`${info.role} `, element("span", { class: `state-${info.state}` }, [info.state]), element("span", { class: "muted" }, [` ${info.id}`])]),
    element("div", { class: "figures" }, tiles),
  ];
  const topics = /** @type {Record<string, {received: number, saved: number, images_per_s: number}> | undefined} */ (stats.topics);
  if (topics && Object.keys(topics).length > 0) {
    const rows = Object.entries(topics).map(([name, figures]) =>
      element("tr", {}, [element("td", {}, [name]), element("td", {}, [String(figures.received)]), element("td", {}, [String(figures.saved)]), element("td", {}, [String(figures.images_per_s)])]),
    );
    children.push(element("table", {}, [element("tr", {}, ["topic", "received", "saved", "images/s"].map((label) => element("th", {}, [label]))), ...rows]));
  }
  return element("section", { class: "role", "data-role": info.role }, children);
}

async function refresh() {
  const health = document.getElementById("health");
  try {
    /** @type {Health} */
    const agent = await getJson("/v1/health");
    /** @type {HTMLElement} */ (document.getElementById("agent-name")).textContent = agent.agent;
    /** @type {HTMLElement} */ (health).textContent = `v${agent.version} on ${agent.host} (${agent.arch}, ${agent.cpus} cores), up ${agent.uptime_s} s, ${Math.round(agent.memory.rss / 1048576)} MB in use`;
    /** @type {RoleInfo[]} */
    const roles = await getJson("/v1/roles");
    /** @type {HTMLElement} */ (document.getElementById("no-roles")).hidden = roles.length > 0;
    /** @type {HTMLElement} */ (document.getElementById("roles")).replaceChildren(...roles.map(renderRole));
  } catch (error) {
    /** @type {HTMLElement} */ (health).textContent = `not reachable: ${/** @type {Error} */ (error).message}`;
  }
}

document.getElementById("token-form")?.addEventListener("submit", (event) => {
  event.preventDefault();
  localStorage.setItem(TOKEN_KEY, /** @type {HTMLInputElement} */ (document.getElementById("token")).value);
  /** @type {HTMLFormElement} */ (event.target).hidden = true;
  void refresh();
});
void refresh();
setInterval(refresh, 1000);
