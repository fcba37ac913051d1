// Decoding uploads for the detector with sharp: formats, orientation, and clear refusals of corrupt and huge images.
import { describe, expect, test } from "bun:test";
import { MODEL_INPUT_SIZE, readModelInput } from "../../agent/recognition/preprocess";
import sharp from "../../agent/native/sharp";
import { garbage, makeHugeHeader, photos, truncated } from "./photos";

/** The code of the FleetError `promise` rejects with, and whether its message says something. */
async function readRefusal(promise: Promise<unknown>): Promise<{ code: string; explained: boolean }> {
  const error = await promise.then(() => undefined, (caught) => caught);
  return { code: error?.code, explained: String(error?.message).length > 10 };
}

describe("readModelInput", () => {
  test("a JPEG becomes 300x300 RGB; width and height are the original's", async () => {
    const input = await readModelInput(photos.get("coffee.jpg")!);
    expect({ bytes: input.pixels.length, width: input.width, height: input.height }).toEqual({ bytes: MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3, width: 600, height: 400 });
  });

  test("PNG with alpha, greyscale WebP and an EXIF-rotated JPEG: RGB bytes, upright sizes", async () => {
    const source = sharp(photos.get("coffee.jpg")!);
    const png = await source.clone().ensureAlpha().png().toBuffer();
    const grey = await source.clone().greyscale().webp().toBuffer();
    const rotated = await source.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer();
    const sizes = [];
    for (const file of [png, grey, rotated]) {
      const { pixels, width, height } = await readModelInput(file);
      sizes.push({ bytes: pixels.length, width, height });
    }
    const rgb = MODEL_INPUT_SIZE * MODEL_INPUT_SIZE * 3;
    expect(sizes).toEqual([
      { bytes: rgb, width: 600, height: 400 },
      { bytes: rgb, width: 600, height: 400 },
      { bytes: rgb, width: 400, height: 600 },
    ]);
  });

  test("not an image, or a truncated JPEG: BAD_IMAGE", async () => {
    expect(await Promise.all([readRefusal(readModelInput(garbage)), readRefusal(readModelInput(truncated))])).toEqual([
      { code: "BAD_IMAGE", explained: true },
      { code: "BAD_IMAGE", explained: true },
    ]);
  });

  test("a header claiming 60000x60000 is refused before decoding: TOO_MANY_PIXELS naming the size", async () => {
    const error = await readModelInput(makeHugeHeader()).catch((caught) => caught);
    expect([error.code, error.status, error.message]).toEqual(["TOO_MANY_PIXELS", 413, "image is 60000x60000 (3600.0 Mpx); at most 50 Mpx"]);
  });

  test("a real image over a lower limit is refused the same way", async () => {
    expect(await readRefusal(readModelInput(photos.get("coffee.jpg")!, 100_000))).toEqual({ code: "TOO_MANY_PIXELS", explained: true });
  });
});
