// The manager's upload page: submit images to POST /jobs, follow each job live on /events (polling GET /jobs/:id while the socket is down), watch the fleet; asks once for the manager's token when it has one.
// @ts-check
/** @typedef {import("../agent/wire").ManagerStats} ManagerStats */
/** @typedef {import("../agent/wire").WorkerRow} WorkerRow */
/** @typedef {import("../agent/wire").Detections} Detections */
/** @typedef {import("../agent/wire").JobView} JobView */
/** @typedef {import("../agent/wire").JobEvent} JobEvent */
/** @typedef {import("../agent/wire").JobsAccepted} JobsAccepted */
/** @typedef {import("../agent/wire").OpsView} OpsView */
/** @typedef {{ view: JobView; workers: Set<string>; managers: Set<string>; card?: ReturnType<typeof createJobCard> }} JobEntry */
import { drawDetections, formatTop5 } from "./detections.js";
import { byId, element, formatNumber, toTable, toTile } from "./dom.js";

const POLL_MS = 1000;
/** Every job seen, by id; events may come before POST /jobs answers, so entries are made on first sight. @type {Map<string, JobEntry>} */
const jobs = new Map();
/** @type {File[]} */
let chosen = [];
/** @type {WebSocket | undefined} */
let socket;

/** Where the tab keeps the manager's token (sessionStorage: gone when the tab closes). */
const TOKEN_KEY = "framefleet-manager-token";
/** Set once the user declined to give the token: the page stops asking. */
let declined = false;

/** Asks the user for the token (once per tab), keeps it in sessionStorage; true when one was given. */
function askToken() {
  if (declined) return false;
  const given = prompt("This manager needs its token (the agent's --token-file or AGENT_TOKEN):");
  if (!given) {
    declined = true;
    showBanner("this manager needs its token: reload the page to enter it");
    return false;
  }
  sessionStorage.setItem(TOKEN_KEY, given.trim());
  return true;
}

/**
 * `fetch` with the tab's token as `Authorization: Bearer`; a 401 asks for the token (unless
 * another call got a new one meanwhile) and sends the request again, once.
 * @param {string} path @param {RequestInit} [init] @returns {Promise<Response>}
 */
async function call(path, init = {}) {
  const send = (/** @type {string | null} */ token) =>
    fetch(path, { cache: "no-store", ...init, headers: token ? { authorization: `Bearer ${token}` } : {} });
  const used = sessionStorage.getItem(TOKEN_KEY);
  const response = await send(used);
  if (response.status !== 401) return response;
  if (sessionStorage.getItem(TOKEN_KEY) === used && !askToken()) return response;
  return send(sessionStorage.getItem(TOKEN_KEY));
}

/** The entry of job `id`, made when first seen. @param {string} id */
function readEntry(id) {
  let entry = jobs.get(id);
  if (!entry) jobs.set(id, (entry = { view: { id, state: "queued", progress: 0 }, workers: new Set(), managers: new Set() }));
  return entry;
}

const FINAL = ["done", "failed"];

/**
 * Takes a newer view of a job from an event or a poll; a poll answered before an event arrived may be
 * older, so a finished job stays finished and progress never goes back.
 * @param {JobEntry} entry @param {Partial<JobView>} view
 */
function mergeView(entry, view) {
  if (FINAL.includes(entry.view.state)) return;
  const progress = Math.max(entry.view.progress, view.progress ?? 0);
  Object.assign(entry.view, view, { progress: view.state === "done" ? 1 : progress });
}

/**
 * A job's card: name, progress bar, state, workers, before/after (for classify: the photo with
 * its boxes and the top-5 labels) and download link.
 * @param {string} id @param {File} file @param {string} op @param {string} format
 */
