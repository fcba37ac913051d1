// The streamer's viewer page: picks the stream's quality (ours, and the original's Home and Gaming), shows this viewer's figures and the shared reaction count.
"use strict";
/** @typedef {import("../agent/wire").StreamerClientStats} StreamerClientStats */

const streamImage = document.getElementById("stream");
const key = Math.random().toString(36).slice(2, 10);
let connection = 0;
let client = "";
let previous = null; // {at, delivered, bytes} of this viewer at the last poll
const HOME_MODES = ["high", "medium", "low"];
let homeMode = "medium"; // the last of High, Medium, Low chosen: what Home returns to

function show(id, text) {
  document.getElementById(id).textContent = text;
}

function setMode(mode) {
  connection += 1;
  client = `${key}-${connection}`;
  previous = null;
  streamImage.src = `/stream?quality=${encodeURIComponent(mode)}&client=${client}`;
  if (HOME_MODES.includes(mode)) homeMode = mode;
  for (const button of document.querySelectorAll("[data-mode]")) button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
  document.getElementById("home").setAttribute("aria-pressed", String(HOME_MODES.includes(mode)));
  show("fps", "–");
  show("bitrate", "–");
  show("frame-size", "–");
  document.getElementById("frame-size").dataset.bytes = "0";
  history.replaceState(null, "", `?quality=${mode}`);
}

function formatBitrate(bitsPerSecond) {
  return bitsPerSecond >= 1e6 ? `${(bitsPerSecond / 1e6).toFixed(2)} Mbit/s` : `${(bitsPerSecond / 1e3).toFixed(0)} kbit/s`;
}

async function poll() {
  try {
    // Only this viewer's entry and the shared counts, not every viewer's figures.
    const response = await fetch(`/stats?client=${encodeURIComponent(client)}`, { cache: "no-store" });
    const stats = /** @type {StreamerClientStats} */ (await response.json());
    show("viewers", String(stats.viewer_count));
    show("reactions", String(stats.reactions));
    show("motion", stats.motion.toFixed(3));
    show("source", stats.source.up ? `up, ${stats.source.fps} fps` : "down (showing the last frame)");
    const me = stats.viewer;
    if (!me) return;
    show("tier", me.tier);
    show("quality", String(me.quality));
    const now = performance.now();
    if (previous && me.delivered > previous.delivered) {
      const seconds = (now - previous.at) / 1000;
      const frames = me.delivered - previous.delivered;
      const bytes = me.bytes - previous.bytes;
      show("fps", (frames / seconds).toFixed(1));
      show("bitrate", formatBitrate((bytes * 8) / seconds));
      show("frame-size", `${(bytes / frames / 1024).toFixed(1)} KB`);
      document.getElementById("frame-size").dataset.bytes = String(Math.round(bytes / frames));
    }
    previous = { at: now, delivered: me.delivered, bytes: me.bytes };
  } catch {
    show("source", "streamer unreachable");
  }
}

async function react() {
  const response = await fetch("/reactions", { method: "POST" });
  if (!response.ok) return;
  const answer = await response.json();
  show("reactions", String(answer.reactions));
  const donated = document.getElementById("donated");
  donated.textContent = answer.message; // "Donate Success!!", to this viewer only
  donated.hidden = false;
}

for (const button of document.querySelectorAll("[data-mode]")) button.addEventListener("click", () => setMode(button.dataset.mode));
document.getElementById("home").addEventListener("click", () => setMode(homeMode));
document.getElementById("react").addEventListener("click", react);
setMode(new URLSearchParams(location.search).get("quality") || "auto");
poll();
setInterval(poll, 1000);
