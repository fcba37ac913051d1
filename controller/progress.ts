// Terminal progress of a controller run: a bar per scenario on a TTY, one line per run otherwise.
import { SingleBar, Presets } from "cli-progress";
import type { RunResult } from "./results";
import type { Scenario } from "./scenarios";
import type { SweepPoint } from "./sweep";

/** Reports progress on `stream` (stderr): `begin` a scenario, `step` after each run, `end` it. */
export interface Progress {
  begin(scenario: Scenario): void;
  step(scenario: Scenario, point: SweepPoint, run: RunResult): void;
  end(): void;
}

/** One line describing a finished run, e.g. `case1-1to1 multiply=20 run 2/3: 812.4 images/s, ...` or its failure. */
export function describeRun(scenario: Scenario, point: SweepPoint, run: RunResult): string {
  const where = [scenario.name, point.label, `run ${run.repeat}/${scenario.repeat}`].filter(Boolean).join(" ");
  if (run.status === "failed") return `${where}: FAILED ${run.error}`;
  return `${where}: ${run.images_per_s} images/s, ${run.mbit_per_s} Mbit/s, sent ${run.sent}, saved ${run.saved}, lost ${run.lost}`;
}

/**
 * A progress reporter: on a TTY a bar per scenario (points x repeats) with failures
 * printed above it; elsewhere (CI, pipes) and for saturation searches a plain line per run.
 */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  let bar: SingleBar | undefined;
  let done = 0;
  return {
    begin(scenario) {
      const total = scenario.points.length * scenario.repeat;
      const seconds = (scenario.warmupMs + scenario.durationMs) / 1000;
      const { saturate } = scenario;
      const plan = saturate
        ? `saturation search of ${saturate.option} from ${saturate.start}, x${saturate.factor} then ${saturate.bisect} bisections, ${scenario.repeat} search(es) of ${seconds} s runs`
        : `${scenario.points.length} point(s) x ${scenario.repeat} x ${seconds} s`;
      stream.write(`${scenario.name}: ${scenario.description ?? ""} (${plan})\n`);
      done = 0;
      // A search's run count is known only at its end: a line per run instead of a bar.
      if (!stream.isTTY || saturate) return;
      bar = new SingleBar({ stream, format: "  {bar} {value}/{total} runs  {last}", hideCursor: true, clearOnComplete: true }, Presets.shades_classic);
      bar.start(total, 0, { last: "" });
    },
    step(scenario, point, run) {
      done += 1;
      const line = describeRun(scenario, point, run);
      if (!bar) return void stream.write(`  ${line}\n`);
      if (run.status === "failed") stream.write(`\n  ${line}\n`);
      bar.update(done, { last: line.slice(0, 70) });
    },
    end() {
      bar?.stop();
      bar = undefined;
    },
  };
}
