// The manager's --max-results budget as a user meets it: the oldest finished job's output is evicted and its id answers 404.
import { expect, test } from "bun:test";
import { readPhotos, startRole, waitUntil } from "../helpers";

const photo = readPhotos().get("chelsea-480p.jpg")!;

test("--max-results 1MB: each new 1 MB output evicts the older; the evicted job answers 404 JOB_NOT_FOUND, the newest its image", async () => {
  await using manager = await startRole("manager", { port: 0, workerPort: 0, maxResults: "1MB" });
  await using _worker = await startRole("grayscale-worker", { manager: `127.0.0.1:${manager.stats().worker_port}`, concurrency: 1 });
  await waitUntil("the worker to join", () => manager.stats(), (stats) => stats.workers === 1);
  const base = `http://127.0.0.1:${manager.stats().port}`;
  const submit = async () => {
    const form = new FormData();
    form.append("images", new File([photo], "cat.jpg"));
    form.append("op", "invert");
    const answer = await fetch(`${base}/jobs?wait=1`, { method: "POST", body: form });
    return ((await answer.json()) as { jobs: { id: string }[] }).jobs[0]!.id;
  };
  // 722 x 480 x 3 bytes = 1,039,680 raw bytes per output: over the 1 MiB budget with any other.
  const first = await submit();
  const second = await submit();
  const [old, newest, result] = await Promise.all([fetch(`${base}/jobs/${first}`), fetch(`${base}/jobs/${second}`), fetch(`${base}/jobs/${second}/result`)]);
  expect({
    old: [old.status, ((await old.json()) as { error: string }).error],
    newest: [newest.status, ((await newest.json()) as { state: string }).state],
    result: [result.status, result.headers.get("content-type")],
    outputs: manager.stats().outputs_bytes,
  }).toEqual({ old: [404, "JOB_NOT_FOUND"], newest: [200, "done"], result: [200, "image/png"], outputs: 722 * 480 * 3 });
});
