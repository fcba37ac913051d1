// What the worker roles share, by name: the session with the manager (dial, hello, credit, heartbeats) and the image task.
export { sessionOptions, startWorkerSession, type SessionSettings, type TaskRunner } from "./_session";
export { readTask, runTask, toTaskFailure, type ImageTask } from "./_task";
