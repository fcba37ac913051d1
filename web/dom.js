// Small DOM and formatting helpers shared by the agent status page and the controller's run page.
// @ts-check

/**
 * Creates an element with attributes and children.
 * @param {string} tag @param {Record<string, string>} [attributes] @param {(Node|string)[]} [children]
 */
export function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** The element with `id`; throws when the page lacks it. @param {string} id */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`the page has no #${id}`);
  return node;
}

/** `14:03:05` in 24-hour time. @param {Date | number} time */
export function toClock(time) {
  return new Date(time).toLocaleTimeString("en-GB", { hour12: false });
}

/** A figure for people: whole numbers grouped (`12,345`), others to at most two decimals. @param {number} value */
export function formatNumber(value) {
  return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
}

/** A figure tile: the value large, its label small below. @param {string} value @param {string} label */
export function toTile(value, label) {
  return element("div", { class: "figure" }, [element("b", {}, [value]), element("span", {}, [label])]);
}

/**
 * A table with a header row; cells after the first are right-aligned numbers.
 * @param {string[]} header @param {(string|number)[][]} rows
 */
export function toTable(header, rows) {
  const cell = (/** @type {string|number} */ value, /** @type {string} */ tag) => element(tag, {}, [typeof value === "number" ? formatNumber(value) : value]);
  return element("table", {}, [element("tr", {}, header.map((label) => cell(label, "th"))), ...rows.map((row) => element("tr", {}, row.map((value) => cell(value, "td"))))]);
}
