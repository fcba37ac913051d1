// The streamer's viewer page in real headless Chromium: a moving picture, quality buttons that change the bytes per frame, the original's Home and Gaming buttons, live reactions that answer Donate Success!! to the presser.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { startRole, waitUntil } from "../helpers";
import { launchBrowser } from "./chromium";
import { describeWith } from "../_requires";

/** Bytes per frame the page shows for its own stream, once it shows one for `mode`. */
async function readBytesPerFrame(page: Page, mode: string): Promise<number> {
  await page.click(`[data-mode=${mode}]`);
  await page.locator(`[data-mode=${mode}][aria-pressed=true]`).waitFor();
  await page.locator("#frame-size:not([data-bytes='0'])").waitFor();
  return Number(await page.locator("#frame-size").getAttribute("data-bytes"));
}

describeWith("chromium")("viewer page", () => {
  test("shows a moving stream as the background; high, low, Gaming, Home and reactions work", async () => {
    await using streamer = await startRole("streamer", { port: 0, source: "synthetic:640x480", fps: 30 });
    const base = `http://127.0.0.1:${streamer.stats().port}`;
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    await page.goto(`${base}/?quality=medium`);
    await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { naturalWidth: number } } }).document.getElementById("stream").naturalWidth > 0);
    // Only the picture, away from the panel: the synthetic square moves every frame, so it changes.
    const picture = { x: 400, y: 300, width: 400, height: 300 };
    const first = await page.screenshot({ clip: picture });
    // Waits until the picture has changed (fails past the wait deadline).
    await waitUntil("the streamed picture to change", async () => Buffer.compare(first, await page.screenshot({ clip: picture })) !== 0, (changed) => changed, undefined, 0);
    // The picture is the stream at the medium tier's full size, not a scaled or placeholder image.
    const size = await page.evaluate(() => {
      const image = (globalThis as unknown as { document: { getElementById(id: string): { naturalWidth: number; naturalHeight: number } } }).document.getElementById("stream");
      return [image.naturalWidth, image.naturalHeight];
    });
    expect(size).toEqual([640, 480]);
    await page.locator("#viewers", { hasText: "1" }).waitFor();

    const high = await readBytesPerFrame(page, "high");
    const low = await readBytesPerFrame(page, "low");
    expect(high).toBeGreaterThan(low * 2);
    await page.locator("#tier", { hasText: "low" }).waitFor();

    const other = await browser.newPage();
    await other.goto(`${base}/?quality=low`);
    await other.locator("#viewers", { hasText: "2" }).waitFor();
    await page.click("#react");
    await other.locator("#reactions", { hasText: "1" }).waitFor(); // seen live by the other viewer
    // The original's Donate answer goes to the viewer who pressed it only.
    await page.locator("#donated", { hasText: "Donate Success!!" }).waitFor();
    expect(await other.locator("#donated").isHidden()).toBe(true);

    // The original's Gaming and Home buttons beside ours: Gaming streams the gaming channel, Home returns to the last of High/Medium/Low.
    await page.click("[data-mode=gaming]");
    await page.locator("#tier", { hasText: "gaming" }).waitFor();
    await page.click("#home");
    await page.locator("#home[aria-pressed=true]").waitFor();
    await page.locator("[data-mode=low][aria-pressed=true]").waitFor();
    await page.locator("#tier", { hasText: "low" }).waitFor();
  });
});
