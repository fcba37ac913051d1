// The task steps of a worker session: accept an assign (or refuse it at once), perform it within the credit, reply.
import { FleetError } from "../../errors";
import { round2 } from "../../metrics";
import type { Assign, Connection, Result, TaskError } from "../../protocol";
import { toTaskFailure } from "./_task";
import type { Session } from "./_state";

/**
 * Sends a task's answer. Impairment: a lost answer is never sent (the manager's timer
 * retransmits); a sent one waits the delay first. A closed connection loses the answer (the
 * manager reassigns the task); a result the protocol refuses (past the frame limit) is
 * answered as an error instead.
 */
export async function reply<Task>(session: Session<Task>, connection: Connection, answer: Result | TaskError): Promise<void> {
  if (answer.type === "error") session.totals.tasks_failed += 1;
  if (session.impair.drops()) return;
  await session.impair.beforeSend();
  if (!connection.isOpen) return;
  try {
    await connection.send(answer).catch(() => {});
  } catch (error) {
    if (answer.type !== "result") throw error;
    session.context.log("worker_result_refused", { task: answer.taskId, error: (error as Error).message });
    const refused: TaskError = { type: "error", taskId: answer.taskId, attempt: answer.attempt, code: "RESULT_TOO_LARGE", message: (error as Error).message.slice(0, 4096) };
    await reply(session, connection, refused);
  }
}

/**
 * Runs one task once a slot is free (the task is the unit of work for `cpu` impairment) and
 * replies; the result's meta carries `wait_ms` (queued behind the credit) and `ms` (the task)
 * for the manager's timing.
 */
async function perform<Task>(session: Session<Task>, connection: Connection, assign: Assign, task: Task): Promise<void> {
  const arrived = performance.now();
  if (!(await session.slots.acquire())) return;
  const { taskId, attempt } = assign;
  let answer: Result | TaskError;
  const began = performance.now();
  try {
    if (!connection.isOpen) return;
    const output = await session.impair.runUnit(() => session.runner.run(task));
    session.totals.tasks_done += 1;
    session.series.add(1, output.payload.length);
    const timing = { wait_ms: round2(began - arrived), ms: round2(performance.now() - began) };
    answer = { type: "result", taskId, attempt, meta: { ...output.meta, ...timing }, payload: output.payload };
  } catch (error) {
    answer = { type: "error", taskId, attempt, ...toTaskFailure(error) };
  } finally {
    const ms = performance.now() - began;
    session.busyMs += ms;
    session.context.observe?.("worker_task", ms);
    session.slots.release();
  }
  await reply(session, connection, answer);
}

/**
 * Takes an assign as an impaired link delivers it (impairment hits the manager's assignments
 * as it hits the answers, as in the original experiments): lost with probability `loss` (the
 * manager's timer retransmits), else `accept`ed after the delay (± jitter).
 */
export async function arrive<Task>(session: Session<Task>, connection: Connection, assign: Assign): Promise<void> {
  if (session.impair.drops()) return;
  await session.impair.beforeSend();
  if (connection.isOpen) accept(session, connection, assign);
}

/** Runs at most `credit` tasks and queues as many more; past that the manager overran its credit and hears BUSY. */
function accept<Task>(session: Session<Task>, connection: Connection, assign: Assign): void {
  const { credit, pending } = session;
  let task: Task;
  try {
    task = session.runner.read(assign);
    if (session.stopping) throw new FleetError("STOPPING", "the worker is stopping", 503);
    if (pending.size >= 2 * credit) throw new FleetError("BUSY", `${pending.size} tasks in hand; credit is ${credit}`, 503);
  } catch (error) {
    void reply(session, connection, { type: "error", taskId: assign.taskId, attempt: assign.attempt, ...toTaskFailure(error) }).catch(() => {});
    return;
  }
  const work = perform(session, connection, assign, task)
    .catch((error) => session.context.log("worker_task_failed", { task: assign.taskId, error: (error as Error).message }))
    .finally(() => pending.delete(work));
  pending.add(work);
}
