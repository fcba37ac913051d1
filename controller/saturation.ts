// Saturation search ([scenario.saturate]): raise the offered load geometrically until a limit breaks, bisect to the maximum sustainable rate.
import { round2 } from "../agent/metrics";
import { toFlatFigures, type RunResult } from "./results";
import { summarize, type Summary } from "./stats";

/** A `[scenario.saturate]` table, checked, with its defaults applied. */
export interface Saturation {
  /** The sweep key that sets the offered load (`fps`, `sender.fps`, `multiply`, ...). */
  option: string;
  /** The first rate tried, in the option's unit. */
  start: number;
  /** Figures of a run (results.json names: `latency_p99_ms`, `lost_pct`, ...) and the most each may read for the run to hold. */
  limit: Record<string, number>;
  /** The geometric step while raising (default 2). */
  factor: number;
  /** Bisection steps between the last rate that held and the first that broke (default 3). */
  bisect: number;
  /** The highest rate tried: the role option's own maximum, else start x factor^8 (default). */
  max: number;
  /** Rates are whole numbers (the option is an integer). */
  integer: boolean;
  /**
   * Share of each limit kept free while searching (default 0.2): a step holds only where every
   * figure is within `limit x (1 - headroom)`. The knee is noisy (near it a rate holds one run
   * and breaks the next: seen with skipped_pct at 4% then 6.8% against 5), so the rate reported
   * as sustainable keeps room to hold its limits again on a re-run.
   */
  headroom: number;
}

/**
 * The limit every search of a scenario with senders adds unless `limit` names it: the senders offered the load, at most
 * 5% of the frames due at the rate skipped (a sender too slow for its rate sends less and
 * would otherwise hold every latency and loss limit while it under-delivers).
 */
export const OFFERED_LIMIT = { skipped_pct: 5 } as const;

const KEYS = ["option", "start", "limit", "factor", "bisect", "max", "headroom"];
const FIGURE = /^[a-z][a-z0-9_]*$/;
/** Share of each limit a search keeps free by default (see `Saturation.headroom`). */
const DEFAULT_HEADROOM = 0.2;

/** Raising steps when no `max` is given and the option sets none: start x factor^8 (5 fps -> 1280). */
const DEFAULT_RAISES = 8;

/** What a scenario's roles say of the option: whether it takes whole numbers, its largest value (undefined: none), and whether senders offer the load. */
export interface OptionShape {
  integer: boolean;
  maximum?: number;
  /** The scenario has senders, whose runs report `skipped_pct` (`OFFERED_LIMIT` applies); a streamer scenario has none. */
  senders: boolean;
}

/**
 * Parses a `[scenario.saturate]` table: `option` (a sweep key the scenario's roles have, with
 * its `shape`), `start` > 0, `limit` a non-empty table `FIGURE = MAX` (numbers >= 0),
 * optional `factor` (> 1, <= 10), `bisect` (0-10), `max` (>= start), `headroom` (0-0.9,
 * default 0.2). Answers the saturation,
 * or one problem per fault (`saturate.KEY: ...`) so a config error lists them all.
 */
export function parseSaturation(table: Record<string, unknown>, shape: OptionShape | undefined): { saturation?: Saturation; problems: string[] } {
  const problems = Object.keys(table).filter((key) => !KEYS.includes(key)).map((key) => `saturate.${key}: unknown key (have ${KEYS.join(", ")})`);
  const { option, start, limit, factor = 2, bisect = 3, max, headroom = DEFAULT_HEADROOM } = table;
  if (typeof option !== "string" || option === "") problems.push(`saturate.option: give the option that sets the load, e.g. "fps"`);
  else if (!shape) problems.push(`saturate.option: "${option}" is no numeric option of this scenario's roles (use OPTION or ROLE.OPTION, e.g. "fps")`);
  const isPositive = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value) && value > 0;
  if (!isPositive(start)) problems.push(`saturate.start: ${JSON.stringify(start)} is not a number > 0`);
  if (typeof factor !== "number" || !(factor > 1 && factor <= 10)) problems.push(`saturate.factor: ${JSON.stringify(factor)} is not a number > 1 and <= 10`);
  if (!Number.isInteger(bisect) || (bisect as number) < 0 || (bisect as number) > 10) problems.push(`saturate.bisect: ${JSON.stringify(bisect)} is not a whole number 0-10`);
  if (max !== undefined && (!isPositive(max) || (isPositive(start) && max < start))) problems.push(`saturate.max: ${JSON.stringify(max)} is not a number >= start`);
  if (shape?.maximum !== undefined && isPositive(max) && max > shape.maximum) problems.push(`saturate.max: ${max} is over the option's maximum ${shape.maximum}`);
  if (typeof headroom !== "number" || !(headroom >= 0 && headroom <= 0.9)) problems.push(`saturate.headroom: ${JSON.stringify(headroom)} is not a number 0-0.9`);
  problems.push(...checkLimit(limit));
  if (problems.length > 0 || !shape) return { problems };
  const ceiling = (max as number | undefined) ?? Math.min((start as number) * (factor as number) ** DEFAULT_RAISES, shape.maximum ?? Infinity);
  return {
    saturation: { option: option as string, start: start as number, limit: { ...(shape.senders ? OFFERED_LIMIT : {}), ...(limit as Record<string, number>) }, factor: factor as number, bisect: bisect as number, max: ceiling, integer: shape.integer, headroom: headroom as number },
    problems,
  };
}

