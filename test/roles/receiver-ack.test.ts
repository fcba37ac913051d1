// The receiver's --ack modes, its state in OUT/.framefleet/, topics that would collide with it, crash leftovers and the counter's lease.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PersistentCounter, type LeaseWriter } from "../../agent/roles/receiver/counter";
import { makeTempDir, readPhotos, startRole } from "../helpers";

const chelsea = readPhotos().get("chelsea.jpg")!;

async function post(port: number, topic = "cams") {
  const response = await fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: chelsea, headers: { "content-type": "image/jpeg", "x-topic": topic } });
  return { status: response.status, body: (await response.json()) as { id?: number; ack?: string; error?: string } };
}

/** The file of image `id` in OUT/TOPIC, read at once, or undefined when there is none yet. */
function readSaved(out: string, topic: string, id: number): Buffer | undefined {
  const folder = join(out, topic);
  const name = existsSync(folder) ? readdirSync(folder).find((file) => file.includes(`_${id}_`)) : undefined;
  return name ? readFileSync(join(folder, name)) : undefined;
}

describe("receiver --ack", () => {
  for (const ack of ["written", "fsync"] as const) {
    test(`${ack}: the 202 names the mode and comes only once the file has its final name`, async () => {
      using dir = makeTempDir();
      await using receiver = await startRole("receiver", { port: 0, out: dir.path, ack });
      const port = receiver.stats().port as number;
      const answers = await Promise.all(Array.from({ length: 20 }, () => post(port)));
      const onDisk = answers.map((answer) => readSaved(dir.path, "cams", answer.body.id!)?.equals(chelsea));
      const stats = receiver.stats();
      expect({ statuses: answers.map((a) => [a.status, a.body.ack]), onDisk, ack: stats.ack, saved: stats.saved }).toEqual({
        statuses: answers.map(() => [202, ack]),
        onDisk: answers.map(() => true),
        ack,
        saved: 20,
      });
      // Group commit: 20 files at once need fewer sync passes than files.
      if (ack === "fsync") expect(stats.sync_passes as number).toBeLessThan(20);
    });
  }

  for (const ack of ["written", "fsync"] as const) {
    test(`${ack}: a topic folder removed while the receiver runs is made again`, async () => {
      using dir = makeTempDir();
      await using receiver = await startRole("receiver", { port: 0, out: dir.path, ack });
      const port = receiver.stats().port as number;
      const first = await post(port);
      rmSync(join(dir.path, "cams"), { recursive: true });
      const second = await post(port);
      expect({ statuses: [first.status, second.status], files: readdirSync(join(dir.path, "cams")).length }).toEqual({ statuses: [202, 202], files: 1 });
    });
  }

  test("queued: the 202 says queued and every image is saved by the stop", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path, ack: "queued" });
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(receiver.stats().port as number)));
    await receiver.stop();
    expect({ acks: [...new Set(answers.map((a) => `${a.status} ${a.body.ack}`))], saved: readdirSync(join(dir.path, "cams")).length }).toEqual({ acks: ["202 queued"], saved: 10 });
  });

  test("a save that fails answers 500 SAVE_FAILED in written and fsync modes, 202 in queued mode", async () => {
    const answers: Record<string, unknown> = {};
    for (const ack of ["written", "fsync", "queued"]) {
      using dir = makeTempDir();
      writeFileSync(join(dir.path, "blocked"), "a file where the topic folder would go");
      await using receiver = await startRole("receiver", { port: 0, out: dir.path, ack });
      const { status, body } = await post(receiver.stats().port as number, "blocked");
      await receiver.stop();
      answers[ack] = { status, error: body.error, failed: receiver.stats().failed };
    }
    expect(answers).toEqual({
      written: { status: 500, error: "SAVE_FAILED", failed: 1 },
      fsync: { status: 500, error: "SAVE_FAILED", failed: 1 },
      queued: { status: 202, error: undefined, failed: 1 },
    });
  });
});

