// Draws a classify result over its photo: an SVG in the photo's own pixels (boxes are in pixels of the uploaded image), one labelled box per object.
// @ts-check
/** @typedef {import("../agent/wire").Detections} Detections */

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element with attributes. @param {string} tag @param {Record<string, string | number>} attributes */
function svgElement(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/**
 * The photo at `url` (width x height pixels) with a box and a "label score" tag per object.
 * @param {string} url @param {number} width @param {number} height @param {Detections} detections
 */
export function drawDetections(url, width, height, detections) {
  const stroke = Math.max(2, Math.round(Math.max(width, height) / 250));
  const fontSize = Math.max(12, Math.round(Math.max(width, height) / 35));
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, class: "detections", role: "img" });
  svg.append(svgElement("image", { href: url, x: 0, y: 0, width, height }));
  for (const { label, score, box } of detections.objects) {
    const [x, y, w, h] = box;
    const group = svgElement("g", { "data-label": label });
    group.append(svgElement("rect", { x, y, width: w, height: h, fill: "none", stroke: "#ffcc00", "stroke-width": stroke }));
    const tag = svgElement("text", { x: x + stroke, y: Math.max(y - stroke, fontSize), "font-size": fontSize, fill: "#ffcc00", stroke: "#000", "stroke-width": 0.6, "font-weight": 700 });
    tag.textContent = `${label} ${score.toFixed(2)}`;
    group.append(tag);
    svg.append(group);
  }
  return svg;
}

/** "cat 0.93 · dog 0.41" from the top-5 list, or "nothing found". @param {Detections} detections */
export function formatTop5(detections) {
  return detections.top5.length ? detections.top5.map(({ label, score }) => `${label} ${score.toFixed(2)}`).join(" · ") : "nothing found";
}
