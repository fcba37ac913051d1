// The broker's streams and consumers: created when missing by whoever comes first; the manager sets AckWait and MaxDeliver.
import { AckPolicy, DiscardPolicy, RetentionPolicy, type JetStreamManager } from "@nats-io/jetstream";
import { GIVEN_UP_STREAM, RESULT_MAX_AGE_MS, RESULT_STREAM, TASK_STREAMS, toGivenUpSubject, WORKER_CONSUMER } from "./names";

/** Unacknowledged tasks a kind's consumer hands out at once, the whole fleet together (each worker's own credit is its pull batch). */
export const MAX_ACK_PENDING = 1024;
/** Bytes the result stream keeps (oldest dropped past it). */
const RESULT_MAX_BYTES = 2 * 1024 * 1024 * 1024;
/** Tasks a task stream holds at most (publishing fails past it: the manager answers 503). */
const TASK_MAX_MSGS = 100_000;

const NOT_FOUND = /not found/i;

/** The consumer settings the manager owns: ms an attempt may run without working() (AckWait), attempts per task (MaxDeliver). */
export interface AttemptRules {
  ackWaitMs: number;
  maxAttempts: number;
}

async function ensureStream(jsm: JetStreamManager, config: Parameters<JetStreamManager["streams"]["add"]>[0]): Promise<void> {
  try {
    await jsm.streams.info(config.name!);
  } catch (error) {
    if (!NOT_FOUND.test((error as Error).message)) throw error;
    await jsm.streams.add(config).catch((error) => {
      if (!/already in use/i.test((error as Error).message)) throw error;
    });
  }
}

/** Advisories GIVEN_UP_STREAM keeps at most (oldest dropped past it). */
const GIVEN_UP_MAX_MSGS = 100_000;

/** Creates the task streams (work queues), the result stream and the given-up advisories' stream where missing. */
export async function ensureStreams(jsm: JetStreamManager): Promise<void> {
  for (const { name, subjects } of Object.values(TASK_STREAMS))
    await ensureStream(jsm, { name, subjects, retention: RetentionPolicy.Workqueue, max_msgs: TASK_MAX_MSGS, discard: DiscardPolicy.New });
  await ensureStream(jsm, { name: RESULT_STREAM, subjects: ["framefleet.result.>"], retention: RetentionPolicy.Limits, max_age: RESULT_MAX_AGE_MS * 1e6, max_bytes: RESULT_MAX_BYTES, duplicate_window: 120e9 });
  const givenUp = Object.values(TASK_STREAMS).map(({ name }) => toGivenUpSubject(name));
  await ensureStream(jsm, { name: GIVEN_UP_STREAM, subjects: givenUp, retention: RetentionPolicy.Limits, max_age: RESULT_MAX_AGE_MS * 1e6, max_msgs: GIVEN_UP_MAX_MSGS });
}

/**
 * Sets the workers' consumer of each task stream to `rules` (creating it when missing; a
 * manager with other rules overrides: the last manager started wins). With `onlyIfMissing`
 * (a worker) an existing consumer is left as it is.
 */
export async function configureConsumers(jsm: JetStreamManager, rules: AttemptRules, onlyIfMissing = false): Promise<void> {
  const settings = { ack_wait: rules.ackWaitMs * 1e6, max_deliver: rules.maxAttempts, max_ack_pending: MAX_ACK_PENDING };
  for (const { name } of Object.values(TASK_STREAMS)) {
    let exists = true;
    try {
      await jsm.consumers.info(name, WORKER_CONSUMER);
    } catch (error) {
      if (!NOT_FOUND.test((error as Error).message)) throw error;
      exists = false;
    }
    if (!exists) await jsm.consumers.add(name, { durable_name: WORKER_CONSUMER, ack_policy: AckPolicy.Explicit, ...settings });
    else if (!onlyIfMissing) await jsm.consumers.update(name, WORKER_CONSUMER, settings);
  }
}