describe("receiver state in OUT/.framefleet/", () => {
  test("the counter and temp files live in .framefleet; topics starting with '.' are refused, names like the state files are plain topics", async () => {
    using dir = makeTempDir();
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    const port = receiver.stats().port as number;
    const topics = [".framefleet", ".hidden", "..", "image_counter.txt", "image_counter.txt.tmp", "tmp"];
    const answers = [];
    for (const topic of topics) answers.push([topic, (await post(port, topic)).status]);
    await receiver.stop();
    // A second receiver takes a new lease (the write that `image_counter.txt.tmp` as a folder once broke).
    await using again = await startRole("receiver", { port: 0, out: dir.path });
    const next = await post(again.stats().port as number, "image_counter.txt");
    await again.stop();
    expect({
      answers,
      next: next.status,
      out: readdirSync(dir.path).sort(),
      state: readdirSync(join(dir.path, ".framefleet")).sort(),
      temps: readdirSync(join(dir.path, ".framefleet", "tmp")),
      counter: readFileSync(join(dir.path, ".framefleet", "image_counter.txt"), "utf8"),
    }).toEqual({
      answers: [[".framefleet", 422], [".hidden", 422], ["..", 422], ["image_counter.txt", 202], ["image_counter.txt.tmp", 202], ["tmp", 202]],
      next: 202,
      out: [".framefleet", "image_counter.txt", "image_counter.txt.tmp", "tmp"],
      state: ["image_counter.txt", "tmp"],
      temps: [],
      counter: "4",
    });
  });

  test("an old OUT/image_counter.txt is migrated: numbers continue from it and the file makes way for a topic of that name", async () => {
    using dir = makeTempDir();
    writeFileSync(join(dir.path, "image_counter.txt"), "500");
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    const answer = await post(receiver.stats().port as number, "image_counter.txt");
    await receiver.stop();
    expect({ answer, saved: readdirSync(join(dir.path, "image_counter.txt")).length }).toEqual({ answer: { status: 202, body: { id: 500, ack: "written" } }, saved: 1 });
  });

  test("temp files of a crashed receiver are removed on start and counted", async () => {
    using dir = makeTempDir();
    const temp = join(dir.path, ".framefleet", "tmp");
    mkdirSync(temp, { recursive: true });
    const names = ["999999999-deadbeef-7.tmp", "999999999-deadbeef-counter.tmp", "stray.tmp"];
    for (const name of names) writeFileSync(join(temp, name), "partial");
    // A crash leaves its owner file behind: 999999999 is above Linux's pid_max, so that receiver is gone.
    writeFileSync(join(dir.path, ".framefleet", "owner.json"), JSON.stringify({ pid: 999999999, boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() }));
    await using receiver = await startRole("receiver", { port: 0, out: dir.path });
    expect({ recovered: receiver.stats().recovered_temp_files, left: readdirSync(temp) }).toEqual({ recovered: 3, left: [] });
  });

  test("one OUT, one receiver: a second receiver on a live one's OUT is refused (409 OUT_IN_USE), so they never share a counter or temp files; after a clean stop it starts", async () => {
    using dir = makeTempDir();
    const first = await startRole("receiver", { port: 0, out: dir.path });
    const refused = await startRole("receiver", { port: 0, out: dir.path }).catch((error: { code: string; status: number }) => [error.code, error.status]);
    // A live process that is not this one (pid 1 always runs) owns it in this boot.
    await first.stop();
    writeFileSync(join(dir.path, ".framefleet", "owner.json"), JSON.stringify({ pid: 1, boot: readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() }));
    const refusedByOther = await startRole("receiver", { port: 0, out: dir.path }).catch((error: { code: string }) => error.code);
    rmSync(join(dir.path, ".framefleet", "owner.json"));
    await using again = await startRole("receiver", { port: 0, out: dir.path });
    expect({ refused, refusedByOther, again: again.stats().role }).toEqual({ refused: ["OUT_IN_USE", 409], refusedByOther: "OUT_IN_USE", again: "receiver" });
  });
});

describe("PersistentCounter", () => {
  test("a lease whose write fails is not used: after a crash no number comes back", () => {
    using dir = makeTempDir();
    const path = join(dir.path, "counter.txt");
    let failNext = false;
    const write: LeaseWriter = (file, text) => {
      if (failNext) {
        failNext = false;
        throw new Error("disk full");
      }
      writeFileSync(file, text);
    };
    const counter = PersistentCounter.open(path, { temp: `${path}.tmp`, write });
    const handedOut: number[] = [];
    for (let i = 0; i < 1000; i += 1) handedOut.push(counter.next());
    failNext = true;
    expect(() => counter.next()).toThrow("disk full");
    handedOut.push(counter.next());
    // The process dies here, without close(): the next one starts from what is on disk.
    const after = PersistentCounter.open(path, { temp: `${path}.tmp`, write });
    expect({ last: handedOut.at(-1), distinct: new Set(handedOut).size, nextAfterCrash: after.next() }).toEqual({ last: 1000, distinct: 1001, nextAfterCrash: 2000 });
  });
});
