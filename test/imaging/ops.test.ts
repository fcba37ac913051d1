// Tests the image ops' output shapes and alpha handling (their params checks: test/protocol/tasks.test.ts).
import { describe, expect, test } from "bun:test";
import { applyOp, PIXEL_OPS } from "../../agent/imaging/ops";
import { IMAGE_OPS, OP_DEFINITIONS } from "../../agent/protocol";

const rgba = { data: Uint8Array.from({ length: 6 * 5 * 4 }, (_, i) => (i * 37) % 256), width: 6, height: 5, channels: 4 };
const alphaOf = (data: Uint8Array) => data.filter((_, i) => i % 4 === 3);

describe("applyOp", () => {
  test("invert, brightness and contrast leave alpha untouched; sepia keeps it", async () => {
    for (const [op, params] of [["invert", {}], ["brightness", { factor: 2 }], ["contrast", { factor: 0.5 }], ["sepia", {}]] as const) {
      const output = await applyOp(op, params, rgba);
      expect({ op, channels: output.channels, alpha: alphaOf(output.data) }).toEqual({ op, channels: 4, alpha: alphaOf(rgba.data) });
    }
  });

  test("invert is 255 - value on colour channels", async () => {
    const output = await applyOp("invert", {}, rgba);
    expect(output.data.filter((_, i) => i % 4 !== 3)).toEqual(rgba.data.filter((_, i) => i % 4 !== 3).map((v) => 255 - v));
  });

  test("output channels follow OPS for grey, grey+alpha, RGB and RGBA input", async () => {
    const params = { blur: { sigma: 1 }, sharpen: { sigma: 1 }, brightness: { factor: 1.2 }, contrast: { factor: 1.2 }, resize: { width: 6 } };
    expect(Object.keys(PIXEL_OPS)).toEqual(IMAGE_OPS);
    for (const op of IMAGE_OPS) {
      for (const channels of [1, 2, 3, 4]) {
        const data = Uint8Array.from({ length: 6 * 5 * channels }, (_, i) => (i * 53) % 256);
        const output = await applyOp(op, params[op as keyof typeof params] ?? {}, { data, width: 6, height: 5, channels });
        expect({ op, channels, out: output.channels, bytes: output.data.length }).toEqual({
          op,
          channels,
          out: PIXEL_OPS[op].channels(channels),
          bytes: 6 * 5 * PIXEL_OPS[op].channels(channels),
        });
      }
    }
  });

  test("resize keeps the aspect ratio with one side and stretches with both; it is not stripeable", async () => {
    const one = await applyOp("resize", { width: 3 }, rgba);
    const both = await applyOp("resize", { width: 12, height: 2 }, rgba);
    expect({ one: [one.width, one.height], both: [both.width, both.height], stripeable: OP_DEFINITIONS.resize.stripeable }).toEqual({
      one: [3, 3],
      both: [12, 2],
      stripeable: false,
    });
  });

  test("a data length that does not match the dimensions is BAD_IMAGE 422", async () => {
    await expect(applyOp("invert", {}, { ...rgba, height: 6 })).rejects.toMatchObject({ code: "BAD_IMAGE", status: 422 });
    await expect(applyOp("invert", {}, { ...rgba, channels: 5 })).rejects.toMatchObject({ code: "BAD_IMAGE", status: 422 });
  });
});