function createJobCard(id, file, op, format) {
  const bar = /** @type {HTMLProgressElement} */ (element("progress", { max: "1", value: "0" }));
  const state = element("span", { class: "state" }, ["queued"]);
  const workers = element("span", { class: "muted workers" }, ["workers: —"]);
  const after = /** @type {HTMLImageElement} */ (element("img", { class: "after", alt: `${file.name} processed` }));
  const link = /** @type {HTMLAnchorElement} */ (element("a", { class: "download", hidden: "" }, ["download"]));
  const extension = op === "classify" ? "json" : format === "jpeg" ? "jpg" : format;
  link.download = `${file.name.replace(/\.[^.]*$/, "")}-${id.slice(0, 8)}.${extension}`;
  const original = URL.createObjectURL(file);
  const before = /** @type {HTMLImageElement} */ (element("img", { class: "before", src: original, alt: `${file.name} original` }));
  const labels = element("div", { class: "labels muted" });
  const afterFigure = element("figure", {}, [after, element("figcaption", {}, [op === "classify" ? "objects" : "after"])]);
  const node = element("div", { class: "card job", "data-job": id }, [
    element("h3", {}, [file.name]),
    element("figure", {}, [before, element("figcaption", {}, ["before"])]),
    afterFigure,
    bar,
    element("div", {}, [state, " ", link]),
    workers,
    labels,
  ]);
  /** Puts the photo with its boxes where the output image would go. @param {Detections} detections */
  const showDetections = async (detections) => {
    await before.decode().catch(() => {});
    after.replaceWith(drawDetections(original, before.naturalWidth || 1, before.naturalHeight || 1, detections));
    labels.textContent = formatTop5(detections);
    node.dataset.top = detections.top5[0]?.label ?? "";
  };
  return {
    node,
    /** @param {JobEntry} entry */
    show(entry) {
      const { view } = entry;
      bar.value = view.progress;
      node.dataset.progress = String(Math.round(view.progress * 100));
      node.dataset.state = view.state;
      state.className = `state ${view.state}`;
      state.textContent = view.state === "failed" ? `failed: ${view.error ?? ""}` : `${view.state} ${Math.round(view.progress * 100)}%`;
      const managers = entry.managers.size ? ` · manager${entry.managers.size > 1 ? "s" : ""}: ${[...entry.managers].join(" then ")}` : "";
      workers.textContent = `workers: ${entry.workers.size ? [...entry.workers].join(", ") : "—"}${managers}`;
      if (view.state === "done" && link.hidden) {
        link.hidden = false;
        if (view.result) void showDetections(view.result);
        void showResult(link, after, view.id, !view.result);
      }
    },
  };
}

/**
 * Fetches a job's result with the token and offers it as a blob URL (a plain link or `<img>`
 * could not send the token); `link.dataset.result` keeps its address.
 * @param {HTMLAnchorElement} link @param {HTMLImageElement} after @param {string} id @param {boolean} isImage
 */
async function showResult(link, after, id, isImage) {
  link.dataset.result = `/jobs/${encodeURIComponent(id)}/result`;
  const response = await call(link.dataset.result);
  if (!response.ok) return;
  link.href = URL.createObjectURL(await response.blob());
  if (isImage) after.src = link.href;
}

/** Shows job `id` again, when it has a card. @param {string} id */
function showJob(id) {
  const entry = jobs.get(id);
  entry?.card?.show(entry);
}

/** Takes one `/events` message. @param {JobEvent} event */
function takeEvent(event) {
  // On a broker workers pull their tasks (no task-assigned): who did each shows in task-done; which manager took and finished the job in job-started and job-done.
  if (event.type === "task-assigned" || event.type === "task-done") readEntry(event.jobId).workers.add(event.workerId);
  else if ((event.type === "job-started" || event.type === "job-done") && event.manager) readEntry(event.jobId).managers.add(event.manager);
  else if (event.type === "job-progress") mergeView(readEntry(event.jobId), { progress: event.progress });
  else if (event.type === "job-state") mergeView(readEntry(event.id), { state: event.state, progress: event.progress, error: event.error, result: event.result });
  else return;
  showJob(event.jobId ?? event.id);
}

/** Opens `/events`, reopened a second after it drops. */
function connectEvents() {
  // Browsers cannot set headers on a WebSocket: the token goes as ?token=.
  const token = sessionStorage.getItem(TOKEN_KEY);
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/events${query}`);
  socket.addEventListener("message", (message) => takeEvent(JSON.parse(String(message.data))));
  // Events sent while the socket was down are not replayed: read every unfinished job once it is up.
  socket.addEventListener("open", () => void pollUnfinished());
  socket.addEventListener("close", () => setTimeout(connectEvents, POLL_MS));
}

/** Reads `GET /jobs/:id` of every job on the page that has not finished. */
function pollUnfinished() {
  return Promise.all([...jobs.values()].filter((entry) => entry.card && !FINAL.includes(entry.view.state)).map((entry) => pollJob(entry.view.id)));
}

/** Reads `GET /jobs/:id` into the entry of `id`. @param {string} id */
async function pollJob(id) {
  const response = await call(`/jobs/${encodeURIComponent(id)}`);
  if (response.ok) mergeView(readEntry(id), /** @type {JobView} */ (await response.json()));
  showJob(id);
}

/** Sends the form's images to `POST /jobs` and adds a card per job. @param {HTMLFormElement} form */
async function submitJobs(form) {
  const fields = new FormData(form);
  const body = new FormData();
  const op = String(fields.get("op"));
  body.set("op", op);
  body.set("format", String(fields.get("format")));
  for (const input of form.querySelectorAll("label[data-param] input"))
    if (!(/** @type {HTMLElement} */ (input.parentElement).hidden) && /** @type {HTMLInputElement} */ (input).value !== "")
      body.set(/** @type {HTMLInputElement} */ (input).name, /** @type {HTMLInputElement} */ (input).value);
  for (const file of chosen) body.append("images", file, file.name);
  const response = await call("/jobs", { method: "POST", body });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${answer.error ?? response.status}: ${answer.message ?? "POST /jobs failed"}`);
  byId("no-jobs").hidden = true;
  /** @type {JobsAccepted} */ (answer).jobs.forEach(({ id }, index) => {
    const entry = readEntry(id);
    entry.card = createJobCard(id, chosen[index], op, String(fields.get("format")));
    byId("jobs").prepend(entry.card.node);
    entry.card.show(entry);
    void pollJob(id); // events sent before the socket opened are not replayed
  });
}

