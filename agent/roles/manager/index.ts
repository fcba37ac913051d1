// The manager role: image jobs over HTTP (POST /jobs, GET /jobs/:id[/result], WebSocket /events; the token when one is set) run by authenticated workers on its worker port.
import { Elysia } from "elysia";
import { staticPlugin } from "@elysiajs/static";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { toSubjectToken } from "../../broker";
import { Type as t, type Static } from "@sinclair/typebox";
import { FleetError } from "../../errors";
import { answerErrorsAsJson, errorResponse, jsonResponse } from "../../http";
import { decodeToRaw } from "../../imaging/decode";
import { checkJob, describeOps, type CheckedOp, type Job, type OutputFormat } from "../../protocol";
import { BrokerScheduler, chooseSplit, REMOTE_PIXELS, Scheduler, toJobEvent, toJobView, type JobState, type SchedulerEvent, type JobRunner, type SharedJob, type SplitMode } from "./scheduler";
import { RateSeries, RateSpan, RunningMeans } from "../../metrics";
import { parseDuration, parseSize } from "../../units";
import type { JobsAccepted, ManagerStats, OpsView, WorkerRow } from "../../wire";
import { checkRequest, type GateRules } from "../../auth";
import { encodeImage } from "./_result";
import { readJobRequest, type UploadedImage } from "./_upload";
import type { Role, RoleContext, RoleHandle } from "../types";
import type { ObserveDuration } from "../../control/prometheus/durations";
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
      description: "how image jobs travel: auto (stripes while jobs are fewer than workers, else each file whole to one worker), or always stripes (exactly one per unit of worker credit, as the original: N stripes for N workers) / always file",
    }),
    broker: t.Optional(t.String({ pattern: "^nats://.+:[0-9]{1,5}$", description: "run jobs through a NATS JetStream broker (nats://HOST:PORT; the agent's token is the NATS token) instead of the worker port; several managers may share it; default none: workers dial --worker-port" })),
    id: t.Optional(t.String({ pattern: "^[A-Za-z0-9_-]{1,64}$", description: "this manager's id on the broker (results come back on framefleet.result.ID.>); default HOSTNAME-PID" })),
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
function toGateRules(token: string | undefined, auth: RoleContext["auth"]): GateRules {
  return {
    token,
    isPublic: isPagePath,
    takesQueryToken: (path) => path === "/events",
    sameOriginOnly: true,
    // Open on loopback: only loopback Host names, so a page on a rebound DNS name reaches nothing.
    loopbackHostOnly: auth === "loopback",
    hint: "send Authorization: Bearer TOKEN (the agent's --token-file or AGENT_TOKEN); /events also takes ?token=TOKEN",
  };
}

/** The WebSocket topic every `/events` client is subscribed to. */
const EVENTS_TOPIC = "events";

type Options = Static<typeof options>;

/** The manager's running figures, taken from the scheduler's events and the intake. */
class Figures {
  readonly totals = { accepted: 0, retried: 0, discarded: 0, done: 0, failed: 0, bytes: 0 };
  readonly series = new RateSeries();
  readonly timing: RunningMeans<"decode" | "send" | "wait" | "process" | "receive" | "job">;
  /** From the first accepted job to the stop. */
  readonly span = new RateSpan(0);

  /** `observe` gets each timing as the means do: the whole job, or one phase of a task. */
  constructor(observe?: ObserveDuration) {
    this.timing = new RunningMeans(["decode", "send", "wait", "process", "receive", "job"] as const, (part, ms) =>
      part === "job" ? observe?.("manager_job", ms) : observe?.("manager_task_phase", ms, { phase: part }),
    );
  }

  /** Jobs accepted at intake. */
  accept(count: number): void {
    this.totals.accepted += count;
    this.span.start();
  }

  /** Counts one scheduler event; `job` is the record it names, when it names one. */
  take(event: SchedulerEvent, job: JobState | undefined): void {
    if (event.type === "task-retry") this.totals.retried += 1;
    else if (event.type === "task-discarded") this.totals.discarded += 1;
    else if (event.type === "task-done") for (const [part, ms] of Object.entries(event.timing)) this.timing.add(part as "send", ms);
    else if (event.type === "job-failed") this.totals.failed += 1;
    else if (event.type === "job-done") {
      const bytes = job?.source?.bytes ?? 0;
      this.timing.add("job", event.ms);
      this.totals.done += 1;
      this.totals.bytes += bytes;
      this.series.add(1, bytes);
    }
  }
}

