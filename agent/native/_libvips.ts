// Makes the libvips library embedded in a compiled binary loadable: copied once to a cache folder, then dlopen-ed.
import { dlopen, FFIType } from "bun:ffi";
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { FleetError } from "../errors";

/** What each `_libvips-<arch>.ts` gives: the embedded library, its file name in the package, the glibc it needs (">=2.28"). */
export interface LibvipsPackage {
  path: string;
  name: string;
  glibc: string;
}

/** Where the library was loaded from, and whether this start had to copy it. */
export interface LoadedLibvips {
  file: string;
  version: string;
  copied: boolean;
}

const symbols = { vips_version: { args: [FFIType.i32], returns: FFIType.i32 } } as const;
/** The open library: kept for the life of the process so the addon's dependency stays resolved. */
let library: ReturnType<typeof dlopen<typeof symbols>> | undefined;
let loaded: LoadedLibvips | undefined;

/** What `prepareLibvips()` loaded, or undefined when it has not run (e.g. under `bun run`). */
export function readLoadedLibvips(): LoadedLibvips | undefined {
  return loaded;
}

/**
 * Loads the embedded libvips of this arch so that sharp's addon, extracted by Bun to a
 * temporary file, finds it by its SONAME. Runs once; throws a FleetError on a platform
 * the prebuilt library does not support.
 */
export function prepareLibvips(): LoadedLibvips {
  if (loaded) return loaded;
  const lib = selectPackage();
  checkGlibc(lib.glibc);
  const { file, copied } = copyToCache(lib);
  try {
    library = dlopen(file, symbols);
  } catch (cause) {
    throw new FleetError("NATIVE_UNAVAILABLE", `image codec: cannot load ${file}: ${String(cause)}`, 500, { cause });
  }
  const [major, minor, micro] = [0, 1, 2].map((flag) => library!.symbols.vips_version(flag));
  loaded = { file, version: `${major}.${minor}.${micro}`, copied };
  return loaded;
}

/** The package of the arch this binary was built for; `process.arch` is a constant in a compiled build. */
function selectPackage(): LibvipsPackage {
  if (process.platform === "linux" && process.arch === "x64") return require("./_libvips-x64").default;
  if (process.platform === "linux" && process.arch === "arm64") return require("./_libvips-arm64").default;
  throw new FleetError(
    "NATIVE_UNSUPPORTED",
    `image codec: no libvips for ${process.platform}-${process.arch}; Framefleet binaries run on Linux x64 and arm64 (64-bit OS) only`,
    500,
  );
}

/** Throws when this system's glibc is older than `requirement` (">=2.28") or absent (musl). */
function checkGlibc(requirement: string): void {
  const report = (process as { report?: { getReport?: () => unknown } }).report?.getReport?.() as
    | { header?: { glibcVersionRuntime?: string } }
    | undefined;
  const found = report?.header?.glibcVersionRuntime;
  const needed = requirement.replace(/^>=\s*/, "");
  if (!found) {
    throw new FleetError("NATIVE_UNSUPPORTED", `image codec: needs glibc ${needed} or newer, found none (musl?)`, 500);
  }
  if (compareVersions(found, needed) < 0) {
    throw new FleetError(
      "NATIVE_UNSUPPORTED",
      `image codec: needs glibc ${needed} or newer, this system has ${found} (Raspberry Pi OS Bookworm has 2.36)`,
      500,
    );
  }
}

/** Compares dotted versions numerically: negative when a < b. */
function compareVersions(a: string, b: string): number {
  const [pa, pb] = [a, b].map((v) => v.split(".").map((n) => Number.parseInt(n, 10) || 0));
  for (let i = 0; i < Math.max(pa!.length, pb!.length); i++) {
    const d = (pa![i] ?? 0) - (pb![i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Copies the embedded library to `<cache>/framefleet/<key>/libvips-cpp.so.<version>` unless
 * a copy of the same size is there. The key hashes the embedded file's name, which holds
 * the bundler's hash of its content (hashing the 18 MB itself would cost ~15 ms a start).
 * Written to a temporary name and renamed, so agents starting together never see half a file.
 */
function copyToCache(lib: LibvipsPackage): { file: string; copied: boolean } {
  const size = statSync(lib.path).size;
  const key = Bun.hash(`${basename(lib.path)}:${size}`).toString(36);
  const dir = join(readCacheRoot(), "framefleet", key);
  const file = join(dir, basename(lib.name));
  try {
    if (statSync(file, { throwIfNoEntry: false })?.size === size) return { file, copied: false };
    mkdirSync(dir, { recursive: true });
    const temporary = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`;
    writeFileSync(temporary, readFileSync(lib.path), { mode: 0o755 });
    renameSync(temporary, file);
    return { file, copied: true };
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const hint = "set XDG_CACHE_HOME to a writable folder";
    throw new FleetError("NATIVE_UNAVAILABLE", `image codec: cannot copy libvips to ${dir} (${reason}); ${hint}`, 500, {
      cause,
    });
  }
}

/** $XDG_CACHE_HOME, else ~/.cache. */
function readCacheRoot(): string {
  return process.env.XDG_CACHE_HOME || join(process.env.HOME || homedir(), ".cache");
}
