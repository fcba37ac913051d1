// The agent status page in real headless Chromium (playwright-core): token prompt, roles and live figures.
import { describe, expect, test } from "bun:test";
import { makeTempDir, readPhotos, spawnAgent } from "../helpers";
import { launchBrowser } from "./chromium";
import { describeWith } from "../_requires";


describeWith("chromium")("status page", () => {
  test("shows the receiver and its figures as images arrive", async () => {
    using dir = makeTempDir();
    await using agent = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--role", "receiver", "--port", "0", "--out", dir.path]);
    const controlPort = Number((await agent.waitFor("control_listening")).port);
    const uploadPort = Number((await agent.waitFor("receiver_listening")).port);
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${controlPort}/`);
    await page.locator("section.role[data-role=receiver]").waitFor();
    const photo = readPhotos().get("coffee-480p.jpg")!;
    for (let index = 0; index < 3; index += 1)
      await fetch(`http://127.0.0.1:${uploadPort}/upload`, { method: "POST", body: photo, headers: { "content-type": "image/jpeg", "x-topic": "kitchen" } });
    await page.locator("section.role td", { hasText: "kitchen" }).waitFor();
    const text = await page.locator("section.role").innerText();
    expect(text).toContain("receiver");
    expect(text).toContain("running");
    expect(await page.locator("section.role tr:has(td:text('kitchen')) td").allInnerTexts()).toEqual(["kitchen", "3", "3", expect.any(String)]);
  });

  test("with a token set, the page asks for it and then loads", async () => {
    using dir = makeTempDir();
    await Bun.write(`${dir.path}/token`, "page-token\n");
    await using guarded = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--token-file", `${dir.path}/token`]);
    const port = Number((await guarded.waitFor("control_listening")).port);
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator("#token-form:not([hidden])").waitFor();
    await page.fill("#token", "page-token");
    await page.click("#token-form button");
    await page.locator("#no-roles:not([hidden])").waitFor();
    expect(await page.locator("#health").innerText()).toContain("cores");
    // The box's telemetry once the first second's sample is in (this VM's CPU at least).
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(selector: string): { textContent: string } } }).document.querySelector("#health").textContent.includes("% busy"));
    // Kept for the tab (sessionStorage): a reload does not ask again; a new tab's storage is empty.
    await page.reload();
    await page.locator("#no-roles:not([hidden])").waitFor();
    expect({
      form: await page.locator("#token-form").isHidden(),
      session: await page.evaluate(() => sessionStorage.length),
      local: await page.evaluate(() => localStorage.length),
      insecure: await page.locator("#insecure").isHidden(),
    }).toEqual({ form: true, session: 1, local: 0, insecure: true });
  });

  test("an agent run with --insecure-no-auth says so on its page", async () => {
    await using open = spawnAgent(["--control-port", "0", "--host", "0.0.0.0", "--insecure-no-auth"]);
    const port = Number((await open.waitFor("control_listening")).port);
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.locator("#insecure:not([hidden])").waitFor();
    expect(await page.locator("#insecure").innerText()).toContain("--insecure-no-auth");
  });
});
