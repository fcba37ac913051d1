// The grayscale worker role: dials the manager (or pulls from the broker), runs image ops on the raw stripes or whole image files it is assigned, answers each one.
import { Type as t } from "@sinclair/typebox";
import { availableParallelism } from "node:os";
import type { Static } from "@sinclair/typebox";
import { IMAGE_OPS, type RawResultMeta } from "../../protocol";
import { readTask, runTask, sessionOptions, startWorker, type ImageTask, type TaskRunner } from "../worker";
import type { Role, RoleHandle } from "../types";

const options = t.Object(
  {
    manager: sessionOptions.manager,
    broker: sessionOptions.broker,
    concurrency: t.Integer({ minimum: 1, maximum: 1024, default: availableParallelism(), description: "tasks run at once; the credit offered to the manager" }),
    id: sessionOptions.id,
    reconnect: sessionOptions.reconnect,
  },
  { additionalProperties: false },
);

/** Raw-stripe or image-file tasks (see ../worker/_task.ts): the result's meta is `{ width, height, channels }` of the raw output payload. */
const runner: TaskRunner<ImageTask> = {
  ops: IMAGE_OPS,
  read: readTask,
  run: async (task) => {
    const output = await runTask(task);
    const meta: Static<typeof RawResultMeta> = { width: output.width, height: output.height, channels: output.channels };
    return { meta, payload: output.data };
  },
};

export default {
  name: "grayscale-worker",
  summary: "runs image ops (grayscale, blur, ...) on raw stripes or whole image files assigned by the manager",
  options,
  async start(opts, context): Promise<RoleHandle> {
    const settings = { role: "grayscale-worker" as const, manager: opts.manager, broker: opts.broker, id: opts.id, reconnect: opts.reconnect, credit: opts.concurrency };
    return startWorker(settings, context, runner);
  },
} satisfies Role<typeof options>;
