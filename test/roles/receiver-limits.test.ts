// The receiver's bounds: a full queue holds at most 256 requests (the rest get 503 at once), --queue-bytes, and --verify decode/none.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ImageStore, type SaveJob } from "../../agent/roles/receiver/store";
import { listSaved, makeTempDir, readPhotos, startRole } from "../helpers";

const photo = readPhotos().get("chelsea-480p.jpg")!;

/** A store on `dir` writing without sync; its outcomes are counted. */
function openStore(dir: string, limits: { maxJobs: number; maxBytes: number; writers: number }) {
  mkdirSync(join(dir, ".framefleet", "tmp"), { recursive: true });
  const outcomes = { saved: 0, failed: 0 };
  const store = new ImageStore(dir, limits, { sync: false, toTempPath: (id) => join(dir, ".framefleet", "tmp", `test-${id}.tmp`) }, (outcome) => {
    if ("error" in outcome) outcomes.failed += 1;
    else outcomes.saved += 1;
  });
  return { store, outcomes };
}

const job = (id: number, data: Uint8Array = photo): SaveJob => ({ id, topic: "t", name: `p${id}`, data });

describe("save queue bounds (offers made in one tick, before any write can finish)", () => {
  test("a full queue holds at most 256 callers; the rest are refused at once; every held one is saved later", async () => {
    using dir = makeTempDir();
    const { store, outcomes } = openStore(dir.path, { maxJobs: 1, maxBytes: 1 << 30, writers: 1 });
    // One being written, one queued, 256 held, 10 refused: the receiver's MAX_HELD_REQUESTS.
    const offers = Array.from({ length: 1 + 1 + 256 + 10 }, (_, index) => store.offerWithin(job(index), 60_000, 256));
    const refused = await Promise.all(offers.slice(258));
    expect(refused).toEqual(Array(10).fill(false));
    const admitted = await Promise.all(offers.slice(0, 258));
    await store.drain();
    expect({ admitted: admitted.every(Boolean), ...outcomes, files: readdirSync(join(dir.path, "t")).length }).toEqual({ admitted: true, saved: 258, failed: 0, files: 258 });
  });

  test("--queue-bytes: past the byte budget an image waits or is refused, but one lone image larger than the budget still goes", () => {
    using dir = makeTempDir();
    const { store } = openStore(dir.path, { maxJobs: 1000, maxBytes: 1000, writers: 1 });
    // The first is taken by the writer, the second waits alone (over budget, but alone), the third does not fit.
    // The budget counts every byte held until saved: the one being written too.
    expect([store.offer(job(1)), store.offer(job(2)), store.offer(job(3))]).toEqual([true, true, false]);
    expect(store.bytes).toBe(2 * photo.length);
  });
});

describe("--verify", () => {
  /**
   * The photo with bogus sampling factors (5x5; JPEG allows at most 4) in its frame header:
   * every marker and length is in place, so the header check passes, but libjpeg refuses to
   * decode it. (Corrupt entropy-coded data that still ends with EOI is not refused: libjpeg
   * only warns and fills the rest, and `decode` fails on errors and truncation, not warnings.)
   */
  function toUndecodable(bytes: Uint8Array): Uint8Array {
    const broken = Buffer.from(bytes);
    const sof = broken.indexOf(Buffer.of(0xff, 0xc0));
    broken[sof + 11] = 0x55; // FF C0, length (2), precision (1), height (2), width (2), components (1), then id, HV of the first
    return broken;
  }
  const post = (port: number, body: Uint8Array) => fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body, headers: { "content-type": "image/jpeg" } });

  test("decode refuses a JPEG whose header passes but whose pixels do not decode (422 BAD_JPEG); header lets it through", async () => {
    using dir = makeTempDir();
    const broken = toUndecodable(photo);
    await using decode = await startRole("receiver", { port: 0, out: join(dir.path, "decode"), verify: "decode" });
    await using header = await startRole("receiver", { port: 0, out: join(dir.path, "header"), verify: "header" });
    const answers = [await post(decode.stats().port as number, broken), await post(decode.stats().port as number, photo), await post(header.stats().port as number, broken)];
    expect(await Promise.all(answers.map(async (answer) => [answer.status, ((await answer.json()) as { error?: string }).error]))).toEqual([
      [422, "BAD_JPEG"],
      [202, undefined],
      [202, undefined],
    ]);
  });

  test("none saves any bytes as they came, even a body that is no JPEG", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, verify: "none" });
    const text = new TextEncoder().encode("not a jpeg at all");
    const answer = await post(receiver.stats().port as number, text);
    const [[topic, names]] = [...listSaved(dir.path)] as [[string, string[]]];
    expect({ status: answer.status, files: names.length, bytes: readFileSync(join(dir.path, topic, names[0]!)).toString() }).toEqual({ status: 202, files: 1, bytes: "not a jpeg at all" });
  });
});
