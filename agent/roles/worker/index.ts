// What the worker roles share, by name: one transport choice (TCP session with the manager, or NATS pull from the broker) and the image task.
export { sessionOptions, type SessionSettings, type TaskRunner } from "./_session";
export { startWorker, type WorkerTransport } from "./_transport";
export { readTask, runTask, toTaskFailure, type ImageTask } from "./_task";
