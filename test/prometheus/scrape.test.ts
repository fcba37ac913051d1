// A real Prometheus scrapes an agent (sender to receiver, manager with workers, streamer with viewers) with its bearer token: rates, quantiles and the dashboard's queries.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DURATIONS } from "../../agent/control/prometheus";
import { checkRole } from "../../agent/wire";
import { describeWith } from "../_requires";
import { makeTempDir, REPO, waitUntil } from "../helpers";
import { startFleet, writeFakeSysfs } from "./_fleet";
import { queryPrometheus, startPrometheus, type PromSample } from "./servers";

const TOKEN = "scrape-test-token";
const SAVE_BUCKETS = DURATIONS.receiver_save.buckets;

/** The index of the histogram bucket `seconds` falls in (upper bounds inclusive; past the last = +Inf). */
function bucketOf(seconds: number): number {
  const index = SAVE_BUCKETS.findIndex((bound) => seconds <= bound);
  return index === -1 ? SAVE_BUCKETS.length : index;
}

/** Every PromQL expression of the dashboard, with Grafana's variables as this test's Prometheus needs them (all agents; 5 s windows at its 1 s scrapes). */
function readDashboardQueries(): string[] {
  const dashboard = JSON.parse(readFileSync(join(REPO, "docs", "grafana", "framefleet.json"), "utf8")) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => panel.targets ?? []).map((target) => target.expr.replaceAll("$__rate_interval", "5s").replaceAll("$agent", ".*"));
}

/** The first value of a query's answer as a number (NaN when empty). */
const firstValue = (samples: PromSample[]): number => Number(samples[0]?.value[1] ?? Number.NaN);

describeWith("prometheus")("a real Prometheus scraping an agent with its bearer token", () => {
  test("saves/s within 10% of /stats, save p99 within one bucket of /stats, and every dashboard query answers data", async () => {
    using sys = makeTempDir();
    writeFakeSysfs(sys.path);
    await using fleet = await startFleet({ boardRoot: sys.path, token: TOKEN });
    const target = fleet.listen();
    // Jobs keep coming while Prometheus watches, so the manager's and workers' rates and quantiles have data.
    let posting = true;
    const jobs = (async () => {
      // Paced (4 jobs/s at most), so the jobs do not starve the sender whose rate is measured.
      while (posting) await Promise.all([fleet.postJobs(1), Bun.sleep(250)]);
    })();
    await using _jobs = { [Symbol.asyncDispose]: async () => void ((posting = false), await jobs) };
    await using prometheus = await startPrometheus(target, TOKEN);
    const query = (expr: string, time?: number) => queryPrometheus(prometheus.base, expr, time);
    await waitUntil("ten scrapes with the token", () => query('count_over_time(up{job="framefleet"}[1m])'), (samples) => firstValue(samples) >= 10);
    const up = await query('up{job="framefleet"}');

    const receiverStats = () => checkRole(fleet.supervisor.get(fleet.ids.receiver), "receiver").stats;
    // rate_5s counts the 5 complete seconds before now; Prometheus's [5s] window ending at that second matches it.
    const stats = receiverStats();
    const second = Math.floor(Date.now() / 1000);
    const saved = `framefleet_receiver_images_saved_total{id="${fleet.ids.receiver}"}`;
    await waitUntil("a scrape after that second", () => query(`timestamp(${saved})`), (samples) => firstValue(samples) > second + 0.5);
    const rate = firstValue(await query(`rate(${saved}[5s])`, second));

    const quantile = firstValue(await query(`histogram_quantile(0.99, sum by (le) (framefleet_receiver_save_latency_seconds_bucket{id="${fleet.ids.receiver}"}))`));
    const p99 = receiverStats().latency_ms.p99 / 1000;

    const dashboard = await Promise.all(readDashboardQueries().map(async (expr) => [expr, (await query(expr)).map((sample) => sample.value[1])] as const));
    console.log(JSON.stringify({ rate, rate_5s: stats.rate_5s, quantile, p99, buckets: [bucketOf(quantile), bucketOf(p99)] }));
    expect({
      up: up.map((sample) => [sample.metric.instance, sample.value[1]]),
      rateWithin10Percent: Math.abs(rate - stats.rate_5s) <= 0.1 * stats.rate_5s,
      ratePositive: stats.rate_5s > 0,
      p99WithinOneBucket: Math.abs(bucketOf(quantile) - bucketOf(p99)) <= 1,
      emptyOrNaN: dashboard.filter(([, values]) => !values.some((value) => Number.isFinite(Number(value)))).map(([expr]) => expr),
    }).toEqual({ up: [[target, "1"]], rateWithin10Percent: true, ratePositive: true, p99WithinOneBucket: true, emptyOrNaN: [] });
  });
});