function checkLimit(limit: unknown): string[] {
  if (limit === null || typeof limit !== "object" || Array.isArray(limit) || Object.keys(limit).length === 0)
    return [`saturate.limit: give a table of FIGURE = MAX, e.g. { latency_p99_ms = 100, lost_pct = 0.5 }`];
  return Object.entries(limit).flatMap(([key, value]) => [
    ...(FIGURE.test(key) ? [] : [`saturate.limit."${key}": not a figure name of results.json (e.g. latency_p99_ms)`]),
    ...(typeof value === "number" && Number.isFinite(value) && value >= 0 ? [] : [`saturate.limit.${key}: ${JSON.stringify(value)} is not a number >= 0`]),
  ]);
}

/** One run of a search: the rate, whether it held, the limits it broke (with what they read), and its flat figures. */
export interface SaturationStep {
  repeat: number;
  rate: number;
  held: boolean;
  /** `latency_p99_ms 140.2 > 100`, `no figure lost_pct`, `run failed: ...`; empty when it held. */
  broke: string[];
  figures: Record<string, number>;
  /** True for a confirmation run: a rate that held run a second time. */
  confirm?: boolean;
}

/** What results.json carries for a saturated scenario (`saturation`). */
export interface SaturationResult {
  option: string;
  /** The limits judged, `OFFERED_LIMIT` included. */
  limit: Record<string, number>;
  /** The maximum sustainable rate over the repeats that found one (mean, std, 95% CI, n); absent when none did. */
  max_rate?: Summary;
  /** Each repeat's maximum sustainable rate; null when even `start` broke. */
  per_repeat: (number | null)[];
  steps: SaturationStep[];
  /** Said when a repeat held up to `max` (the true maximum is higher) or broke at `start`. */
  notes: string[];
}

/** Which limits `run` broke, each with what it read; a failed run breaks with its error. */
export function judgeLimits(limit: Record<string, number>, run: RunResult): string[] {
  if (run.status === "failed") return [`run failed: ${run.error ?? "no error recorded"}`];
  const figures = toFlatFigures(run);
  return Object.entries(limit).flatMap(([figure, most]) => {
    const value = figures[figure];
    if (value === undefined) return [`no figure ${figure} (figures: ${Object.keys(figures).join(", ")})`];
    return value > most ? [`${figure} ${value} > ${most}`] : [];
  });
}

/** The limits a search step is judged by: each `limit x (1 - headroom)`. */
function withHeadroom({ limit, headroom }: Saturation): Record<string, number> {
  return Object.fromEntries(Object.entries(limit).map(([figure, most]) => [figure, round2(most * (1 - headroom))]));
}

/** A rate to try, rounded to whole numbers for integer options, else to 0.01. */
function toRate(value: number, saturation: Saturation): number {
  return saturation.integer ? Math.round(value) : round2(value);
}

/** The rate after `rate` while raising: x factor, at most `max`, and always more than `rate` after rounding. */
function raise(rate: number, saturation: Saturation): number {
  const next = toRate(Math.min(rate * saturation.factor, saturation.max), saturation);
  return next > rate ? next : Math.min(rate + (saturation.integer ? 1 : 0.01), saturation.max);
}

/** Runs one rate of one repeat: `measure` starts the scenario with the option at `rate`. */
export type Measure = (rate: number, repeat: number) => Promise<RunResult>;

/** Confirmation runs at most per search: a rate is sustainable once it held a second time. */
export const CONFIRM_RUNS = 2;

/**
 * One search: `start`, then x `factor` until a run breaks a limit or `max` is reached; then
 * `bisect` steps between the last rate that held and the first that broke (stopping early
 * when no rate lies between). A bisection ends on the edge, where a second run may go either
 * way, so the best rate that held is run again (a confirmation, as RFC 2544 throughput
 * searches verify their result); if it breaks, the next lower rate that held is, up to
 * `CONFIRM_RUNS` runs. Answers the confirmed rate with its confirming run, else the next
 * rate below the last one tried that held once (`confirmed: false`), else undefined
 * (`start` broke); every run is pushed to `steps`.
 */
