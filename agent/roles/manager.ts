// The manager role: image jobs over HTTP (POST /jobs, GET /jobs/:id[/result], WebSocket /events) run by workers on its worker port.
import { Elysia } from "elysia";
import { staticPlugin } from "@elysiajs/static";
import { join } from "node:path";
import { Type as t } from "@sinclair/typebox";
import { FleetError } from "../errors";
import { answerErrorsAsJson, errorResponse, jsonResponse } from "../http";
import { Scheduler, type SchedulerEvent } from "../manager";
import { RateSeries, perSecond } from "../metrics";
import { parseDuration, parseSize } from "../units";
import { JobTable, toJobView, type JobRecord } from "./_manager-jobs";
import { encodeImage, readJobRequest } from "./_manager-upload";
import type { Role, RoleHandle } from "./types";

const options = t.Object(
  {
    port: t.Integer({ minimum: 0, maximum: 65535, default: 8100, description: "HTTP port (jobs, events); 0 picks a free one" }),
    workerPort: t.Integer({ minimum: 0, maximum: 65535, default: 9100, description: "port workers dial; 0 picks a free one" }),
    taskTimeout: t.String({ default: "5s", description: "how long one attempt of a task may take before it is sent again" }),
    maxAttempts: t.Integer({ minimum: 1, maximum: 100, default: 5, description: "attempts per task before its job fails" }),
    maxUpload: t.String({ default: "64MB", description: "largest POST /jobs body; 413 past it" }),
    maxJobs: t.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: "jobs kept; finished ones evicted oldest first, 503 when all are unfinished" }),
  },
  { additionalProperties: false },
);

/** Live figures of a manager (to move into wire.ts with the upload page). */
export type ManagerStats = {
  role: "manager";
  port: number;
  worker_port: number;
  workers: number;
  jobs_queued: number;
  jobs_running: number;
  jobs_done: number;
  jobs_failed: number;
  tasks_retried: number;
  images_per_s: number;
  series: [number, number, number][];
};

/** The upload page's files: embedded beside the entry in the binary, `web/` in the repository otherwise (as in control.ts). */
const WEB_DIR = (Bun as { isStandaloneExecutable?: boolean }).isStandaloneExecutable
  ? join(import.meta.dir, "web")
  : join(import.meta.dir, "..", "..", "web");

/** One row of `GET /workers`. */
export type WorkerRow = { id: string; credit: number; in_flight: number; done: number; cpu_percent: number; rss_mb: number; last_heard_ms: number };

/** The WebSocket topic every `/events` client is subscribed to. */
const EVENTS_TOPIC = "events";

/** An event as sent on `/events`: the scheduler's, with `job-failed.error` as `{error, message}` JSON. */
function toEventJson(event: SchedulerEvent): string {
  return JSON.stringify(event.type === "job-failed" ? { ...event, error: event.error.toJSON() } : event);
}

