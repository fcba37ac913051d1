// A live source: runs a shell command that writes an MJPEG stream to stdout and keeps its newest frame.
import { FleetError } from "../errors";
import { FIRST_FRAME_TIMEOUT_MS, LatestFrame } from "./_latest-frame";
import { createMjpegSplitter } from "./mjpeg-splitter";
import type { FrameSource } from "./types";
/** How long a child has between SIGTERM and SIGKILL (2 s). */
const KILL_GRACE_MS = 2_000;
/** How much of the child's stderr is kept (2 KB), so a chatty command cannot grow memory. */
const STDERR_TAIL_CHARS = 2048;
/** How many of the last stderr lines an error message quotes. */
const STDERR_LINES = 5;
/** How long to wait for the rest of stderr once the child has exited (a grandchild may hold it). */
const STDERR_DRAIN_MS = 500;

/** Options of openMjpegCommand. */
export interface MjpegCommandOptions {
  /** The kind stats() reports: `mjpeg-cmd` unless a wrapper such as the camera source names itself. */
  kind?: string;
  /** How long to wait for the first frame, ms (10 s). */
  firstFrameTimeoutMs?: number;
}

type Child = Bun.Subprocess<"ignore", "pipe", "pipe">;

/** Resolves true when `promise` settles within `ms`, false otherwise; the timer never outlives it. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Hands every chunk of `stream` to `onChunk` until the stream ends. */
async function readChunks(stream: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const reader = stream.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) onChunk(read.value);
}

/** Reads a stream to its end keeping only its last characters; `text()` gives its last lines. */
function keepTail(stream: ReadableStream<Uint8Array>): { text(): string; done: Promise<void> } {
  const decoder = new TextDecoder();
  let tail = "";
  const done = readChunks(stream, (chunk) => {
    tail = (tail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL_CHARS);
  }).catch(() => undefined);
  const text = () => {
    const lines = tail.split("\n").map((line) => line.trim()).filter((line) => line !== "");
    return lines.slice(-STDERR_LINES).join(" | ") || "(nothing on stderr)";
  };
  return { text, done };
}

/** Describes how a child ended: `exit code 3` or `signal SIGTERM`. */
function describeExit(child: Child): string {
  return child.exitCode !== null ? `exit code ${child.exitCode}` : `signal ${child.signalCode}`;
}

/** Sends `signal` to the child's process group (the shell and everything it started). */
function signalGroup(child: Child, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal); // the group is gone or was never made: at most the shell is left
  }
}

/** Stops the child: SIGTERM to its group, then SIGKILL if it is still running after the grace time. */
async function stopChild(child: Child): Promise<void> {
  signalGroup(child, "SIGTERM");
  if (!(await settlesWithin(child.exited, KILL_GRACE_MS))) signalGroup(child, "SIGKILL");
  await child.exited;
}

/**
 * Runs `command` with /bin/sh in its own process group and splits its stdout into JPEG
 * frames, keeping only the newest: `next()` returns a frame newer than the last one it
 * returned, waiting if needed, and frames nobody took count as dropped. Only the local
 * CLI or an explicitly allowed agent may call this; that check is made by the caller.
 * @throws FleetError SOURCE_FAILED (422) when no frame comes within the timeout or the
 *   command ends first, quoting its exit code and the last lines of its stderr.
 */
export async function openMjpegCommand(command: string, options: MjpegCommandOptions = {}): Promise<FrameSource> {
  const child: Child = Bun.spawn(["/bin/sh", "-c", command], { stdin: "ignore", stdout: "pipe", stderr: "pipe", detached: true });
  const stderr = keepTail(child.stderr);
  const frames = new LatestFrame();
  let closing: Promise<void> | undefined;
  const splitter = createMjpegSplitter((data) => frames.push(data));
  const exited = (async () => {
    const push = (chunk: Uint8Array) => {
      if (!closing) splitter.push(chunk); // after close() the rest is drained, not split
    };
    await readChunks(child.stdout, push).catch(() => undefined); // a broken pipe ends it like an exit
    splitter.end();
    await child.exited;
    await settlesWithin(stderr.done, STDERR_DRAIN_MS);
    frames.finish(new FleetError("SOURCE_ENDED", `command "${command}" ended with ${describeExit(child)}: ${stderr.text()}`, 410));
  })();

  const source: FrameSource = {
    next: () => frames.next(),
    stats: () => ({ kind: options.kind ?? "mjpeg-cmd", frames: frames.seq, dropped: frames.dropped, up: !frames.endError }),
    close() {
      closing ??= (async () => {
        frames.close();
        await stopChild(child);
        await settlesWithin(exited, KILL_GRACE_MS); // a process outside the group may still hold stdout
      })();
      return closing;
    },
  };

  const timeoutMs = options.firstFrameTimeoutMs ?? FIRST_FRAME_TIMEOUT_MS;
  await settlesWithin(Promise.race([frames.first, exited]), timeoutMs);
  if (frames.seq > 0) return source;
  const why = frames.endError ? "ended before its first JPEG frame" : `sent no JPEG frame within ${timeoutMs / 1000} s`;
  await source.close();
  throw new FleetError("SOURCE_FAILED", `command "${command}" ${why}, ${describeExit(child)}: ${stderr.text()}`, 422);
}
