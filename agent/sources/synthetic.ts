// A generated source: a ring of distinct JPEG frames drawn with sharp, looped.
import sharp from "../native/sharp";
import type { FrameSource } from "./types";
import { cycleFrames } from "./_cycle";

/** Distinct frames in the ring: one second of video at 30 fps. */
const RING_FRAMES = 30;

/** Renders frame `index` of the ring: a colour gradient with a moving square and the frame number. */
function renderFrame(width: number, height: number, index: number, quality: number): Promise<Buffer> {
  const side = Math.max(8, Math.round(Math.min(width, height) / 4));
  const x = Math.round(((width - side) * index) / (RING_FRAMES - 1));
  const y = Math.round((height - side) / 2);
  const hue = Math.round((360 * index) / RING_FRAMES);
  const fontSize = Math.max(8, Math.round(height / 10));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="hsl(${hue},70%,35%)"/><stop offset="1" stop-color="hsl(${(hue + 120) % 360},70%,60%)"/></linearGradient></defs>
<rect width="100%" height="100%" fill="url(#g)"/>
<rect x="${x}" y="${y}" width="${side}" height="${side}" fill="white"/>
<text x="8" y="${fontSize}" font-size="${fontSize}" font-family="sans-serif" fill="black">frame ${index}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality }).toBuffer();
}

/**
 * Opens a synthetic source of `width` x `height` pixel frames at JPEG `quality` (1-100). The ring is rendered
 * once (about 5 ms a frame at 640x480), so `next()` costs nothing while sending.
 */
export async function openSynthetic(width: number, height: number, quality: number): Promise<FrameSource> {
  const ring: Uint8Array[] = [];
  for (let index = 0; index < RING_FRAMES; index += 1) ring.push(await renderFrame(width, height, index, quality));
  return cycleFrames("synthetic", (seq) => ({ data: ring[seq % RING_FRAMES]!, name: `frame-${String(seq).padStart(6, "0")}.jpg` }));
}