/**
 * The scheduler: on the worker port, or on the broker with `--broker`.
 * @throws FleetError PORT_UNAVAILABLE (409); as `BrokerScheduler.open` (BROKER_UNREACHABLE, ...).
 */
async function startScheduler(opts: Options, context: RoleContext): Promise<JobRunner> {
  const taskTimeoutMs = parseDuration(opts.taskTimeout, "--task-timeout");
  const maxOutputBytes = parseSize(opts.maxResults, "--max-results");
  if (opts.broker) {
    const managerId = opts.id ?? toSubjectToken(`${hostname()}-${process.pid}`);
    return BrokerScheduler.open({ url: opts.broker, token: context.token, managerId, taskTimeoutMs, maxAttempts: opts.maxAttempts, exactStripes: opts.split === "stripes", maxJobs: opts.maxJobs, maxOutputBytes, log: context.log });
  }
  try {
    return new Scheduler({ hostname: context.host, port: opts.workerPort, taskTimeoutMs, maxAttempts: opts.maxAttempts, token: context.token, maxJobs: opts.maxJobs, maxOutputBytes, exactStripes: opts.split === "stripes" });
  } catch (error) {
    throw new FleetError("PORT_UNAVAILABLE", `--worker-port ${opts.workerPort}: ${(error as Error).message}`, 409, { cause: error });
  }
}

/** The log lines of the scheduler's events: retries, workers joining, leaving and refused, failed jobs. */
function logEvent(context: RoleContext, event: SchedulerEvent, job: JobState | undefined): void {
  if (event.type === "task-retry") {
    context.log("task_retry", { job: event.jobId, task: event.taskId, attempt: event.attempt, from: event.fromWorker, reason: event.reason, detail: event.detail });
  } else if (event.type === "worker-joined" || event.type === "worker-left" || event.type === "worker-rejected") context.log(event.type.replace("-", "_"), { ...event, type: undefined });
  else if (event.type === "job-failed") context.log("job_failed", { id: event.jobId, op: job?.op, error: event.error.message });
  else if (event.type === "task-discarded") context.log("task_discarded", { task: event.taskId, attempt: event.attempt, from: event.workerId, reason: event.reason });
}

/** The record an event names, while the table holds it. */
function findJob(scheduler: JobRunner, event: SchedulerEvent): JobState | undefined {
  if (event.type !== "job-done" && event.type !== "job-failed") return undefined;
  try {
    return scheduler.jobs.read(event.jobId);
  } catch {
    return undefined;
  }
}

/**
 * The intake of `POST /jobs`: each uploaded image becomes a checked job (`checkJob`), recorded
 * and run by the scheduler. `?wait=1` answers once all jobs have settled (a load client's
 * round trip): 200 with each job's view; when any failed, 422 JOB_FAILED if every failure was
 * the input's fault (a file that does not decode), else 502; without it, 202 at once with the ids.
 */
