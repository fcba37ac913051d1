// What a fuzz surface is (one small adapter per surface) and how one is run: fast-check, a seed, figures.
import fc from "fast-check";

/** Figures a session keeps while its property runs. */
export interface SurfaceCounts {
  /** Answers with a status of 500 or more. */
  fiveXX: number;
  /** Answers that were a closed connection (no status line), or parser runs that ended in a FleetError. */
  closed: number;
  /** Inputs taken as valid: 2xx answers, frames or parts yielded. */
  ok: number;
}

/** One started surface: the property to check, and a probe that the target still works. */
export interface FuzzSession extends AsyncDisposable {
  property: fc.IAsyncProperty<any> | fc.IProperty<any>;
  counts: SurfaceCounts;
  /** Throws unless the target still answers a good input as it should (the process stayed up). */
  checkAlive(): Promise<void>;
}

/** A surface: a name, how many cases `npm test` runs, and how to start a session on it. */
export interface FuzzSurface {
  name: string;
  testRuns: number;
  start(): Promise<FuzzSession>;
}

/** What a run of one surface gave. */
export interface SurfaceReport {
  surface: string;
  cases: number;
  failures: number;
  fiveXX: number;
  closed: number;
  ok: number;
  seconds: number;
  rssGrowthMb: number;
  /** The counterexample and error of a failure, the alive probe's error, or the memory bound broken. */
  problem?: string;
}

/** Largest growth of the resident set over one surface's run before it counts as a failure. */
export const MAX_RSS_GROWTH_MB = 200;

/** Creates the counts a session starts with. */
export function createCounts(): SurfaceCounts {
  return { fiveXX: 0, closed: 0, ok: 0 };
}

/**
 * Runs `runs` cases of `surface` with `seed`, then checks the target still answers and the
 * resident set grew less than MAX_RSS_GROWTH_MB (measured once, after the run and a GC).
 */
export async function runSurface(surface: FuzzSurface, runs: number, seed: number): Promise<SurfaceReport> {
  Bun.gc(true);
  const rssBefore = process.memoryUsage.rss();
  const started = performance.now();
  const session = await surface.start();
  const details = await fc.check(session.property as fc.IAsyncProperty<unknown>, { numRuns: runs, seed });
  const problems: string[] = [];
  if (details.failed) problems.push(describeFailure(details));
  try {
    await session.checkAlive();
  } catch (error) {
    problems.push(`no longer answers a good input: ${(error as Error).message}`);
  }
  try {
    await session[Symbol.asyncDispose]();
  } catch (error) {
    problems.push(`stopping the target failed: ${(error as Error).message}`);
  }
  Bun.gc(true);
  const rssGrowthMb = Math.round((process.memoryUsage.rss() - rssBefore) / 1048576);
  if (rssGrowthMb >= MAX_RSS_GROWTH_MB) problems.push(`resident set grew ${rssGrowthMb} MB`);
  return {
    surface: surface.name,
    cases: details.numRuns,
    failures: details.failed ? 1 : 0,
    fiveXX: session.counts.fiveXX,
    closed: session.counts.closed,
    ok: session.counts.ok,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    rssGrowthMb,
    problem: problems.length > 0 ? problems.join("\n") : undefined,
  };
}

/** One paragraph on a failed check: the error, the seed and path to replay it, the counterexample with byte arrays shown by length. */
function describeFailure(details: fc.RunDetails<unknown>): string {
  const shown = JSON.stringify(details.counterexample, (_key, value) =>
    value instanceof Uint8Array ? `<${value.length} bytes ${Buffer.from(value.subarray(0, 8)).toString("hex")}..>` : value,
  );
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return `${error}\n  seed ${details.seed}, path "${details.counterexamplePath}"\n  counterexample: ${shown?.slice(0, 2000)}`;
}

/** The seed `npm test` uses, so a failure there repeats. */
export const TEST_SEED = 20_240_610;
