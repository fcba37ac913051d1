// Impairment on a sender (and a receiver) over loopback: delay shifts latency, loss times out, fail restarts.
import { describe, expect, test } from "bun:test";
// @ts-expect-error jstat ships no type declarations; the one call used here is typed below.
import { jStat as untypedJStat } from "jstat";
import { checkOptions } from "../../agent/control/options";
import { findRole } from "../../agent/roles";
import { createImpairer } from "../../agent/impair";
import type { RoleHandle } from "../../agent/roles/types";
import { Supervisor } from "../../agent/control/supervisor";
import { checkRole, type Impairment } from "../../agent/wire";
import { makeTempDir, quietContext, startRole, waitUntil } from "../helpers";

const jStat = untypedJStat as { binomial: { cdf(k: number, n: number, p: number): number } };

/** Starts a role in process with `impair`, as the supervisor would (without `fail`); stopped on dispose. */
async function startImpaired(name: string, options: Record<string, unknown>, impair: Impairment): Promise<RoleHandle & AsyncDisposable> {
  const role = findRole(name);
  const handle = await role.start(checkOptions(role.options, options, "api"), { ...quietContext, impair: createImpairer(impair) });
  return { ...handle, [Symbol.asyncDispose]: () => handle.stop() };
}

/**
 * The exact two-sided 99% interval of a Binomial(n, p) count: the 0.5% and 99.5% quantiles,
 * found by walking jStat.binomial.cdf.
 */
function binomialInterval99(n: number, p: number): [number, number] {
  let low = 0;
  while (jStat.binomial.cdf(low, n, p) < 0.005) low += 1;
  let high = low;
  while (jStat.binomial.cdf(high, n, p) < 0.995) high += 1;
  return [low, high];
}

const url = (receiver: RoleHandle) => `http://127.0.0.1:${receiver.stats().port}/upload`;
const sending = { source: "synthetic:64x48", multiply: 4, fps: 50, concurrency: 32 };

describe("impaired sender", () => {
  test('delay = "100ms" is inside the latency clock: every request waits it, so even the p50 is at least 100 ms', async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    await using delayed = await startImpaired("sender", { ...sending, target: [url(receiver)], duration: "800ms" }, { delay: "100ms" });
    await delayed.ended;
    const stats = delayed.stats();
    console.log(`delay 100ms: p50 ${(stats.latency_ms as { p50: number }).p50} ms`);
    // A lower bound only: a loaded machine can add to the latency, never take the delay away.
    expect((stats.latency_ms as { p50: number }).p50).toBeGreaterThanOrEqual(100);
    expect(stats).toMatchObject({ failed: 0, impairment: { emulated: "app", delay_ms: 100 } });
    expect(stats.ok as number).toBeGreaterThan(0);
  });

  test("loss = 0.1 with a 200 ms timeout: about 10% time out (exact binomial 99% interval)", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    // Runs until 300 requests have ended (a count, not a time), then stops.
    await using sender = await startImpaired("sender", { ...sending, target: [url(receiver)], duration: "0", timeout: "200ms" }, { loss: 0.1, seed: 11 });
    await waitUntil("300 requests ended", () => sender.stats(), (stats) => (stats.ok as number) + (stats.failed as number) >= 300);
    await sender.stop();
    await receiver.stop();
    const stats = sender.stats();
    const sent = stats.sent as number;
    const timedOut = (stats.errors as Record<string, number>).TIMEOUT ?? 0;
    const [low, high] = binomialInterval99(sent, 0.1);
    console.log(`loss 0.1: ${timedOut} of ${sent} timed out (${((100 * timedOut) / sent).toFixed(1)}%), 99% interval ${low}..${high}`);
    expect(sent).toBeGreaterThanOrEqual(300);
    expect(timedOut).toBeGreaterThanOrEqual(low);
    expect(timedOut).toBeLessThanOrEqual(high);
    expect({ failed: stats.failed, ok: stats.ok, saved: receiver.stats().saved }).toEqual({ failed: timedOut, ok: sent - timedOut, saved: sent - timedOut });
  });

  test("a receiver's loss holds requests unanswered: its clients time out, and stop() releases every held one", async () => {
    using dir = makeTempDir();
    await using receiver = await startImpaired("receiver", { port: 0, out: dir.path }, { loss: 0.1, seed: 12 });
    await using sender = await startRole("sender", { ...sending, target: [url(receiver)], duration: "1s", timeout: "200ms" });
    await sender.ended;
    await receiver.stop();
    const stats = sender.stats();
    const impairment = receiver.stats().impairment as { dropped: number; held: number };
    const timedOut = (stats.errors as Record<string, number>).TIMEOUT ?? 0;
    console.log(`receiver loss 0.1: ${impairment.dropped} dropped, ${stats.unreachable} attempts timed out (retried), ${timedOut} of ${stats.sent} failed at the end`);
    // Every dropped request is one attempt that timed out, retried (at-least-once) until sending ends. A
    // loaded machine may time out a slow answer too (never fewer timeouts than drops), so it is a bound.
    expect({ held: impairment.held, dropped: impairment.dropped > 0, timeoutsCoverDrops: (stats.unreachable as number) >= impairment.dropped }).toEqual({ held: 0, dropped: true, timeoutsCoverDrops: true });
    expect({ saved: receiver.stats().saved, failed: stats.failed }).toEqual({ saved: stats.ok, failed: timedOut });
  });
});

