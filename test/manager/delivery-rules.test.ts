// The scheduler's pure delivery rules: which answer is taken, when a task has run out, how many stripes, stripes or a whole file, when frame bytes are copied.
import { describe, expect, test } from "bun:test";
import { chooseSplit, countStripes, hasRunOut, ownBytes, toDiscardReason, type SplitCase, type Task } from "../../agent/roles/manager/scheduler";

function taskAt(attempt: number, state: { done?: boolean; finished?: "done" | "failed"; refused?: number } = {}): Task {
  return { attempt, done: state.done ?? false, refused: state.refused ?? 0, job: { state: state.finished ?? "running" } } as unknown as Task;
}

describe("delivery rules", () => {
  test("an answer is taken only for the current attempt held by the answering worker", () => {
    expect([
      toDiscardReason(taskAt(2), 2, true),
      toDiscardReason(taskAt(2), 1, true),
      toDiscardReason(taskAt(2), 2, false),
      toDiscardReason(taskAt(2, { done: true }), 2, true),
      toDiscardReason(taskAt(2, { finished: "done" }), 2, true),
      toDiscardReason(taskAt(2, { finished: "failed" }), 2, true),
      toDiscardReason(undefined, 1, false),
    ]).toEqual([null, "stale-attempt", "stale-attempt", "duplicate", "job-over", "job-over", "not-held"]);
  });

  test("refusals do not spend attempts, but 100 of them end the task", () => {
    expect([hasRunOut(taskAt(3), 3), hasRunOut(taskAt(3, { refused: 1 }), 3), hasRunOut(taskAt(150, { refused: 100 }), 200)]).toEqual([true, false, true]);
  });

  test("stripes: one per unit of credit, at most 16 MiB each, one for classify", () => {
    const image = (bytes: number) => ({ op: "grayscale" as const, params: {}, image: { data: { length: bytes } as Uint8Array, width: 1, height: 1, channels: 1 } });
    expect([countStripes(image(1000), 0), countStripes(image(1000), 3), countStripes(image(7680 * 4320 * 3), 2), countStripes({ op: "classify", params: {}, encoded: new Uint8Array(9) }, 5)]).toEqual([1, 3, 6, 1]);
    // Exact (--split stripes): one per unit of credit, an 8K RGB image whole on 1 worker; more only past the frame maximum.
    const eightK = { op: "grayscale" as const, params: {}, image: { width: 7680, height: 4320, channels: 3, data: new Uint8Array(0) } };
    const sixteenK = { ...eightK, image: { width: 15360, height: 8640, channels: 3, data: new Uint8Array(0) } };
    expect([1, 4, 8].map((credit) => countStripes(eightK, credit, true))).toEqual([1, 4, 8]);
    expect([countStripes(sixteenK, 1, true), countStripes(sixteenK, 8, true)]).toEqual([3, 8]);
  });

  test("split: stripes only while jobs are fewer than workers; resize always whole; past a frame always striped; forced modes", () => {
    const job = (unfinishedJobs: number, workers: number, more: Partial<SplitCase> = {}): SplitCase => ({ op: "blur", width: 7680, height: 4320, fileBytes: 2e6, unfinishedJobs, workers, mode: "auto", ...more });
    expect([
      chooseSplit(job(1, 2)),
      chooseSplit(job(2, 2)),
      chooseSplit(job(1, 1)),
      chooseSplit(job(1, 0)),
      chooseSplit(job(1, 3, { op: "resize", width: 640, height: 480 })),
      chooseSplit(job(5, 2, { width: 10000, height: 10000 })),
      chooseSplit(job(5, 2, { fileBytes: 200e6 })),
      chooseSplit(job(5, 2, { mode: "stripes" })),
      chooseSplit(job(1, 3, { mode: "file" })),
      chooseSplit(job(1, 3, { op: "resize", mode: "stripes" })),
    ]).toEqual(["stripes", "file", "file", "file", "file", "stripes", "stripes", "stripes", "file", "file"]);
  });

  test("a payload filling its own frame buffer is kept, a view into a bigger chunk is copied", () => {
    const frame = new Uint8Array(1_000_100);
    const own = frame.subarray(100);
    const chunk = new Uint8Array(512 * 1024).subarray(1000, 2000);
    expect([ownBytes(own) === own, ownBytes(chunk) === chunk, ownBytes(chunk).buffer.byteLength]).toEqual([true, false, 1000]);
  });
});
