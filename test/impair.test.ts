// App-level impairment: seeded draws, cpu slow-down, token-bucket rate, jitter, checks, netem refusal, the API's 422s.
import { describe, expect, spyOn, test } from "bun:test";
import { CpuThrottle } from "../agent/impair/cpu";
import { IncarnationTotals } from "../agent/impair/merge";
import { findNetemProblem } from "../agent/impair/netem";
import { TokenBucket, parseRate } from "../agent/impair/rate";
import { createControlApp } from "../agent/control/app";
import { FleetError } from "../agent/errors";
import { NO_IMPAIRMENT, createImpairer } from "../agent/impair";
import { Supervisor } from "../agent/control/supervisor";
import { makeTempDir, quietContext } from "./helpers";

/** The FleetError `run` throws. */
function catchFleetError(run: () => unknown): FleetError {
  try {
    run();
  } catch (error) {
    if (error instanceof FleetError) return error;
    throw error;
  }
  throw new Error("no error thrown");
}

/** Runs `run` with Bun.sleep spied on (still sleeping); answers the waits (ms) asked for, in order. */
async function recordSleeps(run: () => Promise<unknown>): Promise<number[]> {
  const sleep = spyOn(Bun, "sleep");
  try {
    await run();
    return sleep.mock.calls.map(([ms]) => Number(ms));
  } finally {
    sleep.mockRestore();
  }
}

/** A fixed amount of arithmetic (CPU-bound, no allocation); returns a value so it is not optimized away. */
function burnCpu(rounds: number): number {
  let x = 1;
  for (let round = 0; round < rounds; round += 1) x = (x * 1103515245 + 12345) % 2147483647;
  return x;
}

