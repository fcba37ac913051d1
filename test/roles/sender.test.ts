// Sender to receiver over loopback with real photos: every 202 is a byte-identical file; 503s are retried.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, listSaved, makeTempDir, readPhotos, startRole } from "../helpers";
import { testWith } from "../_requires";

const photos = readPhotos();

/** Maps each saved file back to the photo it should equal, by the name inside its file name. */
function checkFiles(out: string): { files: number; identical: number } {
  let files = 0;
  let identical = 0;
  for (const [topic, names] of listSaved(out)) {
    for (const name of names) {
      files += 1;
      const original = photos.get(name.replace(/^[^_]+_\d+_/, ""));
      if (original && Buffer.compare(readFileSync(join(out, topic, name)), original) === 0) identical += 1;
    }
  }
  return { files, identical };
}

describe("sender", () => {
  for (const format of ["binary", "json"] as const) {
    test(`${format}: topics x multiply POSTs per frame, spread over targets; every 202 saved byte-identical`, async () => {
      using dirA = makeTempDir();
      using dirB = makeTempDir();
      await using receiverA = await startRole("receiver", { port: 0, out: dirA.path });
      await using receiverB = await startRole("receiver", { port: 0, out: dirB.path });
      const targets = [receiverA, receiverB].map((receiver) => `http://127.0.0.1:${receiver.stats().port}/upload`);
      await using sender = await startRole("sender", {
        target: targets,
        source: `files:${FIXTURES}`,
        topics: 2,
        multiply: 3,
        fps: 20,
        duration: "600ms",
        format,
      });
      await sender.ended;
      await receiverA.stop();
      await receiverB.stop();
      const sent = sender.stats();
      const frames = sent.frames as number;
      const saved = (receiverA.stats().saved as number) + (receiverB.stats().saved as number);
      expect({ sent: sent.sent, ok: sent.ok, failed: sent.failed, saved }).toEqual({ sent: frames * 6, ok: frames * 6, failed: 0, saved: frames * 6 });
      expect(frames).toBeGreaterThan(3);
      expect(Object.keys(receiverA.stats().topics as object).sort()).toEqual(["topic-0", "topic-1"]);
      const files = [checkFiles(dirA.path), checkFiles(dirB.path)];
      expect(files[0]!.identical + files[1]!.identical).toBe(frames * 6);
      expect(Math.abs(files[0]!.files - files[1]!.files)).toBeLessThanOrEqual(1);
    });
  }

  test("honours 503 + Retry-After and loses nothing", async () => {
    using dir = makeTempDir();
    let busy = 0;
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    using gate = Bun.serve({
      port: 0,
      async fetch(request) {
        if (busy < 3) {
          busy += 1;
          return new Response("{}", { status: 503, headers: { "retry-after": "0" } });
        }
        return fetch(`http://127.0.0.1:${receiver.stats().port}/upload`, { method: "POST", headers: request.headers, body: await request.arrayBuffer() });
      },
    });
    await using sender = await startRole("sender", { target: [`http://127.0.0.1:${gate.port}/upload`], source: "synthetic:64x48", multiply: 1, fps: 50, duration: "300ms" });
    await sender.ended;
    await receiver.stop();
    const stats = sender.stats();
    expect({ retries: stats.retries, failed: stats.failed, saved: receiver.stats().saved }).toEqual({ retries: 3, failed: 0, saved: stats.ok });
  });

  test("a receiver that is down counts as failed requests, not a crash", async () => {
    await using sender = await startRole("sender", { target: ["http://127.0.0.1:9/upload"], source: "synthetic:64x48", multiply: 1, fps: 20, duration: "200ms" });
    await sender.ended;
    const stats = sender.stats();
    expect(stats.ok).toBe(0);
    expect(stats.failed).toBe(stats.sent);
    expect(Object.keys(stats.errors as object).length).toBe(1);
  });

  testWith("ffmpeg")("mjpeg-cmd: frames from a live ffmpeg MJPEG stream reach the receiver whole", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, verify: "decode" });
    const camera = "ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=320x240:rate=30 -f mjpeg -q:v 5 -";
    await using sender = await startRole("sender", {
      target: [`http://127.0.0.1:${receiver.stats().port}/upload`],
      source: `mjpeg-cmd:${camera}`,
      multiply: 1,
      duration: "1s",
    });
    await sender.ended;
    await receiver.stop();
    const stats = sender.stats();
    // The sender takes each new frame once (latest-frame policy), so it sends at the camera's rate, not faster.
    expect(stats.frames as number).toBeGreaterThan(10);
    expect(stats.frames as number).toBeLessThan(45);
    expect({ failed: stats.failed, saved: receiver.stats().saved, rejected: receiver.stats().rejected }).toEqual({ failed: 0, saved: stats.ok, rejected: 0 });
  });
});
