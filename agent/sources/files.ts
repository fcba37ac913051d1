// A stored source: JPEG files from a file, a folder or a glob, read once and looped.
import { stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { FleetError } from "../errors";
import { readJpegHeader } from "../imaging/jpeg";
import { cycleFrames } from "./_cycle";
import type { FrameSource } from "./types";

/** Largest total of file bytes a files source holds in memory (512 MB), so a wrong glob cannot exhaust a Pi. */
const MAX_TOTAL_BYTES = 512 * 1024 * 1024;
const JPEG_NAME = /\.jpe?g$/i;

/**
 * Splits a files path into the folder it reads from (the path up to its first segment with a
 * wildcard; the path itself when it has none) and the glob pattern of the rest.
 */
export function splitGlob(path: string): { folder: string; pattern: string } {
  const segments = path.split("/");
  const wild = segments.findIndex((segment) => /[*?[{]/.test(segment));
  if (wild < 0) return { folder: path, pattern: "" };
  return { folder: segments.slice(0, wild).join("/") || (path.startsWith("/") ? "/" : "."), pattern: segments.slice(wild).join("/") };
}

/** Lists the JPEG paths a files spec names, sorted: a file, every *.jpg/*.jpeg in a folder, or a glob's matches. */
export async function listPaths(path: string): Promise<string[]> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return [path];
  const { folder, pattern } = info?.isDirectory() ? { folder: path, pattern: "*.{jpg,jpeg,JPG,JPEG}" } : splitGlob(path);
  if (pattern === "" || !(await stat(folder).catch(() => undefined))?.isDirectory()) return [];
  const found: string[] = [];
  for await (const match of new Bun.Glob(pattern).scan({ cwd: folder, onlyFiles: true, absolute: false })) {
    if (JPEG_NAME.test(match)) found.push(join(folder, match));
  }
  return found.sort();
}

/**
 * Opens a looping source over the JPEG files at `path` (file, folder or glob).
 * Each file is read once and checked with the JPEG header reader.
 * @throws FleetError NO_FILES (no JPEG matched), BAD_FILE (a file is not a whole JPEG),
 *   TOO_MANY_BYTES (over 512 MB in all); status 422.
 */
export async function openFiles(path: string): Promise<FrameSource> {
  const paths = await listPaths(path);
  if (paths.length === 0) throw new FleetError("NO_FILES", `source files:${path}: no .jpg or .jpeg file matched`, 422);
  const images: { name: string; data: Uint8Array }[] = [];
  let total = 0;
  for (const file of paths) {
    const data = new Uint8Array(await Bun.file(file).arrayBuffer());
    total += data.length;
    if (total > MAX_TOTAL_BYTES) throw new FleetError("TOO_MANY_BYTES", `source files:${path}: more than 512 MB of images`, 422);
    try {
      readJpegHeader(data);
    } catch (error) {
      throw new FleetError("BAD_FILE", `source files:${path}: ${resolve(file)} is not a whole JPEG`, 422, { cause: error });
    }
    images.push({ name: basename(file), data });
  }
  return cycleFrames("files", (seq) => images[seq % images.length]!);
}