describe("impairer", () => {
  test("seeded draws repeat; another seed draws otherwise; no seed picks one and reports it", () => {
    const draw = (seed?: number) => {
      const impair = createImpairer({ loss: 0.3, seed });
      return { drops: Array.from({ length: 2000 }, () => impair.drops()), seed: impair.describe()!.seed };
    };
    const [first, again, other, unseeded] = [draw(42), draw(42), draw(43), draw()];
    expect(first.drops).toEqual(again.drops);
    expect(first.drops).not.toEqual(other.drops);
    expect(first.seed).toBe(42);
    expect(draw(unseeded.seed).drops).toEqual(unseeded.drops);
    const lost = first.drops.filter(Boolean).length;
    expect(Math.abs(lost / 2000 - 0.3)).toBeLessThan(0.04);
  });

  test("no impairment, or one without abilities, is the no-op; describe() says what is active", () => {
    expect(createImpairer(undefined)).toBe(NO_IMPAIRMENT);
    expect(createImpairer({ seed: 1, mode: "app" })).toBe(NO_IMPAIRMENT);
    const report = createImpairer({ delay: "10ms", loss: 0.5, rate: "20Mbit", cpu: 0.5, fail: 0.1, seed: 9 }).describe();
    expect(report).toEqual({
      emulated: "app",
      seed: 9,
      delay_ms: 10,
      loss: 0.5,
      rate_bit_s: 20e6,
      cpu: 0.5,
      fail: 0.1,
      downtime_ms: 2000,
      dropped: 0,
      held: 0,
      throttled_ms: 0,
      idled_ms: 0,
    });
  });

  test("cpu = 0.25: after a CPU-bound unit the throttle idles 3x the CPU time it used (its own accounting, not the clock)", async () => {
    const impair = createImpairer({ cpu: 0.25 });
    let cpuMs = 0;
    const waits = await recordSleeps(() =>
      impair.runUnit(() => {
        const before = process.cpuUsage();
        burnCpu(2_000_000);
        const used = process.cpuUsage(before);
        cpuMs = (used.user + used.system) / 1000;
      }),
    );
    const idled = impair.describe()!.idled_ms as number;
    console.log(`cpu 0.25: unit used ${cpuMs.toFixed(1)} ms CPU, throttle idled ${idled.toFixed(1)} ms`);
    // The throttle charges the process's CPU time over the unit: the unit's own and any the
    // runtime's threads used meanwhile, never less. The idle it asked for is the one it counted.
    expect(idled / cpuMs).toBeGreaterThanOrEqual(3);
    expect(idled / cpuMs).toBeLessThan(3 * 1.5);
    expect(waits.map(Math.round)).toEqual([Math.round(idled)]);
  });

  test("cpu: concurrent units idle end to end on one timeline (a slower CPU does not idle in parallel)", async () => {
    const throttle = new CpuThrottle(0.25);
    const waits = await recordSleeps(() => Promise.all([throttle.afterWork(10), throttle.afterWork(10), throttle.afterWork(10)]));
    // 30 ms of idle each; the second waits for the first's, the third for both (less the µs the calls took).
    expect({ idled: throttle.idledMs, waits: waits.map(Math.round) }).toEqual({ idled: 90, waits: [30, 60, 90] });
  });

  test("rate: a message past the bucket's depth is told to wait for exactly its debt at the rate", async () => {
    const impair = createImpairer({ rate: "20Mbit" });
    // 20 Mbit/s = 2,500 bytes/ms; the bucket starts full with 50 ms of rate (125,000 bytes).
    const waits = await recordSleeps(async () => {
      await impair.throttle(100_000);
      await impair.throttle(150_000);
    });
    // The first fits the full bucket: no wait. The second is 125,000 bytes in debt, less the refill in the time between
    // the calls (a loaded box may take ms): at most 50 ms. The exact arithmetic is the next test's, on a driven clock.
    expect(waits.length).toBe(1);
    expect(waits[0]!).toBeLessThanOrEqual(50);
    expect(waits[0]!).toBeGreaterThan(0);
    expect(impair.describe()!.throttled_ms).toBe(Math.round(waits[0]!));
  });

  test("token bucket: starts full with 50 ms of rate, then paces; a message past the depth waits only for itself", () => {
    const bucket = new TokenBucket(8_000_000, 0); // 1 MB/s = 1000 bytes/ms, depth 50,000 bytes
    expect([bucket.reserve(50_000, 0), bucket.reserve(10_000, 0), bucket.reserve(10_000, 0)]).toEqual([0, 10, 20]);
    expect(bucket.reserve(0, 1000)).toBe(0);
    expect(bucket.reserve(200_000, 1000)).toBe(150);
    expect(bucket.reserve(200_000, 10_000)).toBe(0);
  });

  test("jitter: each wait is delay ± jitter, spread over that range", async () => {
    const impair = createImpairer({ delay: "30ms", jitter: "15ms", seed: 5 });
    const waits = await recordSleeps(() => Promise.all(Array.from({ length: 40 }, () => impair.beforeSend())));
    console.log(`delay 30ms ± 15ms: waits ${Math.min(...waits).toFixed(1)}..${Math.max(...waits).toFixed(1)} ms`);
    expect(waits.length).toBe(40);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(15);
    expect(Math.max(...waits)).toBeLessThanOrEqual(45);
    expect(Math.max(...waits) - Math.min(...waits)).toBeGreaterThan(15);
  });

  test("rates parse in SI bits per second; bytes and nonsense are refused", () => {
    expect(["100Mbit", "20Mbit", "1Gbit", "500kbit", "20mbit/s", "1.5Mbit", "64bit"].map((rate) => parseRate(rate, "rate"))).toEqual([
      100e6, 20e6, 1e9, 500e3, 20e6, 1.5e6, 64,
    ]);
    for (const bad of ["20MB", "20Mbps", "fast", "0Mbit", "-1Mbit", ""]) expect(catchFleetError(() => parseRate(bad, "impair.rate")).code).toBe("BAD_RATE");
  });

  test("every bad field is named at once", () => {
    const error = catchFleetError(() => createImpairer({ loss: 2, delay: "soon", rate: "fast", bogus: 1 } as never));
    expect(error.code).toBe("BAD_IMPAIRMENT");
    expect(error.status).toBe(422);
    for (const field of ["impair.loss", "impair.delay", "impair.rate", "impair.bogus"]) expect(error.message).toContain(field);
  });

  test('mode "netem" is refused with the reason: not root, no netem in the kernel, or app-only build', () => {
    const refusal = catchFleetError(() => createImpairer({ mode: "netem", delay: "10ms" }));
    expect([refusal.code, refusal.status]).toEqual(["NETEM_UNAVAILABLE", 422]);
    expect(refusal.message).toContain('use mode "app"');
    const host = (uid: number, exitCode: number, stderr: string) => ({ uid, run: () => ({ exitCode, stderr }) });
    expect(findNetemProblem(host(1000, 0, ""))).toContain("needs root");
    expect(findNetemProblem(host(0, 2, 'Error: Specified qdisc kind is unknown.'))).toContain("no netem qdisc (sch_netem)");
    expect(findNetemProblem(host(0, 1, "unshare: unshare failed: Operation not permitted"))).toContain("Operation not permitted");
    expect(findNetemProblem(host(0, 0, ""))).toBeUndefined();
  });
});

