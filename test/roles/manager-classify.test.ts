// classify through the manager: uploads go whole to a real recognition worker; results as JSON on GET /result and in job-state events.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Detections } from "../../agent/wire";
import { readPhotos, startRole, waitUntil } from "../helpers";

const photos = readPhotos();
let manager: Awaited<ReturnType<typeof startRole>>;
let worker: Awaited<ReturnType<typeof startRole>>;
let base = "";
const events: Record<string, any>[] = [];
let socket: WebSocket;

beforeAll(async () => {
  manager = await startRole("manager", { port: 0, workerPort: 0 });
  const { port, worker_port } = manager.stats() as unknown as { port: number; worker_port: number };
  base = `http://127.0.0.1:${port}`;
  socket = new WebSocket(`ws://127.0.0.1:${port}/events`);
  socket.addEventListener("message", (message) => events.push(JSON.parse(String(message.data))));
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve);
    socket.addEventListener("error", reject);
  });
  worker = await startRole("recognition-worker", { manager: `127.0.0.1:${worker_port}`, concurrency: 1, id: "rw1" });
  await waitUntil("the recognition worker to join", () => manager.stats(), (stats) => (stats.workers as number) >= 1, undefined, 10);
});

afterAll(async () => {
  socket?.close();
  await worker?.stop();
  await manager?.stop();
});

async function post(fields: Record<string, string>, files: [string, Uint8Array | string][], query = ""): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [name, bytes] of files) form.append("images", new File([bytes], name));
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const response = await fetch(`${base}/jobs${query}`, { method: "POST", body: form });
  return { status: response.status, body: await response.json() };
}

describe("manager classify", () => {
  test("three real photos: top labels cat, cup, person; boxes inside each image; the same result in the job-state event", async () => {
    const names = ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"];
    const { status, body } = await post({ op: "classify" }, names.map((name) => [name, photos.get(name)!]), "?wait=1");
    expect(status).toBe(200);
    const sizes: [number, number][] = [[451, 300], [600, 400], [512, 512]];
    const tops: string[] = [];
    for (const [index, view] of (body.jobs as { id: string; state: string; result: any }[]).entries()) {
      expect(view.state).toBe("done");
      const result = (await (await fetch(`${base}/jobs/${view.id}/result`)).json()) as Detections;
      expect(result).toEqual(view.result);
      tops.push(result.top5[0]!.label);
      const [width, height] = sizes[index]!;
      for (const { box } of result.objects) {
        expect(box[0] >= 0 && box[1] >= 0 && box[0] + box[2] <= width + 1 && box[1] + box[3] <= height + 1).toBe(true);
      }
      const event = events.find((entry) => entry.type === "job-state" && entry.id === view.id && entry.state === "done");
      expect(event?.result).toEqual(result);
    }
    expect(tops).toEqual(["cat", "cup", "person"]);
  });

  test("boxes are in pixels of the uploaded image: the cat's box over 451x300 and 722x480 copies is the same share of each", async () => {
    const { body } = await post({ op: "classify" }, [["small.jpg", photos.get("chelsea.jpg")!], ["large.jpg", photos.get("chelsea-480p.jpg")!]], "?wait=1");
    const sizes = [[451, 300], [722, 480]];
    const shares = (body.jobs as { result: Detections }[]).map(({ result }, index) => {
      const [width, height] = sizes[index]!;
      const box = result.objects.find((object) => object.label === "cat")!.box;
      return [box[0] / width!, box[1] / height!, box[2] / width!, box[3] / height!];
    });
    for (const [index, share] of shares[0]!.entries()) expect(Math.abs(share - shares[1]![index]!)).toBeLessThan(0.05);
    expect(shares[1]![2]! * 722).toBeGreaterThan(300); // wider than the model's whole 300-pixel input: not model pixels
  });

  test("bad classify uploads: bad params and a corrupt file are 4xx with a reason; the manager still serves", async () => {
    const badParams = await post({ op: "classify", minScore: "2" }, [["a.jpg", photos.get("chelsea.jpg")!]]);
    expect([badParams.status, badParams.body.error, badParams.body.message]).toEqual([422, "BAD_JOB", expect.stringContaining("minScore")]);
    const corrupt = await post({ op: "classify" }, [["broken.jpg", photos.get("chelsea.jpg")!.slice(0, 200)]]);
    expect([corrupt.status, corrupt.body.error]).toEqual([422, "NOT_AN_IMAGE"]);
    const unknown = await post({ op: "classify", colour: "red" }, [["a.jpg", photos.get("chelsea.jpg")!]]);
    expect([unknown.status, unknown.body.message]).toEqual([422, expect.stringContaining("colour")]);
    const ok = await post({ op: "classify", minScore: "0.3" }, [["a.jpg", photos.get("coffee-480p.jpg")!]], "?wait=1");
    expect(ok.status).toBe(200);
  });
});