function createIntake(opts: Options, scheduler: JobRunner, figures: Figures) {
  const maxUpload = parseSize(opts.maxUpload, "--max-upload");
  // Image jobs accepted and not yet settled, those still being read or decoded included: what `chooseSplit` weighs.
  let imageJobsOpen = 0;
  scheduler.on((event) => {
    if ((event.type === "job-done" || event.type === "job-failed") && findJob(scheduler, event)?.op !== "classify") imageJobsOpen -= 1;
  });

  /** The job one uploaded image becomes: classify; an image op as its file for one worker, or decoded here and cut into stripes (`chooseSplit`). */
  const toJob = async (task: CheckedOp, format: OutputFormat, image: UploadedImage): Promise<Job> => {
    const { size, encoded, where } = image;
    const details = { id: randomUUID(), format, source: { name: where, bytes: encoded.length } };
    if (task.op === "classify") return checkJob({ ...task, ...details, encoded }, true);
    const split = chooseSplit({ op: task.op, ...size, fileBytes: encoded.length, unfinishedJobs: imageJobsOpen, workers: scheduler.workersFor(task.op), mode: opts.split as SplitMode });
    if (split === "file") return checkJob({ ...task, ...details, encoded, size }, true);
    const decodeStarted = performance.now();
    const raw = await decodeToRaw(encoded, where);
    figures.timing.add("decode", performance.now() - decodeStarted);
    return checkJob({ ...task, ...details, image: raw }, true);
  };

  /** Checks every image into a job, then records them all or none. */
  const submitAll = async (task: CheckedOp, format: OutputFormat, images: UploadedImage[]): Promise<{ job: JobState; settled: Promise<unknown> }[]> => {
    const counted = task.op === "classify" ? 0 : images.length;
    imageJobsOpen += counted;
    try {
      const jobs: Job[] = [];
      for (const image of images) jobs.push(await toJob(task, format, image));
      scheduler.jobs.makeRoom(jobs.length);
      return jobs.map((job) => {
        const settled = scheduler.submit(job).catch(() => {});
        return { job: scheduler.jobs.read(job.id!), settled };
      });
    } catch (error) {
      imageJobsOpen -= counted;
      throw error;
    }
  };

  return async (request: Request): Promise<Response> => {
    if (figures.span.stopped) throw new FleetError("STOPPING", "the manager is stopping", 503);
    const { task, format, images } = await readJobRequest(request, maxUpload, (count) => scheduler.jobs.makeRoom(count));
    const created = await submitAll(task, format, images);
    // On a broker, a job is accepted once it is durable (its record saved, its tasks in the stream).
    if (scheduler.accepted) await Promise.all(created.map(({ job }) => scheduler.accepted!(job.id)));
    figures.accept(created.length);
    if (!new URL(request.url).searchParams.has("wait")) return jsonResponse({ jobs: created.map(({ job }) => ({ id: job.id })) } satisfies JobsAccepted, 202);
    await Promise.all(created.map(({ settled }) => settled));
    return toWaitAnswer(created.map(({ job }) => job));
  };
}

/** The answer of `POST /jobs?wait=1` once its jobs have settled. */
function toWaitAnswer(jobs: JobState[]): Response {
  const views = jobs.map(toJobView);
  const failed = jobs.filter((job) => job.state === "failed");
  if (failed.length === 0) return jsonResponse({ jobs: views }, 200);
  const status = failed.every((job) => job.error!.status < 500) ? 422 : 502;
  return jsonResponse({ error: "JOB_FAILED", message: `${failed.length} of ${views.length} jobs failed: ${toJobView(failed[0]!).error}`, jobs: views }, status);
}

/** The job `id` from this manager's table, else (on a broker) from the records every manager shares. @throws FleetError JOB_NOT_FOUND (404). */
async function readJob(scheduler: JobRunner, id: string): Promise<SharedJob> {
  try {
    const job = scheduler.jobs.read(id);
    // An output left in the broker's Object Store is read from there.
    if (job.output && "data" in job.output && job.output.data === REMOTE_PIXELS && scheduler.readShared) return await scheduler.readShared(id);
    return { view: toJobView(job), format: job.format, output: job.output };
  } catch (error) {
    if (!scheduler.readShared || (error as FleetError).code !== "JOB_NOT_FOUND") throw error;
    return scheduler.readShared(id);
  }
}

/** `GET /jobs/:id/result`: the image encoded in the job's format, or classify's objects. */
async function readResult(scheduler: JobRunner, id: string): Promise<Response> {
  const { view, format, output } = await readJob(scheduler, id);
  if (view.state === "failed") throw new FleetError("JOB_FAILED", `job ${id} failed: ${view.error}`, 409);
  if (view.state !== "done" || !output) throw new FleetError("JOB_NOT_DONE", `job ${id} is ${view.state} (${Math.round(view.progress * 100)}%)`, 409);
  return "objects" in output ? jsonResponse(output, 200) : encodeImage(output, format);
}

