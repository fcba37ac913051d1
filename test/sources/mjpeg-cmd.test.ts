// Tests the mjpeg-cmd source against real commands (ffmpeg, sh) and the camera source's fallback.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readJpegHeader } from "../../agent/imaging/jpeg";
import { openCamera } from "../../agent/sources/camera";
import { openMjpegCommand } from "../../agent/sources/mjpeg-cmd";
import type { Frame, FrameSource } from "../../agent/sources/types";
import { testWith } from "../_requires";

const CHELSEA = join(import.meta.dir, "../fixtures/chelsea.jpg");
const testsrc = (seconds: number, flags = "") =>
  `ffmpeg -hide_banner -loglevel error ${flags} -f lavfi -i testsrc2=size=320x240:rate=30 -t ${seconds} -f mjpeg -`;

const opened: FrameSource[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((source) => source.close()));
});

async function open(command: string, options?: Parameters<typeof openMjpegCommand>[1]): Promise<FrameSource> {
  const source = await openMjpegCommand(command, options);
  opened.push(source);
  return source;
}

/** Takes frames until next() rejects; returns the frames and the rejection. */
async function drain(source: FrameSource): Promise<{ frames: Frame[]; error: unknown }> {
  const frames: Frame[] = [];
  for (;;) {
    try {
      frames.push(await source.next());
    } catch (error) {
      return { frames, error };
    }
  }
}

/** Whether a process is alive: listed in /proc and neither a zombie nor dead. */
function isRunning(pid: number): boolean {
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
  return state !== "" && state !== "Z" && state !== "X";
}

/**
 * Whether a process that is not our child stops within `ms`. It cannot be waited for,
 * and it closes its stdout (which ends close()) a moment before it exits: so poll.
 */
async function stopsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (isRunning(pid) && performance.now() < deadline) await Bun.sleep(5);
  return !isRunning(pid);
}

describe("openMjpegCommand", () => {
  testWith("ffmpeg")("delivers ffmpeg's frames newest first, then SOURCE_ENDED when it exits", async () => {
    const source = await open(testsrc(3));
    const { frames, error } = await drain(source);
    expect(frames.length).toBeGreaterThan(0);
    for (const frame of frames) expect(readJpegHeader(frame.data)).toEqual({ width: 320, height: 240, components: 3 });
    expect(frames.every((frame, index) => index === 0 || frame.seq > frames[index - 1]!.seq)).toBe(true);
    expect(error).toMatchObject({ code: "SOURCE_ENDED", status: 410, message: expect.stringContaining("exit code 0") });
    expect(source.stats()).toEqual({ kind: "mjpeg-cmd", frames: 90, dropped: 90 - frames.length, up: false });
    await expect(source.next()).rejects.toMatchObject({ code: "SOURCE_ENDED" });
  });

  test("rejects a pending next() with SOURCE_ENDED, the exit code and stderr when the command exits", async () => {
    const folder = mkdtempSync(join(tmpdir(), "framefleet-mjpeg-"));
    try {
      const fifo = join(folder, "fifo");
      Bun.spawnSync(["mkfifo", fifo]);
      // The command sends one frame, then waits on the fifo until the test lets it exit.
      const source = await open(`cat ${CHELSEA}; cat ${fifo} > /dev/null; echo bye >&2; exit 7`);
      const first = await source.next();
      const pending = source.next();
      writeFileSync(fifo, "go");
      await expect(pending).rejects.toMatchObject({
        code: "SOURCE_ENDED",
        status: 410,
        message: expect.stringMatching(/ended with exit code 7: bye$/),
      });
      expect({ seq: first.seq, stats: source.stats() }).toEqual({ seq: 0, stats: { kind: "mjpeg-cmd", frames: 1, dropped: 0, up: false } });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test("rejects with SOURCE_FAILED, the exit code and stderr when the command fails at once", async () => {
    await expect(open("echo starting >&2; echo boom >&2; exit 3")).rejects.toMatchObject({
      code: "SOURCE_FAILED",
      status: 422,
      message: expect.stringMatching(/ended before its first JPEG frame, exit code 3: starting \| boom$/),
    });
  });

  test("rejects with SOURCE_FAILED and stops the command when no frame comes in time", async () => {
    await expect(open("echo warming up >&2; sleep 30", { firstFrameTimeoutMs: 200 })).rejects.toMatchObject({
      code: "SOURCE_FAILED",
      message: expect.stringMatching(/sent no JPEG frame within 0.2 s, signal SIGTERM: warming up$/),
    });
  });

  testWith("ffmpeg")("close() stops a long-running ffmpeg and its shell with SIGTERM", async () => {
    const folder = mkdtempSync(join(tmpdir(), "framefleet-mjpeg-"));
    try {
      // ffmpeg runs in the background of the shell, so killing the shell alone would leave it running.
      const source = await open(`${testsrc(60, "-re")} & echo $! > ${folder}/pid; wait`);
      const frame = await source.next();
      const pid = Number(readFileSync(join(folder, "pid"), "utf8"));
      expect(isRunning(pid)).toBe(true);
      const signals = await recordGroupSignals(async () => {
        await source.close();
        await source.close();
      });
      expect({
        header: readJpegHeader(frame.data),
        signals,
        stopped: await stopsWithin(pid, 10_000),
        up: source.stats().up,
      }).toEqual({ header: { width: 320, height: 240, components: 3 }, signals: ["SIGTERM"], stopped: true, up: false });
      await expect(source.next()).rejects.toMatchObject({ code: "SOURCE_CLOSED" });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  test("close() sends SIGKILL when the command ignores SIGTERM", async () => {
    const source = await open(`trap '' TERM; cat ${CHELSEA}; sleep 30`);
    const frame = await source.next();
    const signals = await recordGroupSignals(() => source.close());
    expect({ frame: frame.data, signals }).toEqual({ frame: new Uint8Array(readFileSync(CHELSEA)), signals: ["SIGTERM", "SIGKILL"] });
  });
});

/** Runs `run` with process.kill spied on (still signalling); answers the signals sent to process groups (negative pids), in order. */
async function recordGroupSignals(run: () => Promise<unknown>): Promise<string[]> {
  const kill = spyOn(process, "kill");
  try {
    await run();
    return kill.mock.calls.filter(([pid]) => pid < 0).map(([, signal]) => String(signal));
  } finally {
    kill.mockRestore();
  }
}

describe("openCamera", () => {
  const hasCamera = Boolean(Bun.which("rpicam-vid")) || existsSync("/dev/video0");
  test.skipIf(hasCamera)("rejects with NO_CAMERA without rpicam-vid or /dev/video0", async () => {
    await expect(openCamera()).rejects.toMatchObject({ code: "NO_CAMERA", status: 422, message: expect.stringContaining("rpicam-vid") });
  });
});
