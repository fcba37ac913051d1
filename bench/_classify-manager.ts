// Classify through the real manager: a manager process, recognition worker processes dialling it, a client keeping POST /jobs?wait=1 requests in flight.
import { AGENT, spawnBun, stopChild, type Child } from "./_process";

/** What one run through the manager measured: images classified per second by jobs that settled in the window. */
export interface ManagerRun {
  images_per_s: number;
  results: number;
  errors: number;
}

/** Requests in flight, one image each: enough to keep the worker's credit full while the manager queues the rest. */
const IN_FLIGHT = 4;

/**
 * Starts a manager and `workers` recognition workers (each with `workerFlags`), waits until
 * every worker joined, posts classify jobs of one photo each (taking `images` in turn) with
 * IN_FLIGHT requests at a time, uncounted for `warmupS`, counted for `seconds`.
 */
export async function runThroughManager(images: Uint8Array[], workerFlags: string[], seconds: number, warmupS: number, workers = 1): Promise<ManagerRun> {
  const manager = spawnBun([AGENT, "--role", "manager", "--no-control", "--host", "127.0.0.1", "--port", "0", "--worker-port", "0"]);
  const children: Child[] = [];
  try {
    const listening = await manager.waitForEvent("manager_listening");
    const base = `http://127.0.0.1:${listening.port}`;
    for (let index = 0; index < workers; index++)
      children.push(spawnBun([AGENT, "--role", "recognition-worker", "--no-control", "--manager", `127.0.0.1:${listening.worker_port}`, "--id", `bench-${index}`, ...workerFlags]));
    await Promise.all(children.map((child) => child.waitForEvent("worker_welcomed")));
    const counts = { results: 0, errors: 0 };
    let counting = false;
    let running = true;
    let sent = 0;
    const client = async (): Promise<void> => {
      while (running) {
        const form = new FormData();
        form.append("op", "classify");
        form.append("images", new Blob([images[sent++ % images.length]!], { type: "image/jpeg" }), "photo.jpg");
        const response = await fetch(`${base}/jobs?wait=1`, { method: "POST", body: form });
        const body = (await response.json()) as { jobs?: { state?: string }[] };
        const done = response.ok && body.jobs?.every((job) => job.state === "done");
        if (counting) counts[done ? "results" : "errors"] += 1;
      }
    };
    const clients = Array.from({ length: IN_FLIGHT }, client);
    await Bun.sleep(warmupS * 1000);
    counting = true;
    const began = performance.now();
    await Bun.sleep(seconds * 1000);
    counting = false;
    const elapsed = (performance.now() - began) / 1000;
    running = false;
    await Promise.allSettled(clients);
    return { images_per_s: Math.round((counts.results / elapsed) * 100) / 100, ...counts };
  } finally {
    await Promise.allSettled(children.map(stopChild));
    await stopChild(manager);
  }
}
