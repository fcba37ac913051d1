// One box's deploy, step by step: probe, pick the binary, copy and check, install, token, service, health, self-test (or a rollback).
import { ControlClient } from "../../agent/client";
import { FleetError, describeError } from "../../agent/errors";
import type { Box, ScriptResult } from "./_box";
import type { Layout } from "./_layout";
import { renderUnit } from "./_layout";
import { copyScript, installScript, nohupScript, PROBE_MARK, probeScript, rollbackScript, selfTestScript, systemdScript, tokenScript } from "./_scripts";

/** Everything one box's deploy needs. */
export interface BoxPlan {
  name: string;
  /** The agent's control URL under [agents]. */
  url: string;
  box: Box;
  layout: Layout;
  /** Local path of the binary for an arch (`x64`, `arm64`) and its sha256 (hex). */
  readBinary(arch: string): Promise<{ path: string; sha256: string }>;
  token: string;
  /** The controller's version: the agent must answer it after a deploy. */
  version: string;
  rollback: boolean;
}

/** How a box ended: `deployed`, `unchanged` (the same binary already ran), `rolled back`, or `failed` at `step`. */
export interface Outcome {
  name: string;
  status: "deployed" | "unchanged" | "rolled back" | "failed";
  step?: string;
  detail: string;
  warnings: string[];
}

/**
 * glibc the native image codec needs: what sharp's prebuilt libvips declares (`config.glibc`
 * of @img/sharp-libvips-linux-*; a test holds the two equal). A constant, since the other
 * arch's package is not bundled into an executable.
 */
export const MIN_GLIBC = [2, 28] as const;
/** How long a (re)started agent may take to answer its health with the token (ms); the first start fills a cache. */
const HEALTH_TIMEOUT_MS = 60_000;

/** `uname -m` to a binary's arch. @throws FleetError UNSUPPORTED_ARCH: one line, the 64-bit advice for 32-bit ARM. */
export function toBinaryArch(machine: string): "x64" | "arm64" {
  if (machine === "aarch64" || machine === "arm64") return "arm64";
  if (machine === "x86_64" || machine === "amd64") return "x64";
  if (/^arm/.test(machine))
    throw new FleetError("UNSUPPORTED_ARCH", `${machine} is a 32-bit OS: Bun builds 64-bit only, so install a 64-bit OS (Raspberry Pi OS 64-bit on a Pi 3, 4, 5 or Zero 2 W)`);
  throw new FleetError("UNSUPPORTED_ARCH", `${machine}: no Framefleet agent is built for this CPU (x86_64 and aarch64 only)`);
}

/** The first line of `ldd --version`, checked. @throws FleetError OLD_GLIBC: one line naming what is there and what is needed. */
export function checkLibc(lddLine: string): void {
  if (/musl/i.test(lddLine)) throw new FleetError("OLD_GLIBC", `musl libc (${lddLine.trim()}): the agent needs glibc ${MIN_GLIBC.join(".")} or newer (Raspberry Pi OS, Debian, Ubuntu)`);
  const match = /(\d+)\.(\d+)\s*$/.exec(lddLine.trim());
  if (!match) return;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major < MIN_GLIBC[0] || (major === MIN_GLIBC[0] && minor < MIN_GLIBC[1]))
    throw new FleetError("OLD_GLIBC", `glibc ${major}.${minor} is older than the ${MIN_GLIBC.join(".")} the image codec needs: install Raspberry Pi OS Bookworm (glibc 2.36) or newer`);
}

/** Runs a step's script: as root for an install at `/`, as the login user under another --prefix. @throws FleetError STEP_FAILED with its stderr (or stdout) when it exits non-zero. */
async function runStep(plan: BoxPlan, script: string, stdin?: Blob | string): Promise<ScriptResult> {
  const result = await plan.box.run(script, { stdin, asRoot: plan.layout.prefix === "/" });
  if (result.code !== 0) throw new FleetError("STEP_FAILED", `exit ${result.code}: ${(result.stderr.trim() || result.stdout.trim()).slice(-2000)}`);
  return result;
}

/** The agent's version once it answers its health and an authenticated call with the token. @throws what the client throws. */
async function askVersion(client: ControlClient): Promise<string> {
  const health = await client.health();
  await client.listRoles();
  return health.version;
}

/** Waits for the agent's health and an authenticated call to answer. @throws FleetError HEALTH_TIMEOUT with the last error. */
async function waitForAgent(client: ControlClient): Promise<string> {
  const deadline = Date.now() + HEALTH_TIMEOUT_MS;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await askVersion(client);
    } catch (error) {
      last = error;
      await Bun.sleep(250);
    }
  }
  throw new FleetError("HEALTH_TIMEOUT", `no answer with the token within ${HEALTH_TIMEOUT_MS / 1000} s: ${describeError(last)}`);
}

/** Starts or restarts the agent: the unit under systemd, else nohup with a pid file (a warning says so). */
async function startService(plan: BoxPlan, systemd: boolean, warnings: string[]): Promise<void> {
  const port = Number(new URL(plan.url).port || 7700);
  if (systemd && plan.layout.prefix === "/") {
    await runStep(plan, systemdScript(plan.layout), renderUnit(plan.layout, port));
    return;
  }
  warnings.push(`no systemd${systemd ? ` for --prefix ${plan.layout.prefix}` : " on this box"}: started under nohup (pid file ${plan.layout.pid}); it will not come back after a reboot`);
  await runStep(plan, nohupScript(plan.layout, port));
}

