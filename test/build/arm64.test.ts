// The arm64 executables from scripts/build-arm64.sh: aarch64 ELF files whose agent passes --self-test under qemu.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { describeWith } from "../_requires";

const ROOT = resolve(import.meta.dir, "../..");
const QEMU = Bun.which("qemu-aarch64-static") ?? "qemu-aarch64-static";
/** ELF e_machine of AArch64. */
const EM_AARCH64 = 0xb7;

/** Runs a command to its end and answers its exit code and output. */
async function run(cmd: string[], options: { cwd: string; env?: Record<string, string> }) {
  await using proc = Bun.spawn({ cmd, ...options, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { exitCode, stdout, stderr };
}

/** Runs a command and answers its stdout; throws with all its output when it fails. */
async function runOrThrow(cmd: string[]): Promise<string> {
  const { exitCode, stdout, stderr } = await run(cmd, { cwd: ROOT });
  if (exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (${exitCode}):\n${stdout}${stderr}`);
  return stdout;
}

/** The identity part of an ELF header: magic, class (64 for ELFCLASS64), byte order and e_machine. */
async function readElfHeader(file: string) {
  const bytes = new Uint8Array(await Bun.file(file).slice(0, 20).arrayBuffer());
  const view = new DataView(bytes.buffer);
  return {
    magic: new TextDecoder("latin1").decode(bytes.subarray(0, 4)),
    bits: bytes[4] === 2 ? 64 : 32,
    littleEndian: bytes[5] === 1,
    machine: view.getUint16(18, true),
  };
}

describeWith("qemu")("arm64 executables", () => {
  let scratch = "";
  let bin = "";
  let sysroot = "";

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "framefleet-arm64-"));
    bin = join(scratch, "bin");
    await runOrThrow(["scripts/build-arm64.sh", "--outdir", bin]);
    sysroot = resolve(ROOT, (await runOrThrow(["scripts/arm64-sysroot.sh"])).trim().split("\n").at(-1)!);
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  test("agent and controller are 64-bit little-endian aarch64 ELF files", async () => {
    const headers = await Promise.all(["agent", "controller"].map((p) => readElfHeader(join(bin, `${p}-linux-arm64`))));
    const aarch64 = { magic: "\x7fELF", bits: 64, littleEndian: true, machine: EM_AARCH64 };
    expect(headers).toEqual([aarch64, aarch64]);
  });

  test("agent --self-test passes under qemu", async () => {
    const home = join(scratch, "home");
    mkdirSync(home);
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_CACHE_HOME: join(home, ".cache"), TMPDIR: scratch };
    const agent = join(bin, "agent-linux-arm64");
    const { exitCode, stdout, stderr } = await run([QEMU, "-L", sysroot, agent, "--self-test"], { cwd: bin, env });
    expect({ exitCode, stderr }).toMatchObject({ exitCode: 0 });
    const passed = (name: string) => ({ name, ok: true, detail: expect.any(String), ms: expect.any(Number) });
    expect(JSON.parse(stdout)).toEqual({
      ok: true,
      version: pkg.version,
      arch: "arm64",
      checks: expect.arrayContaining([passed("sharp"), passed("decode"), passed("grayscale"), passed("recognition")]),
    });
  });
});
