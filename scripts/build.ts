// Builds the agent and controller executables for one Linux arch: bun scripts/build.ts x64|arm64 [agent] [controller] [--outdir dist].
import { existsSync, rmSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

/** CPU architectures the executables are built for (Bun builds no 32-bit ARM). */
export const ARCHES = ["x64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

/** The executables and their entry points, relative to the repository. */
export const PROGRAMS = { agent: "agent/main.ts", controller: "controller/main.ts" } as const;
export type Program = keyof typeof PROGRAMS;

/**
 * Files a program starts as Bun Workers, compiled in as extra entry points (Bun embeds a
 * worker only when it is one). In the binary each sits under /$bunfs/root at its path from
 * the entry points' common folder (agent/): agent/recognition/pool.ts names it so.
 */
const WORKER_ENTRIES: Record<Program, string[]> = { agent: ["agent/recognition/_inference-thread.ts"], controller: [] };

const ROOT = resolve(import.meta.dir, "..");
/** Pages served by agents and the manager, embedded under `import.meta.dir/web` when the folder exists. */
const WEB = join(ROOT, "web");

/** The native packages of sharp for one arch: the addon and the libvips it links to. */
function listNativePackages(arch: Arch): string[] {
  return [`@img/sharp-linux-${arch}`, `@img/sharp-libvips-linux-${arch}`];
}

/** Options of one build; `outdir` defaults to `dist/` in the repository. */
export interface BuildOptions {
  arch: Arch;
  programs?: Program[];
  outdir?: string;
}

/** Compiles each program to `<outdir>/<program>-linux-<arch>` and answers the files written. */
export async function buildExecutables({ arch, programs = ["agent", "controller"], outdir }: BuildOptions): Promise<string[]> {
  checkInputs(arch, programs);
  const files: string[] = [];
  for (const program of programs) {
    const outfile = join(resolve(outdir ?? join(ROOT, "dist")), `${program}-linux-${arch}`);
    await compileExecutable(join(ROOT, PROGRAMS[program]), outfile, arch, WORKER_ENTRIES[program].map((file) => join(ROOT, file)));
    files.push(outfile);
  }
  return files;
}

/** Compiles one entry point (and the `workers` it starts) to a standalone executable for Linux `arch`, with web/ and one arch's sharp. */
export async function compileExecutable(entry: string, outfile: string, arch: Arch, workers: string[] = []): Promise<void> {
  const other = ARCHES.filter((a) => a !== arch);
  try {
    const result = await Bun.build({
      entrypoints: [entry, ...workers],
      compile: {
        target: `bun-linux-${arch}`,
        outfile,
        assets: existsSync(WEB) ? [WEB] : [],
        // A bunfig.toml where the agent happens to run (the repository's holds test settings) must not change it.
        autoloadBunfig: false,
      },
      // The other arch's sharp packages, when installed, would be embedded too (sharp picks at run time).
      external: other.flatMap(listNativePackages),
      // Bun already inlines process.arch for a compile target; said here so agent/native/_libvips.ts keeps one arch.
      define: { "process.arch": JSON.stringify(arch), "process.platform": JSON.stringify("linux") },
      // Parsing moved to build time: `agent --version` took 93 ms without, 24 ms with, for 5 MB more (x64, measured here).
      bytecode: true,
      format: "esm",
      // Embedded: stack traces name the source files and lines, not the bundle's.
      sourcemap: "inline",
      throw: true,
    });
    // Bun also writes the maps (the executable's, each worker's) beside the executable; it does not need them.
    rmSync(`${outfile}.map`, { force: true });
    for (const output of result.outputs) if (output.path.endsWith(".map")) rmSync(output.path, { force: true });
  } catch (error) {
    const logs = error instanceof AggregateError ? error.errors : [error];
    throw new AggregateError(logs, `building ${relative(ROOT, entry)} for linux-${arch} failed`);
  }
}

/** Throws one error naming every missing entry point and native package. */
function checkInputs(arch: Arch, programs: Program[]): void {
  const problems: string[] = [];
  for (const program of programs) {
    if (!existsSync(join(ROOT, PROGRAMS[program]))) problems.push(`${PROGRAMS[program]} does not exist`);
  }
  for (const name of listNativePackages(arch)) {
    if (!existsSync(join(ROOT, "node_modules", name, "package.json"))) {
      const hint = arch === "arm64" ? "run scripts/build-arm64.sh" : "run npm install";
      problems.push(`${name} is not installed (${hint})`);
    }
  }
  if (problems.length > 0) throw new Error(`cannot build for ${arch}:\n  ${problems.join("\n  ")}`);
}

function parseCommandLine(argv: string[]): BuildOptions {
  const { values, positionals } = parseArgs({ args: argv, options: { outdir: { type: "string" } }, allowPositionals: true });
  const [arch, ...rest] = positionals;
  const usage = "usage: bun scripts/build.ts x64|arm64 [agent] [controller] [--outdir DIR]";
  if (!ARCHES.includes(arch as Arch)) throw new Error(usage);
  const unknown = rest.filter((name) => !(name in PROGRAMS));
  if (unknown.length > 0) throw new Error(`unknown program ${unknown.join(", ")}; ${usage}`);
  return { arch: arch as Arch, programs: rest.length > 0 ? (rest as Program[]) : undefined, outdir: values.outdir };
}

if (import.meta.main) {
  try {
    const started = performance.now();
    const files = await buildExecutables(parseCommandLine(process.argv.slice(2)));
    for (const file of files) {
      const shown = relative(process.cwd(), file);
      console.log(`${shown.startsWith("..") ? file : shown}  ${(statSync(file).size / 1e6).toFixed(1)} MB`);
    }
    console.log(`built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    const details = error instanceof AggregateError ? error.errors.map((e) => `\n  ${String(e)}`).join("") : "";
    console.error(`${error instanceof Error ? error.message : String(error)}${details}`);
    process.exit(1);
  }
}
