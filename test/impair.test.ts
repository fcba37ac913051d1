// App-level impairment: seeded draws, cpu slow-down, token-bucket rate, jitter, checks, netem refusal, the API's 422s.
import { describe, expect, test } from "bun:test";
import { IncarnationTotals } from "../agent/_impair-merge";
import { findNetemProblem } from "../agent/_impair-netem";
import { TokenBucket, parseRate } from "../agent/_impair-rate";
import { createControlApp } from "../agent/control";
import { FleetError } from "../agent/errors";
import { NO_IMPAIRMENT, createImpairer } from "../agent/impair";
import { Supervisor } from "../agent/supervisor";
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

/** A fixed amount of arithmetic (CPU-bound, no allocation); returns a value so it is not optimized away. */
function burnCpu(rounds: number): number {
  let x = 1;
  for (let round = 0; round < rounds; round += 1) x = (x * 1103515245 + 12345) % 2147483647;
  return x;
}

/** Rounds of burnCpu that take about `ms` here, measured after a warm-up so the JIT has settled. */
function calibrateBurn(ms: number): number {
  let rounds = 100_000;
  for (;;) {
    const began = performance.now();
    burnCpu(rounds);
    const took = performance.now() - began;
    if (took >= 20) return Math.round((rounds * ms) / took);
    rounds *= 2;
  }
}

/** Wall time (ms) of `run`. */
async function time(run: () => unknown): Promise<number> {
  const began = performance.now();
  await run();
  return performance.now() - began;
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

  test("cpu = 0.25 makes a CPU-bound unit of ~50 ms take 4x as long (±15%)", async () => {
    const impair = createImpairer({ cpu: 0.25 });
    const rounds = calibrateBurn(50);
    const factors: string[] = [];
    const measured: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      let cpuMs = 0;
      let busyMs = 0;
      const total = await time(() =>
        impair.runUnit(() => {
          const cpuBefore = process.cpuUsage();
          busyMs = performance.now();
          burnCpu(rounds);
          busyMs = performance.now() - busyMs;
          const used = process.cpuUsage(cpuBefore);
          cpuMs = (used.user + used.system) / 1000;
        }),
      );
      // The box's two cores are shared with other test runs: the time they took the core from
      // the busy loop (its wall time minus its CPU time) is not this unit's and is taken out.
      const stolen = Math.max(busyMs - cpuMs, 0);
      measured.push((total - stolen) / cpuMs);
      factors.push(`${total.toFixed(0)} ms for ${cpuMs.toFixed(0)} ms CPU (${stolen.toFixed(0)} ms stolen)`);
    }
    const factor = measured.sort((a, b) => a - b)[2]!;
    console.log(`cpu 0.25: factor ${factor.toFixed(2)}; ${factors.join(", ")}`);
    expect(factor).toBeGreaterThan(4 * 0.85);
    expect(factor).toBeLessThan(4 * 1.15);
  });

  test("rate: 2.5 MB at 20Mbit takes ~1 s (±15%)", async () => {
    const impair = createImpairer({ rate: "20Mbit" });
    const elapsed = await time(async () => {
      for (let message = 0; message < 100; message += 1) await impair.throttle(25_000);
    });
    console.log(`rate 20Mbit: 2.5 MB in ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeGreaterThan(850);
    expect(elapsed).toBeLessThan(1150);
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
    const waits = await Promise.all(Array.from({ length: 40 }, () => time(() => impair.beforeSend())));
    console.log(`delay 30ms ± 15ms: waits ${Math.min(...waits).toFixed(1)}..${Math.max(...waits).toFixed(1)} ms`);
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(14);
    expect(Math.max(...waits)).toBeLessThan(45 + 25);
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
