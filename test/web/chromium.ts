// Headless Debian Chromium for the page tests (playwright-core), closed on dispose.
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
/** Flags for a sandboxed, offline machine run as root (no background networking). */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

/** Launches Chromium; `await using` closes it. */
export async function launchBrowser(): Promise<Browser & AsyncDisposable> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  return Object.assign(browser, { [Symbol.asyncDispose]: () => browser.close() });
}

/**
 * Opens the file at `path` in a new offline page of `browser` (every request but `file:`
 * aborted) and waits for its load; answers the page, every URL it asked for, and its page
 * errors and console errors as they come.
 */
export async function openOffline(browser: Browser, path: string, viewport = { width: 1280, height: 900 }): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const context = await browser.newContext({ viewport });
  await context.setOffline(true);
  const requests: string[] = [];
  context.on("request", (request) => requests.push(request.url()));
  await context.route("**/*", (route) => (route.request().url().startsWith("file:") ? route.continue() : route.abort()));
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (message) => void (message.type() === "error" && errors.push(message.text())));
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(pathToFileURL(path).href, { waitUntil: "load" });
  return { page, requests, errors };
}
