// The agent status page live in headless Chromium: figures change, the chart draws, the last frame shows, a dead agent is named.
import { describe, expect, test } from "bun:test";
import type { Page } from "playwright-core";
import { makeTempDir, readPhotos, spawnAgent } from "../helpers";
import { launchBrowser } from "./chromium";
import { describeWith } from "../_requires";

/** True once the receiver's chart has data and its line is on the canvas (strongly blue pixels). */
const CHART_DRAWN = `(() => {
  const canvas = document.querySelector("section.role[data-role=receiver] canvas");
  const chart = canvas && Chart.getChart(canvas);
  if (!chart || chart.data.datasets[0].data.length === 0) return false;
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let blue = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && data[i + 2] > 200 && data[i] < 100) blue += 1;
  return blue > 50;
})()`;

/** Waits until the receiver's tile `label` shows `value`. */
function waitForTile(page: Page, label: string, value: string): Promise<void> {
  return page.locator(`section.role[data-role=receiver] .figure:has(span:text-is("${label}")) b:text-is("${value}")`).waitFor();
}

describeWith("chromium")("status page, live", () => {
  test("figures change as images arrive, the chart draws, the last frame shows, and a killed agent is reported", async () => {
    using dir = makeTempDir();
    await using agent = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--role", "receiver", "--port", "0", "--out", dir.path]);
    const controlPort = Number((await agent.waitFor("control_listening")).port);
    const uploadPort = Number((await agent.waitFor("receiver_listening")).port);
    const post = (photo: Uint8Array<ArrayBuffer>, topic: string) =>
      fetch(`http://127.0.0.1:${uploadPort}/upload`, { method: "POST", body: photo, headers: { "content-type": "image/jpeg", "x-topic": topic } });
    const photos = readPhotos();
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${controlPort}/`);
    await waitForTile(page, "saved", "0");

    for (let index = 0; index < 3; index += 1) await post(photos.get("coffee-480p.jpg")!, "kitchen");
    await waitForTile(page, "saved", "3");
    await page.locator("section.role img.frame[src^='blob:']").waitFor();
    for (let index = 0; index < 2; index += 1) await post(photos.get("chelsea-480p.jpg")!, "garden");
    await waitForTile(page, "saved", "5");
    await page.waitForFunction(CHART_DRAWN);
    // The frame shown is the last saved one: chelsea, 722 px wide (coffee is 720).
    await page.waitForFunction(`document.querySelector("section.role img.frame")?.naturalWidth === 722`);
    await post(new Uint8Array(new TextEncoder().encode("not a jpeg")), "garden");
    await page.locator("section.role .errors.has-errors td", { hasText: "rejected" }).waitFor();
    const topics = await page.locator("section.role .topics tr").allInnerTexts();
    expect(topics.map((row) => row.split("\t").slice(0, 3))).toEqual([
      ["topic", "received", "saved"],
      ["kitchen", "3", "3"],
      ["garden", "2", "2"],
    ]);

    agent.process.kill("SIGKILL");
    await agent.process.exited;
    const banner = page.locator("#banner", { hasText: "agent unreachable since" });
    await banner.waitFor();
    expect(await banner.innerText()).toMatch(/^agent unreachable since \d\d:\d\d:\d\d; still trying/);
    expect(await page.locator("#roles").getAttribute("class")).toBe("stale");
  });
});
