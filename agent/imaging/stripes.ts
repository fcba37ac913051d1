// Cuts a raw image into horizontal stripes with halo rows of context, and joins the processed stripes back.
import { FleetError } from "../errors";
import type { CheckedOp } from "../protocol/tasks";
import { PIXEL_OPS } from "./ops";

/**
 * One horizontal stripe of an image, in rows. The stripe owns rows `y .. y + rows - 1`;
 * `haloTop` rows above and `haloBottom` rows below are extra context an op reads but whose
 * output is discarded. Halos are clamped at the image edges (0 on the first stripe's top).
 */
export interface Stripe {
  index: number;
  y: number;
  rows: number;
  haloTop: number;
  haloBottom: number;
}

/** A processed stripe: `data` holds `haloTop + rows + haloBottom` raw rows of the op's output. */
export interface StripeOutput {
  stripe: Stripe;
  data: Uint8Array;
}

function requireInteger(name: string, value: number, minimum: number): void {
  if (!Number.isInteger(value) || value < minimum)
    throw new FleetError("BAD_STRIPES", `${name} must be an integer >= ${minimum}, got ${value}`, 422);
}

/**
 * Splits `height` rows into at most `count` stripes of near-equal height (the first
 * `height % count` stripes get one row more), each with up to `halo` rows of context on
 * each side. `count` above `height` gives `height` stripes of one row: no stripe is empty.
 * @throws FleetError BAD_STRIPES (422) when height or count is not an integer >= 1, or halo not >= 0.
 */
export function planStripes(height: number, count: number, halo: number): Stripe[] {
  requireInteger("height", height, 1);
  requireInteger("count", count, 1);
  requireInteger("halo", halo, 0);
  const stripes = Math.min(count, height);
  const base = Math.floor(height / stripes);
  const extra = height % stripes;
  const plan: Stripe[] = [];
  let y = 0;
  for (let index = 0; index < stripes; index++) {
    const rows = base + (index < extra ? 1 : 0);
    plan.push({ index, y, rows, haloTop: Math.min(halo, y), haloBottom: Math.min(halo, height - y - rows) });
    y += rows;
  }
  return plan;
}

/**
 * The halo in rows that a checked op (`checkParams`, agent/protocol/tasks.ts) needs for striped
 * output to equal whole-image output; the rule of each op is documented on `PIXEL_OPS` in ops.ts.
 * 0 for classify, which never runs on stripes.
 */
export function haloFor({ op, params }: CheckedOp): number {
  return op === "classify" ? 0 : PIXEL_OPS[op].halo(params as never);
}

/**
 * The raw rows of `stripe` including its halo, as a view into `raw` (no copy): row-major,
 * `width * channels` bytes per row, one byte per channel.
 * @throws FleetError BAD_STRIPES (422) when `raw` is too short for the stripe.
 */
export function cutStripe(raw: Uint8Array, width: number, channels: number, stripe: Stripe): Uint8Array {
  const rowBytes = width * channels;
  const start = (stripe.y - stripe.haloTop) * rowBytes;
  const end = (stripe.y + stripe.rows + stripe.haloBottom) * rowBytes;
  if (start < 0 || end > raw.length)
    throw new FleetError("BAD_STRIPES", `stripe ${stripe.index} needs bytes ${start}..${end} but the image has ${raw.length}`, 422);
  return raw.subarray(start, end);
}

/**
 * Assembles the whole raw image (`width * height * channels` bytes) from processed stripes
 * in any order, copying from each only the rows it owns. `channels` is the op's output count.
 * @throws FleetError BAD_STRIPES (422) when an output has the wrong size, or the owned rows
 *   do not cover `0 .. height - 1` exactly once.
 */
export function joinStripes(outputs: readonly StripeOutput[], width: number, channels: number, height: number): Uint8Array {
  const rowBytes = width * channels;
  const image = new Uint8Array(rowBytes * height);
  const sorted = [...outputs].sort((a, b) => a.stripe.y - b.stripe.y);
  let next = 0;
  for (const { stripe, data } of sorted) {
    const expected = (stripe.haloTop + stripe.rows + stripe.haloBottom) * rowBytes;
    if (data.length !== expected)
      throw new FleetError("BAD_STRIPES", `stripe ${stripe.index} output has ${data.length} bytes, expected ${expected}`, 422);
    if (stripe.y !== next)
      throw new FleetError("BAD_STRIPES", `stripe ${stripe.index} starts at row ${stripe.y}, expected row ${next}`, 422);
    const owned = data.subarray(stripe.haloTop * rowBytes, (stripe.haloTop + stripe.rows) * rowBytes);
    image.set(owned, stripe.y * rowBytes);
    next = stripe.y + stripe.rows;
  }
  if (next !== height) throw new FleetError("BAD_STRIPES", `stripes cover rows 0..${next - 1} of ${height}`, 422);
  return image;
}
