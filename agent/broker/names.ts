// The broker's names, defined once: task streams and subjects per op, the result stream, buckets, headers, the size past which a payload goes through the Object Store.
import { OP_DEFINITIONS, OPS, type Op } from "../protocol";

/** Which workers run an op: a stream of tasks per kind, one consumer shared by that kind's workers. */
export type WorkerKind = (typeof OP_DEFINITIONS)[Op]["worker"];

/** The subject a task of `op` is published on. */
export function toTaskSubject(op: Op): string {
  return `framefleet.task.${op}`;
}

/** The work-queue stream of each worker kind (a 2.9 server filters one subject per consumer, so each kind has a stream of its own). */
export const TASK_STREAMS: Record<WorkerKind, { name: string; subjects: string[] }> = {
  image: { name: "FRAMEFLEET_IMAGE_TASKS", subjects: OPS.filter((op) => OP_DEFINITIONS[op].worker === "image").map(toTaskSubject) },
  recognition: { name: "FRAMEFLEET_CLASSIFY_TASKS", subjects: OPS.filter((op) => OP_DEFINITIONS[op].worker === "recognition").map(toTaskSubject) },
};

/** The stream of an op's tasks. */
export function toTaskStream(op: Op): string {
  return TASK_STREAMS[OP_DEFINITIONS[op].worker].name;
}

/** The durable pull consumer every worker of a kind shares: AckWait = the task timeout, MaxDeliver = the attempts. */
export const WORKER_CONSUMER = "workers";

/** Results of every manager's tasks (limits retention, kept RESULT_MAX_AGE_MS): `framefleet.result.<manager>.<job>`. */
export const RESULT_STREAM = "FRAMEFLEET_RESULTS";
/** How long results stay in RESULT_STREAM, so another manager can collect a crashed one's: 1 hour. */
export const RESULT_MAX_AGE_MS = 60 * 60 * 1000;

/** The subject a worker publishes the results of `job` to (told in the task's REPLY header). */
export function toResultSubject(manager: string, job: string): string {
  return `framefleet.result.${manager}.${job}`;
}

/**
 * The server's MAX_DELIVERIES advisories of the workers' consumers (a task each delivery of which
 * timed out), kept as long as results: a manager that takes over a crashed one reads those sent
 * while the job had no live owner, which a core subscription would have missed.
 */
export const GIVEN_UP_STREAM = "FRAMEFLEET_GIVEN_UP";

/** The subject of the MAX_DELIVERIES advisory of the workers' consumer on task stream `stream` (NATS JetStream advisories). */
export function toGivenUpSubject(stream: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${WORKER_CONSUMER}`;
}

/** Object Store bucket for payloads over BIG_PAYLOAD_BYTES, its objects kept at most PAYLOAD_TTL_MS. */
export const PAYLOAD_BUCKET = "framefleet-payloads";
export const PAYLOAD_TTL_MS = 60 * 60 * 1000;
/** Payloads over 512 KiB travel through the Object Store (the client refuses messages over the server's 1 MiB max_payload). */
export const BIG_PAYLOAD_BYTES = 512 * 1024;

/** Core-NATS subject of worker heartbeats (who is there, credit, load): not persisted. */
export const WORKER_BEATS = "framefleet.worker.beat";

/** A worker's heartbeat on WORKER_BEATS (JSON), every second: its ops and credit, its tasks in flight and done, CPU % and RSS bytes. */
export interface WorkerBeat {
  workerId: string;
  ops: string[];
  credit: number;
  cores: number;
  inFlight: number;
  done: number;
  cpuPercent: number;
  rssBytes: number;
}

/** NATS headers of tasks and results. */
export const HEADERS = {
  /** The task id (`JOB/sN`). */
  task: "Framefleet-Task",
  /** The subject results go to. */
  reply: "Framefleet-Reply",
  /** The Object Store name holding the payload. */
  object: "Framefleet-Object",
  /** The worker that answers. */
  worker: "Framefleet-Worker",
  /** Set on a result whose delivery expired (AckWait passed without working()) before it was sent: never taken. */
  late: "Framefleet-Late",
} as const;

/** `text` made a legal subject token (no dots, wildcards or spaces). */
export function toSubjectToken(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, "_");
}
