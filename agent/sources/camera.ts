// A live source: the Pi camera through rpicam-vid, or else a V4L2 camera through ffmpeg, as MJPEG.
import { existsSync } from "node:fs";
import { FleetError } from "../errors";
import { openMjpegCommand } from "./mjpeg-cmd";
import type { FrameSource } from "./types";

/** The V4L2 device ffmpeg reads when rpicam-vid is missing (a USB webcam, or a Pi camera under libcamera's V4L2 layer). */
const V4L2_DEVICE = "/dev/video0";
/** 1280x720 at 30 fps, MJPEG to stdout, no preview window, no time limit. */
const RPICAM_COMMAND = "rpicam-vid -t 0 --codec mjpeg --width 1280 --height 720 --framerate 30 -n -o -";
/** The camera's own MJPEG frames, copied without re-encoding. */
const FFMPEG_COMMAND = `ffmpeg -hide_banner -loglevel error -f v4l2 -input_format mjpeg -i ${V4L2_DEVICE} -c copy -f mjpeg -`;

/**
 * Opens the camera: rpicam-vid when it is on PATH, else ffmpeg reading /dev/video0.
 * @throws FleetError NO_CAMERA (422) when neither is available; SOURCE_FAILED from the command.
 */
export async function openCamera(): Promise<FrameSource> {
  if (Bun.which("rpicam-vid")) return openMjpegCommand(RPICAM_COMMAND, { kind: "camera" });
  if (existsSync(V4L2_DEVICE) && Bun.which("ffmpeg")) return openMjpegCommand(FFMPEG_COMMAND, { kind: "camera" });
  throw new FleetError(
    "NO_CAMERA",
    `no camera found: rpicam-vid is not on PATH, and ffmpeg with ${V4L2_DEVICE} is not available (${
      existsSync(V4L2_DEVICE) ? "ffmpeg is not on PATH" : `${V4L2_DEVICE} does not exist`
    })`,
    422,
  );
}
