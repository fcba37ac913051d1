// Tests the stripe geometry: plans, halos clamped at the edges, cut views and joins.
import { describe, expect, test } from "bun:test";
import { cutStripe, haloFor, joinStripes, planStripes } from "../../agent/imaging/stripes";
import { checkParams } from "../../agent/protocol";

describe("planStripes", () => {
  test("splits rows near-equally, the first stripes taking the remainder", () => {
    expect(planStripes(10, 3, 2)).toEqual([
      { index: 0, y: 0, rows: 4, haloTop: 0, haloBottom: 2 },
      { index: 1, y: 4, rows: 3, haloTop: 2, haloBottom: 2 },
      { index: 2, y: 7, rows: 3, haloTop: 2, haloBottom: 0 },
    ]);
  });

  test("count above height gives one-row stripes, none empty", () => {
    expect(planStripes(3, 7, 1)).toEqual([
      { index: 0, y: 0, rows: 1, haloTop: 0, haloBottom: 1 },
      { index: 1, y: 1, rows: 1, haloTop: 1, haloBottom: 1 },
      { index: 2, y: 2, rows: 1, haloTop: 1, haloBottom: 0 },
    ]);
  });

  test("a halo taller than a stripe reaches over neighbours, clamped at the image edges", () => {
    expect(planStripes(9, 3, 5)).toEqual([
      { index: 0, y: 0, rows: 3, haloTop: 0, haloBottom: 5 },
      { index: 1, y: 3, rows: 3, haloTop: 3, haloBottom: 3 },
      { index: 2, y: 6, rows: 3, haloTop: 5, haloBottom: 0 },
    ]);
  });

  test("height 1 gives one stripe without halo", () => {
    expect(planStripes(1, 4, 10)).toEqual([{ index: 0, y: 0, rows: 1, haloTop: 0, haloBottom: 0 }]);
  });

  test.each([
    [0, 1, 0],
    [10, 0, 0],
    [10, 2, -1],
    [10.5, 2, 0],
    [10, 2, 0.5],
  ])("rejects height %p, count %p, halo %p", (height, count, halo) => {
    expect(() => planStripes(height, count, halo)).toThrow(expect.objectContaining({ code: "BAD_STRIPES", status: 422 }));
  });
});

describe("cutStripe and joinStripes", () => {
  const width = 4;
  const channels = 2;
  const height = 11;
  const raw = Uint8Array.from({ length: width * height * channels }, (_, i) => i);

  test("a cut is a view of the owned rows and their halo", () => {
    const [, middle] = planStripes(height, 3, 2);
    const cut = cutStripe(raw, width, channels, middle!);
    expect(cut.buffer).toBe(raw.buffer);
    expect({ offset: cut.byteOffset, length: cut.length }).toEqual({ offset: (4 - 2) * 8, length: (2 + 4 + 2) * 8 });
  });

  test.each([1, 2, 3, 7, 11, 20])("cut then join with %p stripes, in any order, gives the image back", (count) => {
    const outputs = planStripes(height, count, 3).map((stripe) => ({ stripe, data: cutStripe(raw, width, channels, stripe).slice() }));
    expect(joinStripes(outputs.reverse(), width, channels, height)).toEqual(raw);
  });

  test("join rejects a missing stripe or an output of the wrong size", () => {
    const outputs = planStripes(height, 3, 1).map((stripe) => ({ stripe, data: cutStripe(raw, width, channels, stripe) }));
    const bad = expect.objectContaining({ code: "BAD_STRIPES", status: 422 });
    expect(() => joinStripes(outputs.slice(0, 2), width, channels, height)).toThrow(bad);
    expect(() => joinStripes([outputs[0]!, outputs[2]!], width, channels, height)).toThrow(bad);
    expect(() => joinStripes([{ ...outputs[0]!, data: new Uint8Array(3) }, ...outputs.slice(1)], width, channels, height)).toThrow(bad);
  });

  test("cut rejects an image too short for the stripe", () => {
    const [stripe] = planStripes(height, 1, 0);
    expect(() => cutStripe(raw.subarray(1), width, channels, stripe!)).toThrow(expect.objectContaining({ code: "BAD_STRIPES" }));
  });
});

describe("haloFor", () => {
  test("per-pixel ops need none, Gaussians ceil(3 sigma) + 1, edges 1", () => {
    expect({
      grayscale: haloFor(checkParams("grayscale", {})),
      contrast: haloFor(checkParams("contrast", { factor: 1.5 })),
      blur2: haloFor(checkParams("blur", { sigma: 2 })),
      blur8: haloFor(checkParams("blur", { sigma: 8 })),
      blurSmall: haloFor(checkParams("blur", { sigma: 0.3 })),
      sharpen: haloFor(checkParams("sharpen", { sigma: 1.5 })),
      edges: haloFor(checkParams("edges", {})),
    }).toEqual({ grayscale: 0, contrast: 0, blur2: 7, blur8: 25, blurSmall: 2, sharpen: 6, edges: 1 });
  });

  test("takes an op whose params were checked (checkParams)", () => {
    expect(() => haloFor(checkParams("blurry", {}))).toThrow(expect.objectContaining({ code: "UNKNOWN_OP" }));
    expect(() => haloFor(checkParams("blur", { sigma: 0 }))).toThrow(expect.objectContaining({ code: "BAD_PARAMS" }));
  });
});
