// Where a role started over the network may read and write: inside the agent's working folder or data dir, after realpath.
import { realpath } from "node:fs/promises";
import { dirname, isAbsolute, normalize, relative, resolve } from "node:path";
import { FleetError } from "../errors";
import { listPaths, splitGlob } from "../sources/files";
import { STATE_FOLDER } from "../roles/receiver";

/** True when `path` is `root` or inside it (both absolute and already resolved). */
function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** `path` with every symlink resolved; for a path that does not exist yet, its nearest existing ancestor's realpath joined with the rest. */
async function resolveReal(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    if (parent === absolute) return absolute;
    return resolve(await resolveReal(parent), relative(parent, absolute));
  }
}

/** The folders network-started roles may touch: the agent's working folder and its data dir, as realpaths. */
export async function resolveRoots(dataDir: string): Promise<string[]> {
  return [await resolveReal("."), await resolveReal(dataDir)];
}

/** Whether a path has a `..` segment (either separator). */
function hasParentSegment(path: string): boolean {
  return path.split(/[\\/]/).includes("..");
}

function refuse(field: string, path: string, why: string): FleetError {
  return new FleetError(
    "PATH_REFUSED",
    `${field} "${path}" ${why}; such paths are taken only from the agent's own command line (or when it runs with --allow-files-anywhere)`,
    403,
  );
}

/**
 * Checks a `files:` spec from the network: no `..` segment, and its folder and every file it
 * matches (each glob match, after realpath, so a symlink out is caught) inside `roots`.
 * @throws FleetError PATH_REFUSED (403) naming the spec and the first file outside.
 */
export async function checkFilesSpec(field: string, spec: string, roots: string[]): Promise<void> {
  if (hasParentSegment(spec)) throw refuse(field, spec, "has a .. segment");
  await checkReadPath(field, splitGlob(spec).folder, roots);
  for (const match of await listPaths(spec)) {
    const real = await resolveReal(match);
    if (!roots.some((root) => isInside(real, root))) throw refuse(field, spec, `reads ${real}, outside the agent's working folder and data dir`);
  }
}

/**
 * Checks one path from the network (a model file or folder) the same way: no `..`, inside `roots` after realpath.
 * @throws FleetError PATH_REFUSED (403).
 */
export async function checkReadPath(field: string, path: string, roots: string[]): Promise<void> {
  if (hasParentSegment(path)) throw refuse(field, path, "has a .. segment");
  const real = await resolveReal(path);
  if (!roots.some((root) => isInside(real, root))) throw refuse(field, path, `resolves to ${real}, outside the agent's working folder and data dir`);
}

/**
 * Places an output folder from the network inside the data dir: relative, no `..`, and its
 * existing part (after realpath: no symlink out) inside the data dir.
 * @returns the absolute folder to write to.
 * @throws FleetError PATH_REFUSED (403).
 */
export async function placeOutput(field: string, out: string, dataDir: string): Promise<string> {
  const path = normalize(out);
  if (path.split(/[\\/]/).includes(STATE_FOLDER))
    throw new FleetError("PATH_REFUSED", `${field} "${out}" names a receiver's own state folder (${STATE_FOLDER}); choose another folder`, 403);
  if (isAbsolute(path) || hasParentSegment(path))
    throw new FleetError("PATH_REFUSED", `${field} "${out}" must be a relative path inside the agent's data dir`, 403);
  const placed = resolve(dataDir, path);
  const root = await resolveReal(dataDir);
  const real = await resolveReal(placed);
  if (!isInside(real, root)) throw new FleetError("PATH_REFUSED", `${field} "${out}" resolves to ${real}, outside the agent's data dir`, 403);
  return placed;
}
