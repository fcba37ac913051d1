// A minimal manager for the recognition bench: speaks the worker protocol, keeps every worker's credit full of classify tasks, counts results.
// It measures the worker and the protocol alone, without the manager's HTTP side and scheduler (bench/_classify-manager.ts has those).
import { checkHello, createChallenge, createWelcome, listenFor, type Connection } from "../agent/protocol";

/** A listening driver: workers dial `port`; `measure()` counts the results of a window. */
export interface ClassifyDriver extends AsyncDisposable {
  port: number;
  /** Resolves once `count` workers have said hello (and been fed). */
  waitForWorkers(count: number): Promise<void>;
  /** Counts results answered within the next `seconds`: images/s, errors, and how many workers served. */
  measure(seconds: number): Promise<{ images_per_s: number; results: number; errors: number; workers: number }>;
  /** Stops handing out new tasks (the workers drain what they hold). */
  pause(): void;
}

/**
 * Starts a driver on 127.0.0.1 that challenges each connection (open: no token), answers each hello with a welcome, sends the worker as
 * many classify tasks as its credit, and a new one for every result or error, cycling
 * through `images` (encoded files).
 */
export function startClassifyDriver(images: Uint8Array[]): ClassifyDriver {
  const workers = new Set<Connection>();
  const waiters: (() => void)[] = [];
  const counts = { results: 0, errors: 0 };
  let counting = false;
  let feeding = true;
  let sent = 0;

  const feed = (connection: Connection): void => {
    if (!feeding || !connection.isOpen) return;
    const payload = images[sent % images.length]!;
    sent += 1;
    void connection.send({ type: "assign", taskId: `bench-${sent}`, attempt: 1, op: "classify", params: {}, payload }).catch(() => {});
  };

  const listener = listenFor({
    hostname: "127.0.0.1",
    port: 0,
    onConnection: (connection) => {
      const challenge = createChallenge(undefined);
      void connection.send(challenge).catch(() => {});
      connection.onMessage((message) => {
        if (message.type === "hello") {
          const problem = checkHello(undefined, challenge, message);
          if (problem) return void connection.close(problem);
          void connection.send(createWelcome(undefined, challenge, message, 1000)).catch(() => {});
          workers.add(connection);
          for (let i = 0; i < message.credit; i++) feed(connection);
          for (const wake of waiters.splice(0)) wake();
        } else if (message.type === "result" || message.type === "error") {
          if (counting) counts[message.type === "result" ? "results" : "errors"] += 1;
          feed(connection);
        }
      });
      connection.onClose(() => workers.delete(connection));
    },
  });

  return {
    port: listener.port,
    waitForWorkers: async (count) => {
      while (workers.size < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
    measure: async (seconds) => {
      counts.results = 0;
      counts.errors = 0;
      counting = true;
      const began = performance.now();
      await Bun.sleep(seconds * 1000);
      counting = false;
      const elapsed = (performance.now() - began) / 1000;
      return { images_per_s: Math.round((counts.results / elapsed) * 100) / 100, ...counts, workers: workers.size };
    },
    pause: () => {
      feeding = false;
    },
    [Symbol.asyncDispose]: async () => {
      feeding = false;
      await listener.stop();
    },
  };
}
