// What the manager's HTTP side needs of a scheduler: the TCP one (workers dial its port) or the broker one (workers pull from NATS JetStream).
import type { Job } from "../../../protocol";
import type { EventListener } from "./_events";
import type { JobTable } from "./jobs";
import type { JobOutput } from "./_tasks";
import type { OutputFormat } from "../../../protocol";
import type { JobEvent, JobView } from "../../../wire";
import type { WorkerSnapshot } from "./_workers";

/** A job another manager may hold, as the shared records tell it: its view, its format, and once done its output. */
export interface SharedJob {
  view: JobView;
  format: OutputFormat;
  output?: JobOutput;
}

/** A scheduler behind the manager's routes. */
export interface JobRunner {
  /** The job records, read by the routes. */
  readonly jobs: JobTable;
  /** The worker port (0 when workers pull from a broker). */
  readonly port: number;
  /** Subscribes to the event log; returns the unsubscribe function. */
  on(listener: EventListener): () => void;
  /** Runs a checked job; resolves with its output (see `Scheduler.submit`). */
  submit(job: Job): Promise<JobOutput>;
  /** Stops; pending jobs fail with SCHEDULER_STOPPED. */
  stop(reason?: string): Promise<void>;
  /** The workers known now. */
  workerList(): WorkerSnapshot[];
  /** Live workers offering `op` that still take tasks. */
  workersFor(op: string): number;
  /** Resolves once the job is durable (broker: recorded, every task in the stream); rejects when it could not be. */
  accepted?(id: string): Promise<void>;
  /** A job not in `jobs`, from records shared by several managers. @throws FleetError JOB_NOT_FOUND (404). */
  readShared?(id: string): Promise<SharedJob>;
  /** Subscribes to the other managers' events. */
  onShared?(listener: (event: JobEvent) => void): () => void;
}
