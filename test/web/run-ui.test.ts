// The controller's --ui page of a short local run in headless Chromium: progress, figures that change, the agents.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { FIXTURES, REPO, makeTempDir } from "../helpers";
import { launchBrowser } from "./chromium";
import { describeWith } from "../_requires";

const SCENARIOS = `duration = "3s"
[agents]
pi1 = "http://pi1.local:7700"
pi2 = "http://pi2.local:7700"
worker1 = "http://worker1.local:7700"
[[scenario]]
name = "tiny-ui"
description = "2 senders to 1 receiver"
  [[scenario.roles]]
  role = "receiver"
  agents = ["worker1"]
  [[scenario.roles]]
  role = "sender"
  agents = ["pi1", "pi2"]
  options = { source = "files:${FIXTURES}", multiply = 2, fps = 20 }
`;

/** Starts `controller run` with `--ui 0`; resolves with the page's address it prints; killed on dispose. */
async function startController(cwd: string) {
  const child = Bun.spawn([process.execPath, join(REPO, "controller", "main.ts"), "run", "scenarios.toml", "--local", "--repeat", "2", "--out", join(cwd, "out"), "--ui", "0"], {
    cwd,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  let text = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  for (;;) {
    const match = /live page of this run at (\S+)/.exec(text);
    if (match) {
      reader.releaseLock();
      void child.stderr.pipeTo(new WritableStream());
      return { url: match[1]!, exited: child.exited, [Symbol.dispose]: () => child.kill("SIGKILL") };
    }
    const { value, done } = await reader.read();
    if (done) throw new Error(`the controller ended before serving its page: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
}

describeWith("chromium")("controller run --ui", () => {
  test("the page shows progress, figures that change as runs go, and every agent", async () => {
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "scenarios.toml"), SCENARIOS);
    // The browser is up before the run starts: a cold Chromium start must not eat the first repeat.
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    using controller = await startController(dir.path);
    await page.goto(controller.url);

    await page.locator("#where", { hasText: /tiny-ui · repeat [12] of 2/ }).waitFor();
    await page.waitForFunction(`Number(document.getElementById("live-rate").textContent.replaceAll(",", "")) > 0`);
    await page.locator(".agent[data-agent=worker1] td", { hasText: /^receiver-\d+$/ }).waitFor();
    const agents = await page.locator(".agent").evaluateAll((nodes) => nodes.map((node) => `${node.getAttribute("data-agent")} ${node.querySelector(".state")?.textContent}`));
    expect(agents.sort()).toEqual(["pi1 up", "pi2 up", "worker1 up"]);

    await page.locator("#runs-done", { hasText: "1 of 2 runs done" }).waitFor();
    await page.locator("#where", { hasText: "repeat 2 of 2" }).waitFor();
    const firstRun = await page.locator("#runs tr").nth(1).innerText();
    expect(firstRun).toMatch(/^tiny-ui\t1\t[\d.]+\t/);

    await page.locator("#banner", { hasText: "run finished" }).waitFor();
    expect(await page.locator("#runs-done").innerText()).toBe("2 of 2 runs done");
    expect(await page.locator("#runs tr").count()).toBe(3);
    expect(await controller.exited).toBe(0);
  });
});
