// The manager's job table: bounded in jobs and in output bytes, finished jobs evicted oldest first.
import { describe, expect, test } from "bun:test";
import { JobTable, type JobRecord } from "../../agent/roles/manager/jobs";

const raw = (bytes: number) => ({ data: new Uint8Array(bytes), width: bytes, height: 1, channels: 1 });

describe("JobTable", () => {
  test("outputs past the byte budget evict the oldest jobs holding pixels, never unfinished or failed ones nor the newest", () => {
    const changes: string[] = [];
    const table = new JobTable(10, 1000, (job: JobRecord) => changes.push(`${job.state}`));
    const [a, b, c, d] = table.create(4, "blur", "png");
    table.markDone(a!.id, raw(400));
    table.markFailed(b!.id, new Error("boom"));
    table.markDone(c!.id, raw(400));
    expect(table.outputBytes).toBe(800);
    table.markDone(d!.id, raw(700));
    // 1500 bytes: a and c go, oldest first, until the outputs are within 1000; the failed b holds none and stays.
    expect([a, b, c, d].map((job) => safeRead(table, job!.id))).toEqual(["JOB_NOT_FOUND", "failed", "JOB_NOT_FOUND", "done"]);
    expect(table.outputBytes).toBe(700);
    const [e] = table.create(1, "blur", "png");
    table.markDone(e!.id, raw(5000));
    expect([safeRead(table, d!.id), safeRead(table, e!.id), table.outputBytes]).toEqual(["JOB_NOT_FOUND", "done", 5000]);
    expect(changes).toEqual(["done", "failed", "done", "done", "done"]);
  });

  test("queued and running jobs are kept whatever the budget; a full table of them answers JOBS_FULL", () => {
    const table = new JobTable(2, 10, () => {});
    const [a, b] = table.create(2, "blur", "png");
    table.markRunning(a!.id);
    expect(() => table.create(1, "blur", "png")).toThrow(expect.objectContaining({ code: "JOBS_FULL", status: 503 }));
    table.markDone(a!.id, raw(50));
    expect([safeRead(table, a!.id), safeRead(table, b!.id)]).toEqual(["done", "queued"]);
    table.create(1, "blur", "png");
    expect([safeRead(table, a!.id), table.outputBytes]).toEqual(["JOB_NOT_FOUND", 0]);
  });
});

/** The job's state, or the error code reading it throws. */
function safeRead(table: JobTable, id: string): string {
  try {
    return table.read(id).state;
  } catch (error) {
    return (error as { code: string }).code;
  }
}
