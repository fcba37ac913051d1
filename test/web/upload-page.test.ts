// The manager's upload page in real headless Chromium: three photos through two grayscale workers, live progress, results and the workers panel.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "../../agent/native/sharp";
import { FIXTURES, makeTempDir, spawnAgent, startRole } from "../helpers";
import { OPS } from "../../agent/protocol";
import { launchBrowser } from "./chromium";
import { describeWith } from "../_requires";

const PHOTOS = ["astronaut-480p.jpg", "chelsea-480p.jpg", "coffee-480p.jpg"];

describeWith("chromium")("upload page", () => {
  test("runs three photos on two workers and shows progress, results and workers", async () => {
    await using fleet = await startRole("manager", { port: 0, workerPort: 0 });
    const { port, worker_port } = fleet.stats() as unknown as { port: number; worker_port: number };
    await using w1 = await startRole("grayscale-worker", { manager: `127.0.0.1:${worker_port}`, concurrency: 1, id: "w1" });
    await using w2 = await startRole("grayscale-worker", { manager: `127.0.0.1:${worker_port}`, concurrency: 1, id: "w2" });
    void [w1, w2];
    const base = `http://127.0.0.1:${port}`;
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${base}/`);
    await page.locator("#workers tr:nth-child(3)").waitFor(); // header row + two workers
    await page.setInputFiles("#images", PHOTOS.map((name) => join(FIXTURES, name)));
    await page.selectOption("#op", "grayscale");
    await page.click("#submit");
    const cards = page.locator(".job");
    await page.locator(".job[data-progress='100'][data-state='done']").nth(2).waitFor();
    expect(await cards.count()).toBe(3);
    for (let index = 0; index < 3; index += 1) {
      const card = cards.nth(index);
      await card.locator("img.after[src]").waitFor({ state: "attached" });
      await card.locator("img.after").evaluate((img) => ((img as unknown as { complete: boolean }).complete ? null : new Promise((done) => img.addEventListener("load", done))));
      expect(await card.locator("img.after").evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      expect(await card.locator("img.before").evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(0);
      expect(await card.locator(".workers").innerText()).toMatch(/workers: w[12]/);
      const href = await card.locator("a.download").getAttribute("data-result");
      const response = await fetch(new URL(href!, base));
      expect(response.headers.get("content-type")).toBe("image/png");
      const meta = await sharp(new Uint8Array(await response.arrayBuffer())).metadata();
      expect({ format: meta.format, wide: meta.width! > 0 }).toEqual({ format: "png", wide: true });
    }
    // The op list and each field's bounds come from GET /ops (the task contract), not from the page.
    const options = await page.locator("#op option").evaluateAll((nodes) => nodes.map((node) => (node as unknown as { value: string }).value));
    const sigmaMax = async (op: string) => (await page.selectOption("#op", op), await page.locator("input[name=sigma]").getAttribute("max"));
    expect({ options, blur: await sigmaMax("blur"), sharpen: await sigmaMax("sharpen"), sigmaHiddenOnGrayscale: (await page.selectOption("#op", "grayscale"), await page.locator("input[name=sigma]").isHidden()) }).toEqual({
      options: [...OPS],
      blur: "50",
      sharpen: "10",
      sigmaHiddenOnGrayscale: true,
    });
    const names = (await page.locator("#workers td:first-child").allInnerTexts()).sort();
    expect(names).toEqual(["w1", "w2"]);
    await page.locator("#queue .figure", { hasText: "done" }).locator("b", { hasText: /^3$/ }).waitFor(); // refreshed once a second
  });

  test("a manager with a token: the page asks for it once, keeps it for the tab, and runs a job with it", async () => {
    const token = "page-token-9e2";
    await using fleet = await startRole("manager", { port: 0, workerPort: 0 }, { token });
    const { port, worker_port } = fleet.stats() as unknown as { port: number; worker_port: number };
    await using _ = await startRole("grayscale-worker", { manager: `127.0.0.1:${worker_port}`, concurrency: 1, id: "w1" }, { token });
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const prompts: string[] = [];
    page.on("dialog", (dialog) => {
      prompts.push(dialog.message());
      void dialog.accept(token);
    });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator("#workers tr:nth-child(2)").waitFor();
    await page.setInputFiles("#images", [join(FIXTURES, "chelsea-480p.jpg")]);
    await page.click("#submit");
    await page.locator(".job[data-state='done']").waitFor();
    await page.locator(".job img.after[src]").waitFor({ state: "attached" });
    const width = await page.locator(".job img.after").evaluate((img) => new Promise((done) => {
      const image = img as unknown as { complete: boolean; naturalWidth: number; addEventListener(type: string, listener: () => void): void };
      if (image.complete) done(image.naturalWidth);
      else image.addEventListener("load", () => done(image.naturalWidth));
    }));
    const kept = await page.evaluate(() => (globalThis as unknown as { sessionStorage: { getItem(key: string): string | null } }).sessionStorage.getItem("framefleet-manager-token"));
    expect({ prompts: prompts.length, kept, wide: (width as number) > 0 }).toEqual({ prompts: 1, kept: token, wide: true });
  });

  test("classify: three photos on a recognition worker; boxes drawn over each photo, top labels cat, cup, person, JSON download", async () => {
    await using fleet = await startRole("manager", { port: 0, workerPort: 0 });
    const { port, worker_port } = fleet.stats() as unknown as { port: number; worker_port: number };
    await using _ = await startRole("recognition-worker", { manager: `127.0.0.1:${worker_port}`, concurrency: 1, id: "r1" });
    const base = `http://127.0.0.1:${port}`;
    await using browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    await page.goto(`${base}/`);
    await page.locator("#workers tr:nth-child(2)").waitFor();
    await page.setInputFiles("#images", ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"].map((name) => join(FIXTURES, name)));
    await page.selectOption("#op", "classify");
    expect(await page.locator("input[name=minScore]").isVisible()).toBe(true);
    await page.click("#submit");
    await page.locator(".job[data-top]").nth(2).waitFor();
    const cards = page.locator(".job");
    const tops = await cards.evaluateAll((nodes) => nodes.map((node) => (node as unknown as { dataset: { top: string } }).dataset.top));
    expect(tops.sort()).toEqual(["cat", "cup", "person"]);
    for (let index = 0; index < 3; index += 1) {
      const card = cards.nth(index);
      expect(await card.locator("svg.detections rect").count()).toBeGreaterThan(0);
      expect(await card.locator(".labels").innerText()).toMatch(/^(cat|cup|person) 0\.\d\d/);
      const href = await card.locator("a.download").getAttribute("data-result");
      const result = (await (await fetch(new URL(href!, base))).json()) as { objects: unknown[]; top5: unknown[] };
      expect(result.objects.length).toBeGreaterThan(0);
    }
  });
  test("a manager run with --insecure-no-auth says so on its page; one with a token does not", async () => {
    await using open = spawnAgent(["--role", "manager", "--host", "0.0.0.0", "--port", "0", "--worker-port", "0", "--no-control", "--insecure-no-auth"]);
    const port = Number((await open.waitFor("manager_listening")).port);
    using dir = makeTempDir();
    writeFileSync(join(dir.path, "token"), "page-token-7f1\n", { mode: 0o600 });
    await using guarded = spawnAgent(["--role", "manager", "--host", "0.0.0.0", "--port", "0", "--worker-port", "0", "--no-control", "--token-file", join(dir.path, "token")]);
    const guardedPort = Number((await guarded.waitFor("manager_listening")).port);
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator("#insecure:not([hidden])").waitFor();
    const text = await page.locator("#insecure").innerText();
    const other = await browser.newPage();
    other.on("dialog", (dialog) => void dialog.accept("page-token-7f1"));
    await other.goto(`http://127.0.0.1:${guardedPort}/`);
    await other.locator("#queue .figure").first().waitFor();
    expect({ text, guardedHidden: await other.locator("#insecure").isHidden() }).toEqual({ text: expect.stringContaining("--insecure-no-auth"), guardedHidden: true });
  });
});