/** Shows the images the user chose or dropped. @param {FileList | File[]} files */
function chooseFiles(files) {
  chosen = [...files].filter((file) => file.type.startsWith("image/") || file.type === "");
  byId("chosen").textContent = chosen.length ? `${chosen.length} image(s): ${chosen.map((file) => file.name).join(", ")}` : "no image chosen";
  // Nothing to send before the op list is known.
  /** @type {HTMLButtonElement} */ (byId("submit")).disabled = chosen.length === 0 || ops.length === 0;
}

/** The ops of the task contract, as GET /ops gave them. @type {OpsView["ops"]} */
let ops = [];

/** Fills the op list from `GET /ops`: every op of the task contract, in its order. */
async function loadOps() {
  ops = /** @type {OpsView} */ (await readOk(await call("/ops"))).ops;
  byId("op").replaceChildren(...ops.map(({ name, worker }) => element("option", { value: name }, [worker === "recognition" ? `${name} (recognition workers)` : name])));
  showParams();
  chooseFiles(chosen);
}

/** Shows only the parameter fields of the chosen op, with that op's bounds. */
function showParams() {
  const op = ops.find(({ name }) => name === /** @type {HTMLSelectElement} */ (byId("op")).value);
  for (const label of document.querySelectorAll("label[data-param]")) {
    const input = /** @type {HTMLInputElement} */ (label.querySelector("input"));
    const schema = op?.params[input.name];
    /** @type {HTMLElement} */ (label).hidden = !schema;
    input.min = schema?.minimum === undefined ? "" : String(schema.minimum);
    input.max = schema?.maximum === undefined ? "" : String(schema.maximum);
  }
}

/** Refreshes the queue and worker panel (and the op list until it has one), and polls unfinished jobs while the socket is down. */
async function refresh() {
  if (ops.length === 0) await loadOps().catch((error) => showBanner(`GET /ops: ${error.message}`));
  try {
    const [stats, workers] = await Promise.all([
      call("/stats").then(readOk).then((body) => /** @type {ManagerStats} */ (body)),
      call("/workers").then(readOk).then((body) => /** @type {WorkerRow[]} */ (body)),
    ]);
    byId("link").textContent = `port ${stats.port} · workers dial ${stats.worker_port} · ${formatNumber(stats.images_per_s)} images/s`;
    byId("banner").hidden = true;
    byId("insecure").hidden = stats.auth !== "insecure";
    byId("queue").replaceChildren(
      toTile(String(stats.jobs_queued), "queued"),
      toTile(String(stats.jobs_running), "running"),
      toTile(String(stats.jobs_done), "done"),
      toTile(String(stats.jobs_failed), "failed"),
    );
    byId("workers").replaceChildren(
      workers.length === 0
        ? element("p", { class: "muted" }, ["no worker connected"])
        : toTable(
            ["worker", "credit", "in flight", "done", "cpu %", "rss MB", "heard"],
            workers.map((w) => [w.id, w.credit, w.in_flight, w.done, Math.round(w.cpu_percent), w.rss_mb, `${(w.last_heard_ms / 1000).toFixed(1)} s`]),
          ),
    );
    if (socket?.readyState !== WebSocket.OPEN) await pollUnfinished();
  } catch (error) {
    // Once the token was declined, the banner keeps saying how to give it.
    if (!declined) showBanner(`manager unreachable: ${/** @type {Error} */ (error).message}`);
  }
}

/** The JSON body of a 2xx answer; throws `CODE: message` otherwise. @param {Response} response */
async function readOk(response) {
  const body = await response.json();
  if (!response.ok) throw new Error(`${body.error ?? response.status}: ${body.message ?? ""}`);
  return body;
}

/** @param {string} text */
function showBanner(text) {
  const banner = byId("banner");
  banner.textContent = text;
  banner.hidden = false;
}

const drop = byId("drop");
drop.addEventListener("dragover", (event) => {
  event.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("over");
  if (event.dataTransfer) chooseFiles(event.dataTransfer.files);
});
const input = /** @type {HTMLInputElement} */ (byId("images"));
input.addEventListener("change", () => chooseFiles(input.files ?? []));
byId("op").addEventListener("change", showParams);
byId("job-form").addEventListener("submit", (event) => {
  event.preventDefault();
  submitJobs(/** @type {HTMLFormElement} */ (event.target)).catch((error) => showBanner(error.message));
});
connectEvents();
void refresh();
setInterval(refresh, POLL_MS);