describe("figures over restarts", () => {
  test("counters and errors add up, rates are weighted by time with downtime at 0, series merge by second", () => {
    const totals = new IncarnationTotals();
    const incarnation = (sent: number, elapsed: number, second: number) => ({
      role: "sender",
      sent,
      ok: sent - 1,
      failed: 1,
      images_per_s: (sent - 1) / elapsed,
      elapsed_s: elapsed,
      in_flight: 3,
      errors: { TIMEOUT: 1 },
      latency_ms: { p50: second, p99: second },
      series: [[second, sent - 1, 100]],
    });
    totals.add(incarnation(11, 2, 100));
    const combined = totals.combine(incarnation(21, 4, 103), 2);
    expect(combined).toEqual({
      role: "sender",
      sent: 32,
      ok: 30,
      failed: 2,
      images_per_s: 3.75,
      elapsed_s: 8,
      in_flight: 3,
      errors: { TIMEOUT: 2 },
      latency_ms: { p50: 103, p99: 103 },
      series: [
        [100, 10, 100],
        [103, 20, 100],
      ],
    });
  });
  test("a manager's job counters add up over restarts; its gauges are the current incarnation's", () => {
    const totals = new IncarnationTotals();
    const incarnation = (done: number, running: number) => ({ role: "manager", jobs_accepted: done + running, jobs_done: done, jobs_failed: 1, tasks_retried: 2, tasks_discarded: 1, jobs_running: running, elapsed_s: 5 });
    totals.add(incarnation(60, 4));
    const combined = totals.combine(incarnation(25, 3), 0);
    expect(combined).toMatchObject({ jobs_accepted: 92, jobs_done: 85, jobs_failed: 2, tasks_retried: 4, tasks_discarded: 2, jobs_running: 3 });
  });
});

describe("control API", () => {
  test("a bad impair field answers 422 naming it", async () => {
    using dir = makeTempDir();
    const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, dataDir: dir.path });
    const app = await createControlApp({ agent: "test", version: "0.0.0", supervisor });
    const post = async (impair: unknown) => {
      const response = await app.handle(
        new Request("http://localhost/v1/roles", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ role: "receiver", options: { port: 0, out: "images" }, impair }),
        }),
      );
      const body = (await response.json()) as { error: string; message: string };
      return [response.status, body.error, body.message] as const;
    };
    const answers = [await post({ loss: 2 }), await post({ delay: "soon", rate: "fast" }), await post({ mode: "netem" })];
    expect(answers.map(([status, code]) => [status, code])).toEqual([
      [422, "BAD_REQUEST"],
      [422, "BAD_IMPAIRMENT"],
      [422, "NETEM_UNAVAILABLE"],
    ]);
    expect(answers[0]![2]).toContain("impair/loss");
    expect(answers[1]![2]).toContain("impair.delay");
    expect(answers[1]![2]).toContain("impair.rate");
    expect(supervisor.list()).toEqual([]);
  });
});