describe("fail impairment", () => {
  /** A supervisor whose roles are all stopped on dispose. */
  function makeSupervisor(dataDir: string): Supervisor & AsyncDisposable {
    const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir });
    return Object.assign(supervisor, { [Symbol.asyncDispose]: async () => void (await supervisor.stopAll()) });
  }

  test("fail = 0.2 (seeded) restarts a sender; its figures add up over incarnations", async () => {
    using dir = makeTempDir();
    await using supervisor = makeSupervisor(dir.path);
    const receiver = await supervisor.start("receiver", { port: 0, out: "images" }, "api");
    const target = `http://127.0.0.1:${receiver.stats.port}/upload`;
    const sender = await supervisor.start("sender", { ...sending, target: [target], duration: "3s" }, "api", { fail: 0.2, downtime: "300ms", seed: 3 });
    await supervisor.ended(sender.id);
    const sent = checkRole(await supervisor.stop(sender.id), "sender").stats;
    const saved = checkRole(await supervisor.stop(receiver.id), "receiver").stats;
    console.log(`fail 0.2: sender restarts ${sent.restarts}, downtime ${sent.downtime_s} s, sent ${sent.sent}, ok ${sent.ok}, saved ${saved.saved}, elapsed ${sent.elapsed_s} s`);
    expect(sent.restarts as number).toBeGreaterThanOrEqual(1);
    expect(sent.downtime_s as number).toBeGreaterThanOrEqual(0.3 * (sent.restarts as number));
    expect({ ok: sent.ok, failed: sent.failed, saved: saved.saved }).toEqual({ ok: sent.sent, failed: 0, saved: sent.sent });
  });

  test("a receiver that fails comes back on the same port; every 202 is saved", async () => {
    using dir = makeTempDir();
    await using supervisor = makeSupervisor(dir.path);
    const receiver = await supervisor.start("receiver", { port: 0, out: "images" }, "api", { fail: 0.3, downtime: "300ms", seed: 4 });
    const target = `http://127.0.0.1:${receiver.stats.port}/upload`;
    const sender = await supervisor.start("sender", { ...sending, target: [target], duration: "2500ms", timeout: "1s" }, "api");
    await supervisor.ended(sender.id);
    const sent = checkRole(await supervisor.stop(sender.id), "sender").stats;
    const final = checkRole(await supervisor.stop(receiver.id), "receiver");
    const saved = final.stats;
    console.log(`receiver fail 0.3: restarts ${saved.restarts}, saved ${saved.saved} = ok ${sent.ok}, sender failed ${sent.failed} (${JSON.stringify(sent.errors)})`);
    expect(saved.restarts as number).toBeGreaterThanOrEqual(1);
    expect({ port: saved.port, saved: saved.saved, received: saved.received, state: final.state }).toEqual({
      port: receiver.stats.port,
      saved: sent.ok,
      received: sent.ok,
      state: "ended",
    });
    expect((sent.ok as number) + (sent.failed as number)).toBe(sent.sent as number);
  });
});
