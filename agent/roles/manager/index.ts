// The manager role: image jobs over HTTP (POST /jobs, GET /jobs/:id[/result], WebSocket /events; the token when one is set) run by authenticated workers on its worker port.
import { Elysia } from "elysia";
import { staticPlugin } from "@elysiajs/static";
import { join } from "node:path";
import { Type as t } from "@sinclair/typebox";
import { FleetError } from "../../errors";
import { answerErrorsAsJson, errorResponse, jsonResponse } from "../../http";
import { decodeToRaw } from "../../imaging/decode";
import type { ImageOp } from "../../imaging/ops";
import { chooseSplit, Scheduler, type Job, type SchedulerEvent } from "./scheduler";
import { RateSeries, RunningMeans, mbitPerSecond, perSecond } from "../../metrics";
import { parseDuration, parseSize } from "../../units";
import type { ClassifyParams, ManagerStats, WorkerRow } from "../../wire";
import { checkRequest, type GateRules } from "../../auth";
import { JobTable, toJobView, type JobRecord } from "./jobs";
import { encodeImage, readJobRequest, type UploadedImage } from "./_upload";
import type { Role, RoleHandle } from "../types";
import { WEB_DIR } from "../../native/web-assets";

const options = t.Object(
  {
    port: t.Integer({ minimum: 0, maximum: 65535, default: 8100, description: "HTTP port (jobs, events); 0 picks a free one" }),
    workerPort: t.Integer({ minimum: 0, maximum: 65535, default: 9100, description: "port workers dial; 0 picks a free one" }),
    taskTimeout: t.String({ default: "5s", description: "how long one attempt of a task may take before it is sent again" }),
    maxAttempts: t.Integer({ minimum: 1, maximum: 100, default: 5, description: "attempts per task before its job fails" }),
    maxUpload: t.String({ default: "64MB", description: "largest POST /jobs body; 413 past it" }),
    maxJobs: t.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: "jobs kept; finished ones evicted oldest first, 503 when all are unfinished" }),
    split: t.Union([t.Literal("auto"), t.Literal("stripes"), t.Literal("file")], {
      default: "auto",
      description: "how image jobs travel: auto (stripes while jobs are fewer than workers, else each file whole to one worker), or always stripes / always file",
    }),
    maxResults: t.String({ default: "2GB", description: "bytes of finished outputs kept (raw pixels: an 8K image is 99.5 MB); the oldest finished jobs are evicted past it" }),
  },
  { additionalProperties: false },
);


/** The upload page and its files (`/`, one path segment with a file extension): open to anyone, the page asks for the token. */
function isPagePath(path: string): boolean {
  return path === "/" || /^\/[\w.-]+\.(html|js|css|svg|png|ico)$/.test(path);
}

/**
 * The manager's HTTP rules: with a token, every path but the page needs `Authorization: Bearer
 * TOKEN` (`/events` also `?token=`, as browsers cannot set WebSocket headers); POST /jobs and
 * WebSocket upgrades from a foreign Origin get 403 whether or not a token is set.
 */
function toGateRules(token: string | undefined): GateRules {
  return {
    token,
    isPublic: isPagePath,
    takesQueryToken: (path) => path === "/events",
    sameOriginOnly: true,
    hint: "send Authorization: Bearer TOKEN (the agent's --token-file or AGENT_TOKEN); /events also takes ?token=TOKEN",
  };
}

/** The WebSocket topic every `/events` client is subscribed to. */
const EVENTS_TOPIC = "events";

/** An event as sent on `/events`: the scheduler's, with `job-failed.error` as `{error, message}` JSON. */
function toEventJson(event: SchedulerEvent): string {
  return JSON.stringify(event.type === "job-failed" ? { ...event, error: event.error.toJSON() } : event);
}

