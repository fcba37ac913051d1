// Tests that every stripeable op, run stripe by stripe with its halo and joined, matches the op on the whole photo.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyOp, OPS, type RawImage } from "../../agent/imaging/ops";
import { cutStripe, haloFor, joinStripes, planStripes } from "../../agent/imaging/stripes";
import sharp from "../../agent/sharp";
import { readPhotos } from "../helpers";

/** Each case with the largest per-channel difference allowed between striped and whole output. */
const CASES = [
  { op: "grayscale", params: {}, tolerance: 0 },
  { op: "invert", params: {}, tolerance: 0 },
  { op: "sepia", params: {}, tolerance: 0 },
  { op: "brightness", params: { factor: 1.4 }, tolerance: 0 },
  { op: "brightness", params: { factor: 0.6 }, tolerance: 0 },
  { op: "contrast", params: { factor: 1.7 }, tolerance: 0 },
  { op: "blur", params: { sigma: 2 }, tolerance: 1 },
  { op: "blur", params: { sigma: 8 }, tolerance: 1 },
  { op: "sharpen", params: { sigma: 1 }, tolerance: 1 },
  { op: "sharpen", params: { sigma: 5 }, tolerance: 1 },
  { op: "edges", params: {}, tolerance: 1 },
] as const;
const COUNTS = [1, 2, 3, 7];

const photos = new Map<string, RawImage>();
const measured = new Map<string, number>();

async function decode(bytes: Uint8Array, width?: number): Promise<RawImage> {
  const pipeline = width ? sharp(bytes).resize({ width, kernel: "lanczos3" }) : sharp(bytes);
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

/** What the manager and workers will do: cut with halo, run the op per stripe, keep owned rows, join. */
async function applyStriped(op: string, params: object, image: RawImage, count: number, halo = haloFor(op, params)): Promise<Uint8Array> {
  const plan = planStripes(image.height, count, halo);
  const outputs = await Promise.all(
    plan.map(async (stripe) => {
      const data = cutStripe(image.data, image.width, image.channels, stripe);
      const rows = stripe.haloTop + stripe.rows + stripe.haloBottom;
      const output = await applyOp(op, params, { data, width: image.width, height: rows, channels: image.channels });
      return { stripe, data: output.data };
    }),
  );
  return joinStripes(outputs, image.width, OPS[op as keyof typeof OPS].channels(image.channels), image.height);
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

beforeAll(async () => {
  for (const [name, bytes] of readPhotos()) photos.set(name, await decode(bytes));
  photos.set("chelsea-2000w", await decode(readPhotos().get("chelsea.jpg")!, 2000));
});

afterAll(() => {
  console.log("max |striped - whole| per case:", Object.fromEntries(measured));
});

describe.each(CASES.map((c) => [`${c.op} ${JSON.stringify(c.params)}`, c] as const))("%s", (_, { op, params, tolerance }) => {
  test(`striped output equals whole output within ${tolerance} on every photo and stripe count`, async () => {
    const key = `${op} ${JSON.stringify(params)}`;
    for (const [name, image] of photos) {
      const whole = await applyOp(op, params, image);
      expect({ name, channels: whole.channels, width: whole.width, height: whole.height }).toEqual({
        name,
        channels: OPS[op].channels(image.channels),
        width: image.width,
        height: image.height,
      });
      for (const count of COUNTS) {
        const striped = await applyStriped(op, params, image, count);
        const difference = maxDifference(striped, whole.data);
        measured.set(key, Math.max(measured.get(key) ?? 0, difference));
        expect({ name, count, difference: difference <= tolerance }).toEqual({ name, count, difference: true });
      }
    }
  });
});

test("without its halo, blur does leave seams (the comparison can see them)", async () => {
  const image = photos.get("chelsea.jpg")!;
  const whole = await applyOp("blur", { sigma: 8 }, image);
  expect(maxDifference(await applyStriped("blur", { sigma: 8 }, image, 3, 0), whole.data)).toBeGreaterThan(1);
});

test("the 2000 px photo is as large as intended", () => {
  const { width, height } = photos.get("chelsea-2000w")!;
  expect({ width, height }).toEqual({ width: 2000, height: 1330 });
});
