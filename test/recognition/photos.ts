// Shared by the recognition suites: the fixture photos, a corrupt and a "huge" image, the model read once.
import { readEmbeddedModel, type ModelFiles } from "../../agent/recognition/model";
import { readPhotos } from "../helpers";

export const photos = readPhotos();

/** The embedded COCO detector, read once per test file. */
let model: ModelFiles | undefined;
export function readModel(): ModelFiles {
  return (model ??= readEmbeddedModel());
}

/** chelsea.jpg cut after 2 KB: a JPEG header with too little data behind it. */
export const truncated = photos.get("chelsea.jpg")!.slice(0, 2048);

/** Bytes that are no image at all. */
export const garbage = new TextEncoder().encode("this is not an image, only text pretending to be one");

/**
 * chelsea.jpg whose frame header (SOF0) claims 60000x60000 pixels: the header is all sharp
 * reads before refusing, so no 3.6 gigapixel image is ever decoded.
 */
export function makeHugeHeader(): Uint8Array {
  const jpeg = new Uint8Array(photos.get("chelsea.jpg")!);
  for (let i = 2; i < jpeg.length - 8; i++) {
    if (jpeg[i] === 0xff && (jpeg[i + 1] === 0xc0 || jpeg[i + 1] === 0xc2)) {
      const view = new DataView(jpeg.buffer, jpeg.byteOffset);
      view.setUint16(i + 5, 60000);
      view.setUint16(i + 7, 60000);
      return jpeg;
    }
  }
  throw new Error("no SOF marker in chelsea.jpg");
}