async function searchOnce(saturation: Saturation, repeat: number, measure: Measure, steps: SaturationStep[]): Promise<{ rate: number; run: RunResult; confirmed: boolean } | undefined> {
  const held = new Map<number, RunResult>();
  let broke: number | undefined;
  const attempt = async (rate: number, confirm = false): Promise<RunResult | undefined> => {
    const run = await measure(rate, repeat);
    const faults = judgeLimits(withHeadroom(saturation), run);
    steps.push({ repeat, rate, held: faults.length === 0, broke: faults, figures: toFlatFigures(run), ...(confirm ? { confirm } : {}) });
    return faults.length === 0 ? run : undefined;
  };
  const best = () => Math.max(...held.keys());
  for (let rate = toRate(saturation.start, saturation); ; rate = raise(rate, saturation)) {
    const run = await attempt(rate);
    if (!run) {
      broke = rate;
      break;
    }
    held.set(rate, run);
    if (rate >= saturation.max) break;
  }
  for (let step = 0; step < saturation.bisect && held.size > 0 && broke !== undefined; step += 1) {
    const middle = toRate((best() + broke) / 2, saturation);
    if (middle <= best() || middle >= broke) break;
    const run = await attempt(middle);
    if (run) held.set(middle, run);
    else broke = middle;
  }
  const candidates = [...held.keys()].sort((a, b) => b - a);
  for (const rate of candidates.slice(0, CONFIRM_RUNS)) {
    const run = await attempt(rate, true);
    if (run) return { rate, run, confirmed: true };
  }
  const fallback = candidates[CONFIRM_RUNS];
  return fallback === undefined ? undefined : { rate: fallback, run: held.get(fallback)!, confirmed: false };
}

/**
 * The saturation search, `repeats` times: each repeat searches on its own (`searchOnce`), and
 * the maximum sustainable rate is summarized over the repeats that found one (Student's t
 * 95% interval, stats.ts). Answers the result and, per repeat, the run at its maximum rate
 * (its figures are the scenario's summary), numbered by repeat.
 */
export async function searchSaturation(saturation: Saturation, repeats: number, measure: Measure): Promise<{ result: SaturationResult; runs: RunResult[] }> {
  const steps: SaturationStep[] = [];
  const perRepeat: (number | null)[] = [];
  const runs: RunResult[] = [];
  const notes: string[] = [];
  for (let repeat = 1; repeat <= repeats; repeat += 1) {
    const found = await searchOnce(saturation, repeat, measure, steps);
    perRepeat.push(found?.rate ?? null);
    if (found) runs.push({ ...found.run, repeat, max_rate: found.rate });
    if (!found) notes.push(`repeat ${repeat}: no rate held twice (the start rate ${saturation.start} broke, or its confirmations did)`);
    else if (!found.confirmed) notes.push(`repeat ${repeat}: ${found.rate} held once; the rates above it broke their confirmation runs`);
    else if (found.rate >= saturation.max) notes.push(`repeat ${repeat}: held up to max ${saturation.max}; the maximum sustainable rate is at least that`);
  }
  const rates = perRepeat.filter((rate): rate is number => rate !== null);
  const result: SaturationResult = { option: saturation.option, limit: saturation.limit, per_repeat: perRepeat, steps, notes };
  return { result: rates.length > 0 ? { ...result, max_rate: summarize(rates) } : result, runs };
}

/** Terminal lines of every saturated scenario: the maximum rate ± half its interval, then each repeat's steps; "" when none. */
export function formatSaturation(entries: { name: string; saturation?: SaturationResult }[]): string {
  const lines = entries.flatMap(({ name, saturation }) => {
    if (!saturation) return [];
    const limits = Object.entries(saturation.limit).map(([figure, most]) => `${figure} <= ${most}`).join(", ");
    const max = saturation.max_rate;
    const head = max
      ? `${name}  max sustainable ${saturation.option} ${max.mean.toFixed(2)} ± ${((max.ci95[1] - max.ci95[0]) / 2).toFixed(2)} (95% CI [${max.ci95[0].toFixed(2)}, ${max.ci95[1].toFixed(2)}], n ${max.n})`
      : `${name}  no sustainable ${saturation.option} found`;
    const trace = saturation.per_repeat.map((rate, index) => {
      const tried = saturation.steps
        .filter((step) => step.repeat === index + 1)
        .map((step) => `${step.confirm ? "confirm " : ""}${step.rate} ${step.held ? "held" : `broke (${step.broke.join("; ")})`}`);
      return `    repeat ${index + 1}: ${tried.join(", ")} -> ${rate ?? "none"}`;
    });
    return [head, `    limits: ${limits}`, ...trace, ...saturation.notes.map((note) => `    note: ${note}`)];
  });
  return lines.length === 0 ? "" : ["saturation:", ...lines].join("\n");
}
