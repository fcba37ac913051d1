// The manager's one job table (the scheduler's records): bounded in jobs and in output bytes, finished jobs evicted oldest first.
import { describe, expect, test } from "bun:test";
import { FleetError } from "../../agent/errors";
import { JobTable, type JobState } from "../../agent/roles/manager/scheduler";

const raw = (bytes: number) => ({ data: new Uint8Array(bytes), width: bytes, height: 1, channels: 1 });

describe("JobTable", () => {
  test("outputs past the byte budget evict the oldest jobs holding pixels, never unfinished or failed ones nor the newest", () => {
    const changes: string[] = [];
    const table = new JobTable(10, 1000, (job: JobState) => changes.push(`${job.state}`));
    const [a, b, c, d] = create(table, 4);
    table.markDone(a!, raw(400));
    table.markFailed(b!, new FleetError("BOOM", "boom"));
    table.markDone(c!, raw(400));
    expect(table.outputBytes).toBe(800);
    table.markDone(d!, raw(700));
    // 1500 bytes: a and c go, oldest first, until the outputs are within 1000; the failed b holds none and stays.
    expect([a, b, c, d].map((job) => safeRead(table, job!.id))).toEqual(["JOB_NOT_FOUND", "failed", "JOB_NOT_FOUND", "done"]);
    expect(table.outputBytes).toBe(700);
    const [e] = create(table, 1);
    table.markDone(e!, raw(5000));
    expect([safeRead(table, d!.id), safeRead(table, e!.id), table.outputBytes]).toEqual(["JOB_NOT_FOUND", "done", 5000]);
    expect(changes).toEqual(["done", "failed", "done", "done", "done"]);
  });

  test("queued and running jobs are kept whatever the budget; a full table of them answers JOBS_FULL", () => {
    const table = new JobTable(2, 10, () => {});
    const [a, b] = create(table, 2);
    table.markRunning(a!);
    expect(() => create(table, 1)).toThrow(expect.objectContaining({ code: "JOBS_FULL", status: 503 }));
    table.markDone(a!, raw(50));
    expect([safeRead(table, a!.id), safeRead(table, b!.id)]).toEqual(["done", "queued"]);
    create(table, 1);
    expect([safeRead(table, a!.id), table.outputBytes]).toEqual(["JOB_NOT_FOUND", 0]);
  });
});

let seq = 0;
/** Adds `count` queued records (only what the table reads of them), all or none. */
function create(table: JobTable, count: number): JobState[] {
  table.makeRoom(count);
  return Array.from({ length: count }, () => {
    const job = { id: `j${++seq}`, op: "blur", state: "queued", progress: 0, format: "png" } as JobState;
    table.add(job);
    return job;
  });
}

/** The job's state, or the error code reading it throws. */
function safeRead(table: JobTable, id: string): string {
  try {
    return table.read(id).state;
  } catch (error) {
    return (error as { code: string }).code;
  }
}
