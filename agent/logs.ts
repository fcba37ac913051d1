// The agent's log: one JSON line per event on stderr, the recent lines also kept in a bounded ring the control API serves (GET /v1/logs).
import type { LogLines } from "./wire";

/** Lines the ring keeps (oldest dropped first); with LOG_LINE_MAX this bounds it to about 2 MB. */
export const LOG_LINES_KEPT = 1000;
/** Longest line kept (characters); a longer one is cut and ends in `…`. */
export const LOG_LINE_MAX = 2000;

/** The last LOG_LINES_KEPT log lines, each numbered (`seq`, from 1) so a reader can ask for what came after. */
export class LogRing {
  private readonly lines: { seq: number; text: string }[] = [];
  private next = 1;

  /** Keeps `text` (cut to LOG_LINE_MAX), dropping the oldest line past LOG_LINES_KEPT. */
  push(text: string): void {
    this.lines.push({ seq: this.next++, text: text.length > LOG_LINE_MAX ? `${text.slice(0, LOG_LINE_MAX - 1)}…` : text });
    if (this.lines.length > LOG_LINES_KEPT) this.lines.shift();
  }

  /** At most the last `limit` lines numbered above `after` (0 = from the oldest kept), oldest first; `next` is the `after` for the following call. */
  read(after: number, limit: number): LogLines {
    const newer = this.lines.filter((line) => line.seq > after);
    const lines = newer.slice(Math.max(0, newer.length - limit));
    return { lines, next: this.next - 1 };
  }
}

/** A logger writing one JSON line `{at, event, ...fields}` to stderr (stdout is kept for final figures) and into `ring`. */
export function createLogger(ring: LogRing): (event: string, fields?: Record<string, unknown>) => void {
  return (event, fields = {}) => {
    const line = JSON.stringify({ at: new Date().toISOString(), event, ...fields });
    ring.push(line);
    process.stderr.write(`${line}\n`);
  };
}
