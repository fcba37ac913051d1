// A viewer load: N MJPEG streams opened at once on raw sockets, whole frames counted, gaps between frames and first-frame times measured.
import { LatencyHistogram, round2 } from "../../metrics";
import { StreamReader } from "./http-stream";
import type { ObserveDuration } from "../../control/prometheus/durations";

/** What to load. */
export interface LoadSettings {
  /** The stream, e.g. `http://127.0.0.1:8080/stream?quality=low`. */
  url: string;
  /** Streams opened at once. */
  viewers: number;
  /** How long to watch, warm-up included (ms). */
  durationMs: number;
  /** Frames before this (ms after the start) are not counted in fps and gaps (first-frame times always are). */
  warmupMs?: number;
  /** Ends the load early. */
  signal?: AbortSignal;
  /** Gets each frame gap and first-frame time (ms) as the figures do: the role's Prometheus histograms. */
  observe?: ObserveDuration;
}

/** Figures of a load over its measured window (after the warm-up). */
export interface LoadFigures {
  viewers: number;
  /** Streams that never answered a multipart stream (refused, 4xx/5xx, closed before a frame). */
  failed: number;
  /** Whole frames received by all viewers in the window. */
  frames: number;
  /** Mean and lowest frames per second of one viewer in the window. */
  fps_per_viewer: number;
  fps_min: number;
  /** Time between two frames of one viewer (ms), pooled over viewers. */
  gap_ms: { p50: number; p99: number; max: number };
  /** From the connection being made (TCP established) to the first whole frame (ms). */
  first_frame_ms: { p50: number; p99: number; max: number };
  /** Bytes received by all viewers in the whole run (head, parts and framing). */
  bytes: number;
  mbit_per_s: number;
  /** The first error seen, if any. */
  error?: string;
}

/** One viewer's state. */
interface Watch {
  connectedAt: number;
  firstAt: number;
  lastAt: number;
  frames: number;
  error?: string;
}

/**
 * Opens `settings.viewers` streams to `settings.url` at once, reads them for
 * `durationMs` and closes them. Each stream is one TCP connection read as fast as it
 * comes (no frame bytes are kept); a frame counts when its last byte has arrived. A
 * stream that connects after the window or an abort is closed at once.
 */
export async function runViewerLoad(settings: LoadSettings): Promise<LoadFigures> {
  const url = new URL(settings.url);
  const warmupMs = settings.warmupMs ?? 0;
  const started = performance.now();
  const windowFrom = started + warmupMs;
  const windowTo = started + settings.durationMs;
  const gaps = new LatencyHistogram((ms) => settings.observe?.("viewers_frame_gap", ms));
  const firsts = new LatencyHistogram((ms) => settings.observe?.("viewers_first_frame", ms));
  const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nAccept: multipart/x-mixed-replace\r\nConnection: close\r\n\r\n`;
  let bytes = 0;
  let gapMax = 0;
  const sockets: { end(): void }[] = [];
  let over = false; // the window ended or the load was aborted: a socket that connects now is ended at once
  const endAll = (): void => {
    over = true;
    sockets.forEach((socket) => socket.end());
  };

  const watch = async (): Promise<Watch> => {
    const state: Watch = { connectedAt: performance.now(), firstAt: 0, lastAt: 0, frames: 0 };
    const reader = new StreamReader({
      onFrame() {
        const now = performance.now();
        if (!state.firstAt) {
          state.firstAt = now;
          firsts.record(now - state.connectedAt);
        } else if (now >= windowFrom && now < windowTo) {
          gaps.record(now - state.lastAt);
          gapMax = Math.max(gapMax, now - state.lastAt);
        }
        if (now >= windowFrom && now < windowTo) state.frames += 1;
        state.lastAt = now;
      },
      onError: (message) => (state.error ??= message),
    });
    const closed = Promise.withResolvers<void>();
    try {
      const socket = await Bun.connect({
        hostname: url.hostname,
        port: Number(url.port || 80),
        socket: {
          open: () => void (state.connectedAt = performance.now()),
          data: (_, chunk) => {
            bytes += chunk.length;
            reader.push(chunk);
          },
          close: () => closed.resolve(),
          error: (_, error) => {
            state.error ??= error.message;
            closed.resolve();
          },
        },
      });
      if (over) socket.end();
      else {
        sockets.push(socket);
        socket.write(request);
      }
    } catch (error) {
      state.error = (error as Error).message;
      closed.resolve();
    }
    await closed.promise;
    return state;
  };

  const timer = setTimeout(endAll, settings.durationMs);
  if (settings.signal?.aborted) endAll();
  settings.signal?.addEventListener("abort", endAll, { once: true });
  const watches = await Promise.all(Array.from({ length: settings.viewers }, watch));
  clearTimeout(timer);
  const windowS = Math.max(0.001, (Math.min(performance.now(), windowTo) - windowFrom) / 1000);
  const fps = watches.map((state) => state.frames / windowS);
  const frames = watches.reduce((sum, state) => sum + state.frames, 0);
  const firstError = watches.find((state) => state.error)?.error;
  return {
    viewers: settings.viewers,
    failed: watches.filter((state) => !state.firstAt).length,
    frames,
    fps_per_viewer: round2(frames / windowS / Math.max(1, settings.viewers)),
    fps_min: round2(Math.min(...fps)),
    gap_ms: { ...gaps.summary(), max: round2(gapMax) },
    first_frame_ms: { ...firsts.summary(), max: round2(Math.max(0, ...watches.map((state) => (state.firstAt ? state.firstAt - state.connectedAt : 0)))) },
    bytes,
    mbit_per_s: round2((bytes * 8) / 1e6 / ((performance.now() - started) / 1000)),
    ...(firstError ? { error: firstError } : {}),
  };
}
