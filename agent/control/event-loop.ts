// Event-loop lag of this process, measured by the agent itself with a timer (for /v1/health and soak runs).

/** How often the watcher's timer is due (ms). */
const TICK_MS = 100;
/** Lag samples kept: the last second. */
const WINDOW = 1000 / TICK_MS;

let samples: number[] | undefined;

/** Starts the process-wide watcher once (an unref'd timer: it never keeps the process alive). */
function startWatching(): number[] {
  const kept: number[] = [];
  let due = performance.now() + TICK_MS;
  setInterval(() => {
    const now = performance.now();
    kept.push(Math.max(0, now - due));
    if (kept.length > WINDOW) kept.shift();
    due = now + TICK_MS;
  }, TICK_MS).unref();
  return kept;
}

/**
 * The largest lag of the event loop over about the last second (ms, two decimals): how late
 * a timer due every 100 ms fired. The first call starts the watcher and answers 0.
 */
export function readEventLoopLag(): number {
  samples ??= startWatching();
  return samples.length === 0 ? 0 : Math.round(Math.max(...samples) * 100) / 100;
}
