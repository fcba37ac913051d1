// `fail` impairment: a role that crashes now and then, stays down for `downtime`, and comes back.
import { IncarnationTotals } from "./merge";
import { describeError } from "../errors";
import type { Failure } from ".";
import type { LastFrame, RoleHandle } from "../roles/types";
import { parseDuration } from "../units";

/** How often the crash draw is made (ms): `fail` is a probability per second. */
const DRAW_EVERY_MS = 1000;

/** A role handle whose role crashes and restarts; the supervisor reads its condition. */
export interface RestartingHandle extends RoleHandle, LastFrame {
  /** True while the role is down between a crash and its restart. */
  isDown(): boolean;
  /** Why the role could not be started again, once that happened (it stays down for good; the supervisor shows it failed). */
  restartError(): string | undefined;
}

/**
 * Options for the next incarnation: the same, except that a `duration` counts from the first
 * start (the remaining time; undefined when none is left) and a `port` of 0 becomes the port
 * the first incarnation got, so peers find the role where it was.
 */
function toRestartOptions(options: Record<string, unknown>, firstStats: Record<string, unknown>, startedAt: number): Record<string, unknown> | undefined {
  const next = { ...options };
  if (options.port === 0 && typeof firstStats.port === "number") next.port = firstStats.port;
  if (typeof options.duration === "string") {
    const durationMs = parseDuration(options.duration, "duration");
    const remainingMs = durationMs - (Date.now() - startedAt);
    if (durationMs > 0 && remainingMs <= 0) return undefined;
    if (durationMs > 0) next.duration = String(Math.ceil(remainingMs));
  }
  return next;
}

/**
 * Starts a role that, once a second, crashes when `failure.drawCrash()` says so: it is
 * stopped at once (its stop()), stays down `failure.downtimeMs`, then starts again with the
 * same options (see toRestartOptions). Its figures add up over incarnations
 * (IncarnationTotals) and carry `restarts` and `downtime_s`. `ended` (for roles that end by
 * themselves) resolves when an incarnation ends by itself, when no duration is left for a
 * restart, or on stop().
 */
export async function startRestarting(
  start: (options: Record<string, unknown>) => Promise<RoleHandle>,
  options: Record<string, unknown>,
  failure: Failure,
  log: (event: string, fields?: Record<string, unknown>) => void,
): Promise<RestartingHandle> {
  const startedAt = Date.now();
  let current: RoleHandle | undefined = await start(options);
  const firstStats = current.stats();
  const totals = new IncarnationTotals();
  let restarts = 0;
  let downtimeMs = 0;
  let downSince = 0;
  let stopping = false;
  let over = false;
  let failedWith: string | undefined;
  let crashing: Promise<void> = Promise.resolve();
  let wakeFromDowntime: () => void = () => {};
  let markEnded: () => void = () => {};
  const ended = current.ended ? new Promise<void>((resolve) => (markEnded = resolve)) : undefined;

  const finish = (): void => {
    over = true;
    clearInterval(ticker);
    markEnded();
  };
  const watch = (handle: RoleHandle): void => {
    void handle.ended?.then(() => {
      if (handle === current && !stopping) finish();
    });
  };
  const waitDowntime = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, failure.downtimeMs);
      wakeFromDowntime = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  const crash = async (): Promise<void> => {
    const dying = current!;
    current = undefined;
    restarts += 1;
    downSince = Date.now();
    log("role_crashed", { restarts, downtime_ms: failure.downtimeMs });
    await dying.stop().catch((error) => log("role_crash_stop_failed", { error: describeError(error) }));
    totals.add(dying.stats());
    if (!stopping) await waitDowntime();
    downtimeMs += Date.now() - downSince;
    downSince = 0;
    if (stopping) return;
    const next = toRestartOptions(options, firstStats, startedAt);
    if (!next) return finish();
    try {
      current = await start(next);
      watch(current);
      log("role_restarted", { restarts });
    } catch (error) {
      failedWith = describeError(error);
      log("role_restart_failed", { error: failedWith });
      finish();
    }
  };
  const ticker = setInterval(() => {
    if (current && !stopping && failure.drawCrash()) crashing = crash();
  }, DRAW_EVERY_MS);
  watch(current);
  const readDowntimeS = (): number => (downtimeMs + (downSince ? Date.now() - downSince : 0)) / 1000;

  return {
    ended,
    isDown: () => current === undefined && !stopping && !over,
    lastFrame: () => (current as Partial<LastFrame> | undefined)?.lastFrame?.(),
    restartError: () => failedWith,
    stats: () => {
      const downtimeS = readDowntimeS();
      return { ...totals.combine(current?.stats(), downtimeS), restarts, downtime_s: downtimeS };
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      clearInterval(ticker);
      wakeFromDowntime();
      await crashing;
      await current?.stop();
      markEnded();
    },
  };
}