/** The manager's `/stats`. */
function toStats(scheduler: JobRunner, figures: Figures, port: number, auth: RoleContext["auth"]): ManagerStats {
  const states = scheduler.jobs.countStates();
  const { totals } = figures;
  const elapsedMs = figures.span.elapsedMs();
  return {
    role: "manager",
    ...(auth ? { auth } : {}),
    port,
    worker_port: scheduler.port,
    workers: figures.span.stopped ? 0 : scheduler.workerList().length,
    jobs_accepted: totals.accepted,
    jobs_queued: states.queued,
    jobs_running: states.running,
    jobs_done: totals.done,
    jobs_failed: totals.failed,
    tasks_retried: totals.retried,
    tasks_discarded: totals.discarded,
    outputs_bytes: scheduler.jobs.outputBytes,
    ...figures.span.rates(totals.done, totals.bytes),
    elapsed_s: elapsedMs / 1000,
    timing_ms: figures.timing.means(),
    series: figures.series.points(),
  };
}

/** `GET /workers`: credit, load and last heartbeat of each worker. */
function toWorkerRows(scheduler: JobRunner): WorkerRow[] {
  return scheduler.workerList().map((worker) => ({
    id: worker.workerId,
    credit: worker.credit,
    in_flight: worker.inFlight,
    done: worker.done,
    cpu_percent: worker.cpuPercent,
    rss_mb: Math.round(worker.rssBytes / 1048576),
    last_heard_ms: worker.silentMs,
  }));
}

/** The HTTP side's routes: jobs in, views and results out, figures, workers, `/events`, the upload page. */
async function createServer(opts: Options, context: RoleContext, scheduler: JobRunner, figures: Figures, port: () => number) {
  const submit = createIntake(opts, scheduler, figures);
  const gate = toGateRules(context.token, context.auth);
  return answerErrorsAsJson(new Elysia({ serve: { maxRequestBodySize: parseSize(opts.maxUpload, "--max-upload") } }))
    .onRequest(({ request }) => checkRequest(request, gate))
    .post("/jobs", ({ request }) => submit(request).catch(errorResponse), { parse: "none" })
    .get("/jobs/:id", ({ params }) => readJob(scheduler, params.id).then(({ view }) => view, errorResponse))
    .get("/jobs/:id/result", ({ params }) => Promise.resolve().then(() => readResult(scheduler, params.id)).catch(errorResponse))
    .get("/stats", () => toStats(scheduler, figures, port(), context.auth))
    .get("/ops", (): OpsView => describeOps())
    .get("/workers", (): WorkerRow[] => (figures.span.stopped ? [] : toWorkerRows(scheduler)))
    .ws("/events", { open: (ws) => void ws.subscribe(EVENTS_TOPIC) })
    .get("/", () => Bun.file(join(WEB_DIR, "upload.html")))
    .use(await staticPlugin({ assets: WEB_DIR, prefix: "/", indexHTML: false, alwaysStatic: false }));
}

export default {
  name: "manager",
  summary: "image jobs over HTTP, cut into stripes or sent whole, run by the workers that dial its worker port",
  options,
  takesToken: true,
  async start(opts, context): Promise<RoleHandle> {
    const figures = new Figures(context.observe);
    const scheduler = await startScheduler(opts, context);
    let listening: { publish(topic: string, data: string): unknown } | undefined;
    let boundPort = 0;
    // The one channel: every event is counted, logged and sent on /events, in order.
    scheduler.on((event) => {
      const job = findJob(scheduler, event);
      figures.take(event, job);
      logEvent(context, event, job);
      listening?.publish(EVENTS_TOPIC, JSON.stringify(toJobEvent(event)));
    });
    // Other managers' events on the same broker, for `/events` here too.
    scheduler.onShared?.((event) => listening?.publish(EVENTS_TOPIC, JSON.stringify(event)));
    const server = await createServer(opts, context, scheduler, figures, () => boundPort);
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
      figures.span.stop();
      listening = undefined;
      // Reverse order of start: HTTP first (no new jobs), then the scheduler (pending jobs fail with SCHEDULER_STOPPED).
      const outcomes: PromiseSettledResult<unknown>[] = await Promise.allSettled([server.stop(true)]);
      outcomes.push(...(await Promise.allSettled([scheduler.stop("manager stopping")])));
      const failures = outcomes.filter((outcome) => outcome.status === "rejected").map((outcome) => outcome.reason);
      if (failures.length > 0) throw new AggregateError(failures, "manager: stop failed");
    };
    return { stats: () => toStats(scheduler, figures, boundPort, context.auth), stop: () => (stopped ??= stop()) };
  },
} satisfies Role<typeof options>;