export default {
  name: "manager",
  summary: "image jobs over HTTP, cut into stripes or sent whole, run by the workers that dial its worker port",
  options,
  takesToken: true,
  async start(opts, context): Promise<RoleHandle> {
    const taskTimeoutMs = parseDuration(opts.taskTimeout, "--task-timeout");
    const maxUpload = parseSize(opts.maxUpload, "--max-upload");
    const maxResults = parseSize(opts.maxResults, "--max-results");
    const totals = { accepted: 0, retried: 0, discarded: 0, done: 0, failed: 0, bytes: 0 };
    const series = new RateSeries();
    const timing = new RunningMeans(["decode", "send", "wait", "process", "receive", "job"] as const);
    let firstAt = 0;
    let stoppedAt = 0;
    let boundPort = 0;
    let listening: { publish(topic: string, data: string): unknown } | undefined;

    let scheduler: Scheduler;
    try {
      scheduler = new Scheduler({ hostname: context.host, port: opts.workerPort, taskTimeoutMs, maxAttempts: opts.maxAttempts, token: context.token });
    } catch (error) {
      throw new FleetError("PORT_UNAVAILABLE", `--worker-port ${opts.workerPort}: ${(error as Error).message}`, 409, { cause: error });
    }
    const publish = (json: string): void => void listening?.publish(EVENTS_TOPIC, json);
    const jobs = new JobTable(opts.maxJobs, maxResults, (job: JobRecord) => publish(JSON.stringify({ type: "job-state", ...toJobView(job) })));
    scheduler.on((event) => {
      if (event.type === "task-assigned") jobs.markRunning(event.jobId);
      else if (event.type === "job-progress") jobs.markProgress(event.jobId, event.progress);
      else if (event.type === "task-retry") {
        totals.retried += 1;
        context.log("task_retry", { job: event.jobId, task: event.taskId, attempt: event.attempt, from: event.fromWorker, reason: event.reason, detail: event.detail });
      } else if (event.type === "worker-joined" || event.type === "worker-left" || event.type === "worker-rejected") context.log(event.type.replace("-", "_"), { ...event, type: undefined });
      else if (event.type === "task-discarded") totals.discarded += 1;
      else if (event.type === "job-done") timing.add("job", event.ms);
      else if (event.type === "task-done") for (const [part, ms] of Object.entries(event.timing)) timing.add(part as "send", ms);
      publish(toEventJson(event));
    });

    // Image jobs accepted and not yet settled, those still being read or decoded included: what `chooseSplit` weighs.
    let imageJobsOpen = 0;
    /** The job one uploaded image becomes: classify; an image op as its file for one worker, or decoded here and cut into stripes (`chooseSplit`). */
    const toJob = async (op: string, params: Record<string, unknown>, image: UploadedImage): Promise<Job> => {
      if (op === "classify") return { op, params: params as ClassifyParams, encoded: image.encoded };
      const { size, encoded } = image;
      const split = chooseSplit({ op: op as ImageOp, ...size, fileBytes: encoded.length, unfinishedJobs: imageJobsOpen, workers: scheduler.workersFor(op), mode: opts.split });
      if (split === "file") return { op, params, encoded, size };
      const decodeStarted = performance.now();
      const raw = await decodeToRaw(encoded, image.where);
      timing.add("decode", performance.now() - decodeStarted);
      return { op, params, image: raw };
    };

    // `?wait=1` answers once all jobs have settled (a load client's round trip): 200 with each
    // job's view; when any failed, 422 JOB_FAILED if every failure was the input's fault (a file
    // that does not decode), else 502; without it, 202 at once with the ids.
    const submit = async (request: Request): Promise<Response> => {
      if (stoppedAt) throw new FleetError("STOPPING", "the manager is stopping", 503);
      const { op, params, format, images } = await readJobRequest(request, maxUpload, (count) => jobs.makeRoom(count));
      const counted = op === "classify" ? 0 : images.length;
      imageJobsOpen += counted;
      let created: JobRecord[];
      const inputs: Job[] = [];
      try {
        for (const image of images) inputs.push(await toJob(op, params, image));
        created = jobs.create(inputs.length, op, format);
      } catch (error) {
        imageJobsOpen -= counted;
        throw error;
      }
      totals.accepted += created.length;
      if (!firstAt) firstAt = Date.now();
      const sizes = images.map((image) => image.encoded.length);
      const names = images.map((image) => image.where);
      const clientFaults = new Set<string>();
      const settled = created.map((job, index) =>
        scheduler
          .submit({ ...inputs[index]!, id: job.id })
          .then(
            (output) => {
              totals.done += 1;
              totals.bytes += sizes[index]!;
              series.add(1, sizes[index]!);
              jobs.markDone(job.id, output);
            },
            (error) => {
              totals.failed += 1;
              const failure = error instanceof FleetError ? new FleetError(error.code, `${names[index]}: ${error.message}`, error.status) : error;
              if (failure instanceof FleetError && failure.status < 500) clientFaults.add(job.id);
              context.log("job_failed", { id: job.id, op, error: (failure as Error).message });
              jobs.markFailed(job.id, failure);
            },
          )
          .finally(() => void (counted && (imageJobsOpen -= 1))),
      );
      if (!new URL(request.url).searchParams.has("wait")) return jsonResponse({ jobs: created.map((job) => ({ id: job.id })) }, 202);
      await Promise.all(settled);
      const views = created.map(toJobView);
      const failed = views.filter((view) => view.state === "failed");
      if (failed.length === 0) return jsonResponse({ jobs: views }, 200);
      const status = failed.every((view) => clientFaults.has(view.id)) ? 422 : 502;
      return jsonResponse({ error: "JOB_FAILED", message: `${failed.length} of ${views.length} jobs failed: ${failed[0]!.error}`, jobs: views }, status);
    };

    const readResult = (id: string): Promise<Response> => {
      const job = jobs.read(id);
      if (job.state === "failed") throw new FleetError("JOB_FAILED", `job ${id} failed: ${job.error}`, 409);
      if (job.state !== "done" || !job.output) throw new FleetError("JOB_NOT_DONE", `job ${id} is ${job.state} (${Math.round(job.progress * 100)}%)`, 409);
      return "objects" in job.output ? Promise.resolve(jsonResponse(job.output, 200)) : encodeImage(job.output, job.format);
    };

    const stats = (): ManagerStats => {
      const states = jobs.countStates();
      const elapsedMs = firstAt ? Math.max((stoppedAt || Date.now()) - firstAt, 1) : 0;
      return {
        role: "manager",
        port: boundPort,
        worker_port: scheduler.port,
        workers: stoppedAt ? 0 : scheduler.workerList().length,
        jobs_accepted: totals.accepted,
        jobs_queued: states.queued,
        jobs_running: states.running,
        jobs_done: totals.done,
        jobs_failed: totals.failed,
        tasks_retried: totals.retried,
        tasks_discarded: totals.discarded,
        outputs_bytes: jobs.outputBytes,
        images_per_s: elapsedMs ? perSecond(totals.done, elapsedMs) : 0,
        mbit_per_s: elapsedMs ? mbitPerSecond(totals.bytes, elapsedMs) : 0,
        elapsed_s: elapsedMs / 1000,
        timing_ms: timing.means(),
        series: series.points(),
      };
    };

    const gate = toGateRules(context.token);
    const server = answerErrorsAsJson(new Elysia({ serve: { maxRequestBodySize: maxUpload } }))
      .onRequest(({ request }) => checkRequest(request, gate))
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
