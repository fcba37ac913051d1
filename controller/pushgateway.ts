// `controller run --pushgateway URL`: each scenario's summary (mean and 95% CI bounds per figure and point) as gauges on a Prometheus Pushgateway.
import { Gauge, Registry } from "prom-client";
import { FleetError } from "../agent/errors";
import type { ScenarioResult } from "./results";

/** The Pushgateway job every run pushes under; each scenario is its own group (`scenario` in the grouping key). */
export const PUSH_JOB = "framefleet_controller";

/**
 * Checks `--pushgateway`: an http(s) URL with no query or fragment; answers it without a trailing slash.
 * @throws FleetError BAD_FLAG naming the value.
 */
export function readPushgatewayUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch (error) {
    throw new FleetError("BAD_FLAG", `--pushgateway "${value}" is not a URL (e.g. http://127.0.0.1:9091)`, 400, { cause: error });
  }
  if (!["http:", "https:"].includes(url.protocol) || url.search || url.hash)
    throw new FleetError("BAD_FLAG", `--pushgateway "${value}" must be an http:// or https:// URL without query or fragment`);
  return url.href.replace(/\/+$/, "");
}

/** A registry holding one scenario's summaries: per point (its sweep label, empty without a sweep) and figure, its mean and CI bounds. */
function toRegistry(entries: ScenarioResult[]): Registry {
  const registry = new Registry();
  const labelNames = ["scenario", "point", "figure"];
  const registers = [registry];
  const mean = new Gauge({ name: "framefleet_run_summary_mean", help: "Mean of a figure over a scenario point's repeats, in the unit its figure label names", labelNames, registers });
  const low = new Gauge({ name: "framefleet_run_summary_ci95_low", help: "Low bound of the 95% confidence interval of that mean (same unit)", labelNames, registers });
  const high = new Gauge({ name: "framefleet_run_summary_ci95_high", help: "High bound of the 95% confidence interval of that mean (same unit)", labelNames, registers });
  const repeats = new Gauge({ name: "framefleet_run_summary_repeats", help: "Repeats the summary of a figure counts (runs that did not fail)", labelNames, registers });
  for (const entry of entries)
    for (const [figure, summary] of Object.entries(entry.summary)) {
      const labels = { scenario: entry.name, point: entry.point ?? "", figure };
      mean.set(labels, summary.mean);
      low.set(labels, summary.ci95[0]);
      high.set(labels, summary.ci95[1]);
      repeats.set(labels, summary.n);
    }
  return registry;
}

/**
 * Replaces the group `{job="framefleet_controller", scenario=NAME}` on the Pushgateway at `url`
 * with the summaries of one scenario's points (`entries`, all of scenario NAME).
 * @throws FleetError PUSH_FAILED when the Pushgateway cannot be reached or answers other than 2xx.
 */
export async function pushScenarioSummary(url: string, scenario: string, entries: ScenarioResult[]): Promise<void> {
  const registry = toRegistry(entries);
  // The grouping value in base64url (Pushgateway's `@base64` form), so any scenario name travels in one path segment.
  const group = `${url}/metrics/job/${PUSH_JOB}/scenario@base64/${Buffer.from(scenario).toString("base64url") || "="}`;
  let answer: Response;
  try {
    answer = await fetch(group, { method: "PUT", headers: { "content-type": registry.contentType }, body: await registry.metrics(), signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    throw new FleetError("PUSH_FAILED", `--pushgateway ${url}: ${(error as Error).message}`, 502, { cause: error });
  }
  if (!answer.ok) throw new FleetError("PUSH_FAILED", `--pushgateway ${url} answered ${answer.status}: ${(await answer.text()).slice(0, 200)}`, 502);
}
