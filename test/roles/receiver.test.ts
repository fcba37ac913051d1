// The receiver over real HTTP on loopback: bad input answered 4xx with JSON, files saved atomically, counter never reused.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, readPhotos, startRole } from "../helpers";

const photos = readPhotos();
const chelsea = photos.get("chelsea.jpg")!;

async function post(port: number, body: Bun.BodyInit, headers: Record<string, string>) {
  const response = await fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body, headers });
  return { status: response.status, body: (await response.json()) as { error?: string; id?: number; ack?: string } };
}

describe("receiver", () => {
  test("bad input gets a 4xx JSON error and the receiver keeps serving", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, maxBody: "200KB" });
    const port = receiver.stats().port as number;
    const json = { "content-type": "application/json" };
    const jpeg = { "content-type": "image/jpeg" };
    const cases: [string, Bun.BodyInit, Record<string, string>, number, string][] = [
      ["malformed JSON", "{not json", json, 400, "BAD_JSON"],
      ["missing fields", JSON.stringify({ topic: "a" }), json, 422, "MISSING_FIELD"],
      ["bad base64", JSON.stringify({ topic: "a", filename: "x.jpg", image_b64: "!!!notbase64" }), json, 422, "BAD_BASE64"],
      ["non-JPEG", new TextEncoder().encode("GIF89a not a jpeg at all"), jpeg, 422, "NOT_JPEG"],
      ["truncated JPEG", chelsea.subarray(0, chelsea.length / 2), jpeg, 422, "TRUNCATED_JPEG"],
      ["oversize body", new Uint8Array(300 * 1024), jpeg, 413, "BODY_TOO_LARGE"],
      ["../ in a name", chelsea, { ...jpeg, "x-filename": "../../etc/passwd" }, 422, "BAD_FILENAME"],
      ["absolute name", chelsea, { ...jpeg, "x-filename": "/etc/passwd" }, 422, "BAD_FILENAME"],
      ["../ as a topic", chelsea, { ...jpeg, "x-topic": ".." }, 422, "BAD_TOPIC"],
      ["unknown content type", "hello", { "content-type": "text/plain" }, 415, "UNSUPPORTED_TYPE"],
      ["JSON with a path name", JSON.stringify({ topic: "a", filename: "../x.jpg", image_b64: chelsea.toBase64() }), json, 422, "BAD_FILENAME"],
    ];
    const answers = [];
    for (const [label, body, headers] of cases) answers.push([label, (await post(port, body, headers)).status, (await post(port, body, headers)).body.error]);
    expect(answers).toEqual(cases.map(([label, , , status, code]) => [label, status, code]));
    expect(await post(port, chelsea, { ...jpeg, "x-topic": "ok", "x-filename": "good.jpg" })).toEqual({ status: 202, body: { id: 0, ack: "written" } });
    await receiver.stop();
    expect(receiver.stats()).toMatchObject({ received: 1, saved: 1, rejected: cases.length * 2 });
    expect(readdirSync(dir.path).sort()).toEqual([".framefleet", "ok"]);
  });

  test("both body formats save byte-identical files named OUT/TOPIC/<UTC>_<counter>_<name>.jpg", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, verify: "decode" });
    const port = receiver.stats().port as number;
    const binary = await post(port, chelsea, { "content-type": "image/jpeg", "x-topic": "cams", "x-filename": "cat photo.jpg", "x-sent-at": String(Date.now()) });
    const coffee = photos.get("coffee.jpg")!;
    const asJson = await post(port, JSON.stringify({ topic: "cams", filename: "coffee.jpg", image_b64: coffee.toBase64() }), { "content-type": "application/json" });
    expect([binary, asJson]).toEqual([{ status: 202, body: { id: 0, ack: "written" } }, { status: 202, body: { id: 1, ack: "written" } }]);
    await receiver.stop();
    const files = readdirSync(join(dir.path, "cams")).sort();
    expect(files.map((name) => name.replace(/^\d{8}T\d{6}\.\d{3}Z_/, "<utc>_"))).toEqual(["<utc>_0_cat_photo.jpg", "<utc>_1_coffee.jpg"]);
    expect(files.map((name) => readFileSync(join(dir.path, "cams", name)))).toEqual([Buffer.from(chelsea), Buffer.from(coffee)]);
    expect(receiver.stats()).toMatchObject({ received: 2, saved: 2, failed: 0, topics: { cams: { received: 2, saved: 2 } } });
  });

  test("a full queue holds requests (backpressure) up to --queue-wait, so a burst is taken whole", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, queue: 1, writers: 1, queueWait: "10s" });
    const port = receiver.stats().port as number;
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: chelsea, headers: { "content-type": "image/jpeg" } })),
    );
    await receiver.stop();
    expect({ statuses: [...new Set(answers.map((answer) => answer.status))], saved: receiver.stats().saved, busy: receiver.stats().busy }).toEqual({
      statuses: [202],
      saved: 40,
      busy: 0,
    });
  });

  test("a full queue answers 503 with Retry-After once --queue-wait has passed", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, queue: 1, writers: 1, queueWait: "0ms" });
    const port = receiver.stats().port as number;
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: chelsea, headers: { "content-type": "image/jpeg" } })),
    );
    const busy = answers.filter((answer) => answer.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    expect(busy[0]!.headers.get("retry-after")).toBe("1");
    await receiver.stop();
    const accepted = answers.filter((answer) => answer.status === 202).length;
    expect(receiver.stats()).toMatchObject({ received: accepted, saved: accepted, busy: busy.length });
  });

  test("--queue-bytes is the receiver's byte budget: one photo's worth, no wait, and a burst gets 503s although the queue has room for 1000", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, queue: 1000, writers: 1, queueWait: "0ms", queueBytes: String(chelsea.length + 1) });
    const port = receiver.stats().port as number;
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: chelsea, headers: { "content-type": "image/jpeg" } })),
    );
    await receiver.stop();
    const busy = answers.filter((answer) => answer.status === 503).length;
    const accepted = answers.filter((answer) => answer.status === 202).length;
    expect({ someRefused: busy > 0, allAnswered: busy + accepted, stats: receiver.stats() }).toMatchObject({ someRefused: true, allAnswered: 40, stats: { saved: accepted, busy } });
  });

  test("the counter continues after a clean restart without gaps", async () => {
    using dir = makeTempDir();
    const send = async (port: number) => (await post(port, chelsea, { "content-type": "image/jpeg" })).body.id as number;
    const first = await startRole("receiver", { port: 0, out: dir.path });
    const ids = [await send(first.stats().port as number), await send(first.stats().port as number)];
    await first.stop();
    await using second = await startRole("receiver", { port: 0, out: dir.path });
    ids.push(await send(second.stats().port as number));
    await second.stop();
    expect({ ids, counter: readFileSync(join(dir.path, ".framefleet", "image_counter.txt"), "utf8"), files: readdirSync(join(dir.path, "default")).length }).toEqual({
      ids: [0, 1, 2],
      counter: "3",
      files: 3,
    });
  });
});
