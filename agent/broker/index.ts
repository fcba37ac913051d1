// The NATS JetStream broker transport shared by the manager and the workers. Re-exports by name.
export { connectBroker, parseBrokerUrl, SERVER_HINT, type BrokerConnection } from "./connect";
export { fromBody, openPayloads, packMessage, putPayload, toBody, unpackMessage } from "./codec";
export { BIG_PAYLOAD_BYTES, GIVEN_UP_STREAM, HEADERS, PAYLOAD_BUCKET, RESULT_STREAM, TASK_STREAMS, WORKER_BEATS, WORKER_CONSUMER, toResultSubject, toSubjectToken, toTaskStream, toTaskSubject, type WorkerBeat, type WorkerKind } from "./names";
export { configureConsumers, ensureStreams, MAX_ACK_PENDING, type AttemptRules } from "./setup";
