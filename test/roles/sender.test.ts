// Sender to receiver over loopback with real photos: every 202 is a byte-identical file; 503s are retried.
import { describe, expect, spyOn, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FIXTURES, listSaved, makeTempDir, readPhotos, startRole, waitUntil } from "../helpers";
import { testWith } from "../_requires";
import { Backoff } from "../../agent/roles/sender/backoff";

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
      // Any load sends some frames in 600 ms; the counts above must agree however many.
      expect(frames).toBeGreaterThan(0);
      expect(Object.keys(receiverA.stats().topics as object).sort()).toEqual(["topic-0", "topic-1"]);
      const files = [checkFiles(dirA.path), checkFiles(dirB.path)];
      expect(files[0]!.identical + files[1]!.identical).toBe(frames * 6);
      expect(Math.abs(files[0]!.files - files[1]!.files)).toBeLessThanOrEqual(1);
    });
  }

  test("honours 503 + Retry-After (capped at 5 s) and loses nothing", async () => {
    using dir = makeTempDir();
    // The first answer asks for 1 s, the second for 30 s (the sender waits its 5 s cap), then the receiver takes it.
    const retryAfter = ["1", "30"];
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    using gate = Bun.serve({
      port: 0,
      async fetch(request) {
        const wait = retryAfter.shift();
        if (wait !== undefined) return new Response("{}", { status: 503, headers: { "retry-after": wait } });
        return fetch(`http://127.0.0.1:${receiver.stats().port}/upload`, { method: "POST", headers: request.headers, body: await request.arrayBuffer() });
      },
    });
    const sleep = spyOn(Bun, "sleep");
    let waits: number[] = [];
    try {
      // fps 0 and one request in flight: the only waits the sender asks for are the 503s'.
      await using sender = await startRole("sender", { target: [`http://127.0.0.1:${gate.port}/upload`], source: "synthetic:64x48", multiply: 1, concurrency: 1, duration: "0" });
      await waitUntil("the first image acknowledged", () => sender.stats(), (stats) => (stats.ok as number) >= 1);
      waits = sleep.mock.calls.map(([ms]) => Number(ms));
      await sender.stop();
      await receiver.stop();
      const stats = sender.stats();
      expect({ retries: stats.retries, failed: stats.failed, saved: receiver.stats().saved }).toEqual({ retries: 2, failed: 0, saved: stats.ok });
    } finally {
      sleep.mockRestore();
    }
    // (The test's own polling sleeps 20 ms at a time; the sender's waits are the long ones.)
    expect(waits.filter((ms) => ms >= 1000)).toEqual([1000, 5000]);
  });

  test("a receiver that is down: few attempts (backoff), each image failed once sending ends, not a crash", async () => {
    await using sender = await startRole("sender", { target: ["http://127.0.0.1:9/upload"], source: "synthetic:64x48", multiply: 1, concurrency: 8, duration: "300ms" });
    await sender.ended;
    const stats = sender.stats();
    // Without backoff this loop made 225,000 attempts in 3 s; with it, 8 connections make a handful each.
    expect({ ok: stats.ok, failed: stats.failed, errors: stats.errors, fewAttempts: (stats.unreachable as number) <= 8 * 10 }).toEqual({
      ok: 0,
      failed: stats.sent,
      errors: { ECONNREFUSED: stats.sent },
      fewAttempts: true,
    });
  });

  test("a target that resets every connection gets few attempts; once a receiver listens there every image goes through", async () => {
    using dir = makeTempDir();
    using ackLog = makeTempDir();
    let attempts = 0;
    using backoff = spyOn(Backoff.prototype, "nextDelay");
    const resetter = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { open: (socket) => void (attempts += 1, socket.end()), data: () => {} } });
    const port = resetter.port;
    await using sender = await startRole("sender", {
      target: [`http://127.0.0.1:${port}/upload`],
      source: "synthetic:64x48",
      multiply: 1,
      concurrency: 4,
      duration: "0",
      ackLog: join(ackLog.path, "acks.txt"),
    });
    await waitUntil("12 attempts at the resetting target", () => attempts, (count) => count >= 12, undefined, 10);
    resetter.stop(true);
    await using receiver = await startRole("receiver", { port, out: dir.path });
    await waitUntil("20 images saved", () => receiver.stats(), (stats) => (stats.saved as number) >= 20, undefined, 10);
    await sender.stop();
    await receiver.stop();
    const stats = sender.stats();
    const waits = backoff.mock.results.map((result) => result.value as number);
    const acks = readFileSync(join(ackLog.path, "acks.txt"), "utf8").trim().split("\n");
    // Never a busy loop: every unreachable attempt is followed by a backoff wait (its ceiling
    // doubling from 100 ms to 5 s, tested below), counted, not timed.
    expect({
      waitsPerFailure: waits.length === stats.unreachable,
      unreachable: (stats.unreachable as number) >= 12,
      capped: waits.every((ms) => ms >= 0 && ms <= 5000),
      recovered: (stats.ok as number) >= 20,
      consistent: stats.sent === (stats.ok as number) + (stats.failed as number),
      saved: receiver.stats().saved as number,
      acks: acks.length,
      distinctIds: new Set(acks).size,
    }).toEqual({ waitsPerFailure: true, unreachable: true, capped: true, recovered: true, consistent: true, saved: stats.ok as number, acks: stats.ok as number, distinctIds: stats.ok as number });
  });

  test("no busy loop on any error: a 503 without Retry-After waits 1 s, a failed TLS handshake backs off, a redirect is no acknowledgement", async () => {
    let posts = 0;
    using bare503 = Bun.serve({ port: 0, fetch: () => ((posts += 1), new Response("", { status: 503 })) });
    using redirect = Bun.serve({ port: 0, fetch: () => Response.redirect("http://127.0.0.1:9/login", 302) });
    using plain = Bun.serve({ port: 0, fetch: () => new Response("plain HTTP") });
    const sleep = spyOn(Bun, "sleep");
    const backoff = spyOn(Backoff.prototype, "nextDelay");
    try {
      const send = (target: string) => startRole("sender", { target: [target], source: "synthetic:64x48", multiply: 1, concurrency: 1, duration: "0" });
      await using waiting = await send(`http://127.0.0.1:${bare503.port}/upload`);
      await waitUntil("a second POST after the 503", () => posts, (count) => count >= 2);
      await using tls = await send(`https://127.0.0.1:${plain.port}/upload`);
      await waitUntil("3 failed TLS attempts", () => tls.stats(), (stats) => (stats.unreachable as number) >= 3);
      await using redirected = await send(`http://127.0.0.1:${redirect.port}/upload`);
      await waitUntil("a redirect answered", () => redirected.stats(), (stats) => (stats.failed as number) >= 1);
      const waits = sleep.mock.calls.map(([ms]) => Number(ms));
      expect({
        retryWait: waits.includes(1000),
        tlsBackoffs: backoff.mock.calls.length >= 3,
        redirect: [redirected.stats().ok, Object.keys(redirected.stats().errors as object)],
      }).toEqual({ retryWait: true, tlsBackoffs: true, redirect: [0, ["HTTP_302"]] });
    } finally {
      sleep.mockRestore();
      backoff.mockRestore();
    }
  });

  test("backoff: the wait's ceiling doubles from 100 ms per failure in a row up to 5 s (full jitter below it); an answer resets it", () => {
    const ceilings = new Backoff(() => 1);
    const grown = Array.from({ length: 8 }, () => ceilings.nextDelay());
    ceilings.reset();
    const jittered = new Backoff(() => 0.25);
    expect({ grown, reset: ceilings.nextDelay(), jittered: [jittered.nextDelay(), jittered.nextDelay()] }).toEqual({
      grown: [100, 200, 400, 800, 1600, 3200, 5000, 5000],
      reset: 100,
      jittered: [25, 50],
    });
  });

  test('any 2xx is ok: a receiver like the original experiment\'s, answering 200 {"status":"queued"}', async () => {
    using ackLog = makeTempDir();
    let answered = 0;
    using original = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      async fetch(request) {
        await request.arrayBuffer();
        answered += 1;
        return Response.json({ status: "queued" }, { status: 200 });
      },
    });
    const target = `http://127.0.0.1:${original.port}/upload`;
    await using sender = await startRole("sender", { target: [target], source: "synthetic:64x48", multiply: 2, fps: 50, duration: "300ms", ackLog: join(ackLog.path, "acks.txt") });
    await sender.ended;
    const stats = sender.stats();
    const acks = readFileSync(join(ackLog.path, "acks.txt"), "utf8").trim().split("\n");
    expect({ ok: stats.ok, failed: stats.failed, answered, acks: new Set(acks) }).toEqual({ ok: stats.sent, failed: 0, answered: stats.sent as number, acks: new Set([`${target} -`]) });
    expect(stats.sent as number).toBeGreaterThan(0);
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
    // The sender takes each new frame once (latest-frame policy): every saved image is a different
    // camera frame (testsrc2 changes every frame), none sent twice. A count, not a rate.
    const saved = [...listSaved(dir.path)].flatMap(([topic, names]) => names.map((name) => readFileSync(join(dir.path, topic, name))));
    const distinct = new Set(saved.map((bytes) => Bun.hash(bytes)));
    expect(stats.frames as number).toBeGreaterThan(0);
    expect({ failed: stats.failed, saved: receiver.stats().saved, rejected: receiver.stats().rejected, distinct: distinct.size }).toEqual({ failed: 0, saved: stats.ok, rejected: 0, distinct: saved.length });
  });
});
