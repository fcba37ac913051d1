// The task contract: one op list, one params check, one job check at intake.
import { describe, expect, test } from "bun:test";
import { checkJob, checkParams, IMAGE_OPS, OPS } from "../../agent/protocol";

describe("checkParams", () => {
  test("an unknown op is UNKNOWN_OP 422; classify is an op, but not an image op", () => {
    expect(() => checkParams("melt", {})).toThrow(expect.objectContaining({ code: "UNKNOWN_OP", status: 422 }));
    expect(() => checkParams("toString", {})).toThrow(expect.objectContaining({ code: "UNKNOWN_OP" }));
    expect({ classify: checkParams("classify", {}), imageOps: IMAGE_OPS.includes("classify" as never) }).toEqual({ classify: { op: "classify", params: {} }, imageOps: false });
  });

  test.each([
    ["blur", {}, "/sigma"],
    ["blur", { sigma: 0.1 }, "/sigma"],
    ["blur", { sigma: 51 }, "/sigma"],
    ["blur", { sigma: "2" }, "/sigma"],
    ["sharpen", { sigma: 11 }, "/sigma"],
    ["brightness", { factor: -1 }, "/factor"],
    ["contrast", { factor: 11 }, "/factor"],
    ["grayscale", { strength: 1 }, "/strength"],
    ["resize", { width: 0 }, "/width"],
    ["resize", { width: 10.5 }, "/width"],
    ["resize", {}, "/width"],
    ["edges", null, "edges: /"],
    ["classify", { minScore: 2 }, "/minScore"],
    ["classify", { top: 3 }, "nothing else"],
  ])("%s %j is BAD_PARAMS naming %s", (op, params, name) => {
    expect(() => checkParams(op, params)).toThrow(expect.objectContaining({ code: "BAD_PARAMS", status: 422, message: expect.stringContaining(name) }));
  });

  test("every problem is reported at once", () => {
    expect(() => checkParams("resize", { width: 0, height: -1, fit: "cover" })).toThrow(
      expect.objectContaining({ message: expect.stringMatching(/\/width.*\/height.*\/fit|\/fit.*\/width.*\/height/) }),
    );
  });
});

describe("the op list", () => {
  test("every op once, the image ops first, in the order workers offer them", () => {
    expect(OPS).toEqual(["grayscale", "invert", "sepia", "brightness", "contrast", "blur", "sharpen", "edges", "resize", "classify"]);
    expect([...IMAGE_OPS, "classify"]).toEqual(OPS);
  });
});

describe("checkJob", () => {
  test("classify takes a file, not raw pixels; a checked job keeps its op, params and details", () => {
    const image = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(() => checkJob({ op: "classify", params: {}, image })).toThrow(expect.objectContaining({ code: "BAD_IMAGE", status: 422 }));
    expect(checkJob({ op: "blur", params: { sigma: 1 }, image, id: "a", format: "webp" })).toEqual({ op: "blur", params: { sigma: 1 }, image, id: "a", format: "webp" } as never);
  });
});
