// Helpers of the streamer tests: viewers on raw sockets that count whole frames, a viewer that reads nothing, polling /stats.
import { StreamReader } from "../../agent/roles/streamer/http-stream";
import type { StreamerStats } from "../../agent/wire";
import { waitUntil, withDeadline } from "../helpers";

/** A viewer on a raw socket: counts whole frames; `await using` closes it. */
export interface TestViewer extends AsyncDisposable {
  readonly frames: number;
  /** Resolves once `count` frames in all have arrived. */
  waitForFrames(count: number): Promise<void>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `/stream?quality=QUALITY` (extra query appended) on 127.0.0.1:port. */
export async function openViewer(port: number, quality: string, extra = ""): Promise<TestViewer> {
  let frames = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const ended = Promise.withResolvers<void>();
  const reader = new StreamReader({
    onFrame() {
      frames += 1;
      for (const waiter of waiters.filter((entry) => frames >= entry.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    onError: (message) => ended.reject(new Error(message)),
  });
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: (_, chunk) => reader.push(chunk), close: () => ended.resolve(), error: () => ended.resolve() },
  });
  socket.write(`GET /stream?quality=${quality}${extra} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  const close = () => socket.end();
  return {
    get frames() {
      return frames;
    },
    waitForFrames: (count) => withDeadline(`${count} frames`, frames >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve })), () => frames),
    ended: ended.promise,
    close,
    async [Symbol.asyncDispose]() {
      close();
    },
  };
}

/** A viewer that sends its request and then never reads (a stalled browser): a bash process holding the socket. */
export function openSilentViewer(port: number, quality: string): AsyncDisposable {
  const request = `GET /stream?quality=${quality}&client=silent HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n`;
  const child = Bun.spawn(["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port}; printf '${request}' >&3; exec sleep 600`], { stdout: "ignore", stderr: "ignore" });
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.exited;
    },
  };
}

/** GET /stats. */
export async function readStats(port: number): Promise<StreamerStats> {
  return (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as StreamerStats;
}

/** Polls /stats every 50 ms until `ready` holds; answers those stats (fails with the last stats past the wait deadline). */
export async function waitForStats(port: number, ready: (stats: StreamerStats) => boolean): Promise<StreamerStats> {
  return await waitUntil(`streamer /stats on port ${port} to satisfy ${ready.toString().slice(0, 120)}`, () => readStats(port), ready, undefined, 50);
}
