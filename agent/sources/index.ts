// Parses a `--source` spec and opens the frame source it names.
import { FleetError } from "../errors";
import type { FrameSource } from "./types";

export type { Frame, FrameSource, SourceStats } from "./types";

/** A parsed `--source` spec. */
export type SourceSpec =
  | { kind: "synthetic"; width: number; height: number }
  | { kind: "files"; path: string }
  | { kind: "mjpeg-cmd"; command: string }
  | { kind: "camera" }
  | { kind: "mjpeg-url"; url: string };

/** Default synthetic frame size: 640x480 (VGA), a common Pi camera preview size. */
const SYNTHETIC_DEFAULT = { width: 640, height: 480 };
/** Largest synthetic side in pixels (8K). */
const SYNTHETIC_MAX_SIDE = 7680;

/**
 * Parses `synthetic[:WxH]`, `files:PATH`, `mjpeg-cmd:COMMAND`, `camera` or `mjpeg-url:URL` (http or https).
 * @throws FleetError BAD_SOURCE (422) naming the spec.
 */
export function parseSourceSpec(spec: string): SourceSpec {
  const [kind, ...rest] = spec.split(":");
  const argument = rest.join(":");
  if (kind === "synthetic") {
    if (argument === "") return { kind, ...SYNTHETIC_DEFAULT };
    const match = /^(\d+)x(\d+)$/.exec(argument);
    const width = Number(match?.[1]);
    const height = Number(match?.[2]);
    if (!match || width < 16 || height < 16 || width > SYNTHETIC_MAX_SIDE || height > SYNTHETIC_MAX_SIDE)
      throw new FleetError("BAD_SOURCE", `source "${spec}": size must be WIDTHxHEIGHT, each 16..${SYNTHETIC_MAX_SIDE}`, 422);
    return { kind, width, height };
  }
  if (kind === "files" && argument !== "") return { kind, path: argument };
  if (kind === "mjpeg-cmd" && argument.trim() !== "") return { kind, command: argument };
  if (kind === "camera" && argument === "") return { kind };
  if (kind === "mjpeg-url" && /^https?:\/\/[^/]/.test(argument) && URL.canParse(argument)) return { kind, url: argument };
  throw new FleetError(
    "BAD_SOURCE",
    `source "${spec}": expected synthetic[:WxH], files:PATH, mjpeg-cmd:COMMAND, camera or mjpeg-url:http://HOST:PORT/stream`,
    422,
  );
}

/** Whether a spec makes the agent run a program: such specs are refused from the network unless allowed. */
export function runsCommand(spec: SourceSpec): boolean {
  return spec.kind === "mjpeg-cmd" || spec.kind === "camera";
}

/**
 * Opens the source a spec names (each kind's module is loaded on first use); `settings.quality` (1-100) is the JPEG quality of generated frames.
 * @throws FleetError from the source (NO_FILES, NO_CAMERA, ...).
 */
export async function openSource(spec: SourceSpec, settings: { quality: number } = { quality: 85 }): Promise<FrameSource> {
  switch (spec.kind) {
    case "synthetic":
      return (await import("./synthetic")).openSynthetic(spec.width, spec.height, settings.quality);
    case "files":
      return (await import("./files")).openFiles(spec.path);
    case "mjpeg-cmd":
      return (await import("./mjpeg-cmd")).openMjpegCommand(spec.command);
    case "camera":
      return (await import("./camera")).openCamera();
    case "mjpeg-url":
      return (await import("./mjpeg-url")).openMjpegUrl(spec.url);
  }
}
