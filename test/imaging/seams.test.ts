// Every stripeable op, cut into 1, 2, 3 and 7 stripes by the real manager and run by a real grayscale worker, equals the op on the whole photo exactly.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyOp, PIXEL_OPS, type RawImage } from "../../agent/imaging/ops";
import { cutStripe, joinStripes, planStripes } from "../../agent/imaging/stripes";
import sharp from "../../agent/native/sharp";
import { readPhotos, startRole, waitUntil } from "../helpers";

/** Every stripeable op with the parameters that set its halo (blur and sharpen by sigma, edges by its 3x3 kernel). */
const CASES = [
  { op: "grayscale", params: {} },
  { op: "invert", params: {} },
  { op: "sepia", params: {} },
  { op: "brightness", params: { factor: 1.4 } },
  { op: "brightness", params: { factor: 0.6 } },
  { op: "contrast", params: { factor: 1.7 } },
  { op: "blur", params: { sigma: 2 } },
  { op: "blur", params: { sigma: 8 } },
  { op: "sharpen", params: { sigma: 1 } },
  { op: "sharpen", params: { sigma: 5 } },
  { op: "edges", params: {} },
] as const;
/** Stripe counts: the manager cuts one stripe per unit of credit the fleet offers, so a worker with this concurrency gets this many. */
const COUNTS = [1, 2, 3, 7];

/** Uploads as the manager gets them (name -> encoded bytes) and the same pixels decoded here. */
const uploads = new Map<string, Uint8Array<ArrayBuffer>>();
const photos = new Map<string, RawImage>();
const measured = new Map<string, number>();

/** Decodes to raw pixels, keeping grey images grey (sharp would otherwise hand them out as sRGB). */
async function decode(bytes: Uint8Array): Promise<RawImage> {
  const { channels } = await sharp(bytes).metadata();
  const input = channels <= 2 ? sharp(bytes).toColourspace("b-w") : sharp(bytes);
  const { data, info } = await input.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

function maxDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

beforeAll(async () => {
  for (const [name, bytes] of readPhotos()) uploads.set(name, bytes);
  // A photo over 2000 px wide, as lossless PNG so the manager decodes exactly these pixels.
  const wide = await sharp(uploads.get("chelsea.jpg")!).resize({ width: 2000, kernel: "lanczos3" }).png().toBuffer();
  uploads.set("chelsea-2000w.png", new Uint8Array(wide));
  for (const [name, bytes] of uploads) photos.set(name, await decode(bytes));
});

afterAll(() => {
  console.log("max |striped - whole| per case:", Object.fromEntries(measured));
});

describe.each(COUNTS)("%i stripes, through the manager and a grayscale worker", (count) => {
  test("every op on every photo equals sharp on the whole photo (0 levels of difference)", async () => {
    await using manager = await startRole("manager", { port: 0, workerPort: 0, split: "stripes" });
    await using worker = await startRole("grayscale-worker", { manager: `127.0.0.1:${manager.stats().worker_port}`, concurrency: count });
    await waitUntil("the worker to join", () => manager.stats(), (stats) => stats.workers === 1);
    const base = `http://127.0.0.1:${manager.stats().port}`;
    const differences: Record<string, number> = {};
    for (const { op, params } of CASES) {
      const form = new FormData();
      for (const [name, bytes] of uploads) form.append("images", new File([bytes], name));
      form.append("op", op);
      for (const [key, value] of Object.entries(params)) form.append(key, String(value));
      const answer = await fetch(`${base}/jobs?wait=1`, { method: "POST", body: form });
      expect(answer.status).toBe(200);
      const jobs = ((await answer.json()) as { jobs: { id: string }[] }).jobs;
      for (const [index, name] of [...uploads.keys()].entries()) {
        const result = await fetch(`${base}/jobs/${jobs[index]!.id}/result`);
        const striped = await decode(new Uint8Array(await result.arrayBuffer()));
        const whole = await applyOp(op, params, photos.get(name)!);
        const key = `${op} ${JSON.stringify(params)}`;
        differences[`${key} ${name}`] = maxDifference(striped.data, whole.data);
        measured.set(key, Math.max(measured.get(key) ?? 0, differences[`${key} ${name}`]!));
      }
    }
    expect(Object.entries(differences).filter(([, difference]) => difference !== 0)).toEqual([]);
    // Each job went as `count` stripes: the worker ran count tasks per job.
    expect(worker.stats().tasks_done).toBe(CASES.length * uploads.size * count);
  });
});

test("without its halo, blur does leave seams (the comparison can see them)", async () => {
  const image = photos.get("chelsea.jpg")!;
  const whole = await applyOp("blur", { sigma: 8 }, image);
  const plan = planStripes(image.height, 3, 0);
  const outputs = await Promise.all(
    plan.map(async (stripe) => {
      const data = cutStripe(image.data, image.width, image.channels, stripe);
      return { stripe, data: (await applyOp("blur", { sigma: 8 }, { ...image, data, height: stripe.rows })).data };
    }),
  );
  const joined = joinStripes(outputs, image.width, PIXEL_OPS.blur.channels(image.channels), image.height);
  expect(maxDifference(joined, whole.data)).toBeGreaterThan(1);
});