/** `--self-test` on the box: `ok` or the checks that failed. */
async function runSelfTest(plan: BoxPlan): Promise<string> {
  const result = await plan.box.run(selfTestScript(plan.layout), { asRoot: plan.layout.prefix === "/" });
  try {
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "") as { ok: boolean; checks: { name: string; ok: boolean; detail: string }[] };
    return report.ok ? `self-test ok (${report.checks.map((check) => check.name).join(", ")})` : `self-test FAILED: ${report.checks.filter((check) => !check.ok).map((check) => `${check.name}: ${check.detail}`).join("; ")}`;
  } catch {
    return `self-test FAILED (exit ${result.code}): ${(result.stderr.trim() || result.stdout.trim()).slice(-500)}`;
  }
}

/** What the probe found on a box, and the state the steps share. */
interface Found {
  arch: "x64" | "arm64";
  systemd: boolean;
  installedSha: string;
  hasPrev: boolean;
  client: ControlClient;
  warnings: string[];
  enter(step: string): void;
}

/** `probe`: the box's CPU, libc, init and installed binary. @throws FleetError UNSUPPORTED_ARCH, OLD_GLIBC, STEP_FAILED. */
async function probe(plan: BoxPlan, warnings: string[], enter: (step: string) => void): Promise<Found> {
  enter("probe");
  const { stdout } = await runStep(plan, probeScript(plan.layout));
  const [machine = "", ldd = "", init = "", installedSha = "", prev = ""] = stdout.slice(stdout.indexOf(PROBE_MARK) + PROBE_MARK.length + 1).split("\n");
  const arch = toBinaryArch(machine.trim());
  checkLibc(ldd);
  const client = new ControlClient(plan.name, plan.url, plan.token);
  return { arch, systemd: init.trim() === "systemd", installedSha: installedSha.trim(), hasPrev: prev.trim() === "prev", client, warnings, enter };
}

/** `--rollback`: swap the binary and `.prev`, restart, wait for health; any version is accepted. */
async function rollBack(plan: BoxPlan, found: Found): Promise<Omit<Outcome, "name" | "warnings">> {
  if (!found.hasPrev) throw new FleetError("NO_PREVIOUS", `${plan.layout.prev} does not exist: nothing to roll back to`);
  found.enter("rollback");
  await runStep(plan, rollbackScript(plan.layout));
  found.enter("restart");
  await startService(plan, found.systemd, found.warnings);
  found.enter("health");
  const version = await waitForAgent(found.client);
  found.enter("self-test");
  return { status: "rolled back", detail: `v${version} ${found.arch}, ${await runSelfTest(plan)}` };
}

/** A deploy: copy and check the binary unless the box has it, token, (re)start unless it already runs it, health with the controller's version, self-test. */
async function upgrade(plan: BoxPlan, found: Found): Promise<Omit<Outcome, "name" | "warnings">> {
  found.enter("binary");
  const binary = await plan.readBinary(found.arch);
  const same = found.installedSha === binary.sha256;
  if (!same) {
    found.enter("copy");
    const copied = (await runStep(plan, copyScript(plan.layout), Bun.file(binary.path))).stdout.trim().split("\n").at(-1);
    found.enter("sha256");
    if (copied !== binary.sha256) throw new FleetError("SHA256_MISMATCH", `the copy on the box has sha256 ${copied}, ${binary.path} has ${binary.sha256}`);
    found.enter("install");
    await runStep(plan, installScript(plan.layout));
  }
  found.enter("token");
  // The same binary already answering the token with this version: nothing to change.
  const running = same ? await askVersion(found.client).catch(() => undefined) : undefined;
  const unchanged = running === plan.version;
  if (!unchanged) {
    await runStep(plan, tokenScript(plan.layout), plan.token);
    found.enter("service");
    await startService(plan, found.systemd, found.warnings);
  }
  found.enter("health");
  const version = await waitForAgent(found.client);
  if (version !== plan.version) throw new FleetError("VERSION_SKEW", `the agent answers v${version}, the controller is v${plan.version}`);
  found.enter("self-test");
  const selfTest = await runSelfTest(plan);
  return { status: unchanged ? "unchanged" : "deployed", detail: `v${version} ${found.arch}${unchanged ? "" : ` (${binary.path})`}, ${selfTest}` };
}

/**
 * Deploys (or rolls back) one box, reporting each step through `report`; never throws:
 * a failure comes back as an outcome naming the step and its stderr.
 */
export async function deployBox(plan: BoxPlan, report: (step: string) => void): Promise<Outcome> {
  const warnings: string[] = [];
  let step = "probe";
  const enter = (name: string) => {
    step = name;
    report(name);
  };
  try {
    const found = await probe(plan, warnings, enter);
    return { name: plan.name, ...(await (plan.rollback ? rollBack(plan, found) : upgrade(plan, found))), warnings };
  } catch (error) {
    return { name: plan.name, status: "failed", step, detail: describeError(error), warnings };
  }
}