export default {
  name: "manager",
  summary: "image jobs over HTTP, cut into stripes and run by the workers that dial its worker port",
  options,
  async start(opts, context): Promise<RoleHandle> {
    const taskTimeoutMs = parseDuration(opts.taskTimeout, "--task-timeout");
    const maxUpload = parseSize(opts.maxUpload, "--max-upload");
    const totals = { retried: 0, done: 0, failed: 0 };
    const series = new RateSeries();
    let firstAt = 0;
    let stoppedAt = 0;
    let boundPort = 0;
    let listening: { publish(topic: string, data: string): unknown } | undefined;

    let scheduler: Scheduler;
    try {
      scheduler = new Scheduler({ hostname: context.host, port: opts.workerPort, taskTimeoutMs, maxAttempts: opts.maxAttempts });
    } catch (error) {
      throw new FleetError("PORT_UNAVAILABLE", `--worker-port ${opts.workerPort}: ${(error as Error).message}`, 409, { cause: error });
    }
    const publish = (json: string): void => void listening?.publish(EVENTS_TOPIC, json);
    const jobs = new JobTable(opts.maxJobs, (job: JobRecord) => publish(JSON.stringify({ type: "job-state", ...toJobView(job) })));
    scheduler.on((event) => {
      if (event.type === "task-assigned") jobs.markRunning(event.jobId);
      else if (event.type === "job-progress") jobs.markProgress(event.jobId, event.progress);
      else if (event.type === "task-retry") totals.retried += 1;
      publish(toEventJson(event));
    });

    const submit = async (request: Request): Promise<Response> => {
      if (stoppedAt) throw new FleetError("STOPPING", "the manager is stopping", 503);
      const { op, params, format, images } = await readJobRequest(request, maxUpload);
      const created = jobs.create(images.length, op, format);
      if (!firstAt) firstAt = Date.now();
      created.forEach((job, index) => {
        const image = images[index]!;
        scheduler.submit({ op, params, image, id: job.id }).then(
          (output) => {
            totals.done += 1;
            series.add(1, image.data.length);
            jobs.markDone(job.id, output);
          },
          (error) => {
            totals.failed += 1;
            context.log("job_failed", { id: job.id, op, error: (error as Error).message });
            jobs.markFailed(job.id, error);
          },
        );
      });
      return jsonResponse({ jobs: created.map((job) => ({ id: job.id })) }, 202);
    };

    const readResult = (id: string): Promise<Response> => {
      const job = jobs.read(id);
      if (job.state === "failed") throw new FleetError("JOB_FAILED", `job ${id} failed: ${job.error}`, 409);
      if (job.state !== "done" || !job.output) throw new FleetError("JOB_NOT_DONE", `job ${id} is ${job.state} (${Math.round(job.progress * 100)}%)`, 409);
      return encodeImage(job.output, job.format);
    };

    const stats = (): ManagerStats => {
      const states = jobs.countStates();
      const end = stoppedAt || Date.now();
      return {
        role: "manager",
        port: boundPort,
        worker_port: scheduler.port,
        workers: stoppedAt ? 0 : scheduler.workerList().length,
        jobs_queued: states.queued,
        jobs_running: states.running,
        jobs_done: totals.done,
        jobs_failed: totals.failed,
        tasks_retried: totals.retried,
        images_per_s: firstAt ? perSecond(totals.done, Math.max(end - firstAt, 1)) : 0,
        series: series.points(),
      };
    };

    const server = answerErrorsAsJson(new Elysia({ serve: { maxRequestBodySize: maxUpload } }))
      .post("/jobs", ({ request }) => submit(request).catch(errorResponse), { parse: "none" })
      .get("/jobs/:id", ({ params }) => toJobView(jobs.read(params.id)))
      .get("/jobs/:id/result", ({ params }) => readResult(params.id).catch(errorResponse))
      .get("/stats", () => stats())
      .get("/workers", (): WorkerRow[] => (stoppedAt ? [] : scheduler.workerList()).map((worker) => ({
        id: worker.workerId,
        credit: worker.credit,
        in_flight: worker.inFlight,
        done: worker.done,
        cpu_percent: worker.cpuPercent,
        rss_mb: Math.round(worker.rssBytes / 1048576),
        last_heard_ms: worker.silentMs,
      })))
      .ws("/events", { open: (ws) => void ws.subscribe(EVENTS_TOPIC) })
      .get("/", () => Bun.file(join(WEB_DIR, "upload.html")))
      .use(await staticPlugin({ assets: WEB_DIR, prefix: "/", indexHTML: false, alwaysStatic: false }));
    try {
      server.listen({ port: opts.port, hostname: context.host });
    } catch (error) {
      await scheduler.stop("manager failed to start");
      throw new FleetError("PORT_UNAVAILABLE", `--port ${opts.port}: ${(error as Error).message}`, 409, { cause: error });
    }
    listening = server.server ?? undefined;
    boundPort = server.server?.port ?? opts.port;
    context.log("manager_listening", { port: boundPort, worker_port: scheduler.port });

    let stopped: Promise<void> | undefined;
    const stop = async (): Promise<void> => {
      stoppedAt = Date.now();
      listening = undefined;
      // Reverse order of start: HTTP first (no new jobs), then the scheduler (pending jobs fail with SCHEDULER_STOPPED).
      const outcomes: PromiseSettledResult<unknown>[] = await Promise.allSettled([server.stop(true)]);
      outcomes.push(...(await Promise.allSettled([scheduler.stop("manager stopping")])));
      const failures = outcomes.filter((outcome) => outcome.status === "rejected").map((outcome) => outcome.reason);
      if (failures.length > 0) throw new AggregateError(failures, "manager: stop failed");
    };
    return { stats, stop: () => (stopped ??= stop()) };
  },
} satisfies Role<typeof options>;
