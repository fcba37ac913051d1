// `controller deploy` against a real OpenSSH server on loopback (a "Pi" without systemd), everything installed under the test's folder; the unit through systemd-analyze verify.
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { checkLibc, defaultTokenFile, MIN_GLIBC, renderUnit, toBinaryArch, toLayout } from "../../controller/deploy";
import { describeWith, testWith } from "../_requires";
import { buildAgentX64 } from "../build/agent-binary";
import { REPO, makeTempDir, runController } from "../helpers";
import { startSshd } from "../sshd";

/** Paths a deploy with the default prefix would write: none may appear during the test. */
const REAL_PATHS = ["/usr/local/bin/framefleet-agent", "/etc/framefleet", "/etc/systemd/system/framefleet-agent.service", "/var/lib/framefleet", "/var/cache/framefleet"];

function sha256(path: string): string {
  return new Bun.CryptoHasher("sha256").update(readFileSync(path)).digest("hex");
}

/** Stops the agent a nohup deploy started (its pid file), if it runs. */
function stopDeployedAgent(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGKILL");
  } catch {
    // already gone
  }
}

describeWith("sshd")("controller deploy over SSH", () => {
  test("copies the x64 binary, starts the agent, answers with the token; again: unchanged; --rollback restores .prev; an armv7l box gets the 64-bit line", async () => {
    const before = REAL_PATHS.map(existsSync).concat(existsSync(defaultTokenFile()));
    const agentX64 = await buildAgentX64();
    using dir = makeTempDir("framefleet-deploy-");
    const root = join(dir.path, "box");
    const localRoot = join(dir.path, "local-box");
    const layout = toLayout(root);
    // A fake `uname` first on box2's PATH: that box answers armv7l, as a 32-bit Raspberry Pi OS does.
    const fake = join(dir.path, "fake-bin");
    mkdirSync(fake);
    writeFileSync(join(fake, "uname"), `#!/bin/sh\n[ "$1" = "-m" ] && echo armv7l || exec /usr/bin/uname "$@"\n`);
    chmodSync(join(fake, "uname"), 0o755);
    await using sshd = await startSshd(join(dir.path, "sshd"), [
      { alias: "box1", port: 0 },
      { alias: "box2", port: 0, env: { PATH: `${fake}:/usr/local/bin:/usr/bin:/bin` } },
    ]);
    // The box's earlier install: a wrapper that runs the same agent (a stand-in for an older binary).
    mkdirSync(dirname(layout.bin), { recursive: true });
    const older = `#!/bin/sh\nexec ${agentX64} "$@"\n`;
    writeFileSync(layout.bin, older, { mode: 0o755 });
    const agentPort = await freePort();
    await Bun.write(
      join(dir.path, "scenarios.toml"),
      `[agents]
pi1 = "http://127.0.0.1:${agentPort}"
pi2 = "http://127.0.0.1:9"
[deploy.ssh]
pi1 = "box1"
pi2 = "box2"
[[scenario]]
name = "x"
  [[scenario.roles]]
  role = "receiver"
  agents = ["pi1"]
`,
    );
    const tokenFile = join(dir.path, "fleet-token");
    const deploy = (...more: string[]) =>
      runController(["deploy", "scenarios.toml", "--dist", dirname(agentX64), "--prefix", root, "--ssh-config", sshd.config, "--token-file", tokenFile, ...more], dir.path);
    try {
      const first = await deploy();
      const token = readFileSync(tokenFile, "utf8").trim();
      const [pi1, pi2] = first.stdout.split("\n").filter((line) => /^pi\d/.test(line));
      expect({ code: first.code, pi1, pi2, nohup: first.stdout.includes(`warning: no systemd on this box: started under nohup (pid file ${layout.pid})`) }).toEqual({
        code: 1,
        pi1: expect.stringMatching(new RegExp(`^pi1  deployed: v${pkg.version} x64 \\(.*\\), self-test ok \\(sharp, decode, grayscale, recognition\\)$`)),
        pi2: "pi2  FAILED at probe: UNSUPPORTED_ARCH: armv7l is a 32-bit OS: Bun builds 64-bit only, so install a 64-bit OS (Raspberry Pi OS 64-bit on a Pi 3, 4, 5 or Zero 2 W)",
        nohup: true,
      });
      const health = await fetch(`http://127.0.0.1:${agentPort}/v1/roles`, { headers: { authorization: `Bearer ${token}` } });
      expect({
        installed: sha256(layout.bin) === sha256(agentX64),
        prev: readFileSync(layout.prev, "utf8"),
        token: readFileSync(layout.token, "utf8"),
        tokenMode: (statSync(layout.token).mode & 0o777).toString(8),
        tokenDirMode: (statSync(layout.tokenDir).mode & 0o777).toString(8),
        roles: health.status,
        version: ((await (await fetch(`http://127.0.0.1:${agentPort}/v1/health`)).json()) as { version: string }).version,
      }).toEqual({ installed: true, prev: older, token, tokenMode: "600", tokenDirMode: "700", roles: 200, version: pkg.version });

      const again = await deploy("--only", "pi1");
      expect({ code: again.code, line: again.stdout.split("\n")[0] }).toEqual({ code: 0, line: expect.stringMatching(new RegExp(`^pi1  unchanged: v${pkg.version} x64, self-test ok`)) });

      const rolledBack = await deploy("--only", "pi1", "--rollback");
      expect({ code: rolledBack.code, line: rolledBack.stdout.split("\n")[0], bin: readFileSync(layout.bin, "utf8"), prev: sha256(layout.prev) === sha256(agentX64) }).toEqual({
        code: 0,
        line: expect.stringMatching(/^pi1  rolled back: v/),
        bin: older,
        prev: true,
      });
      expect((await fetch(`http://127.0.0.1:${agentPort}/v1/roles`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      // An agent on this machine (127.0.0.1 without a [deploy.ssh] entry): the same steps without SSH.
      const localPort = await freePort();
      await Bun.write(join(dir.path, "local.toml"), `[agents]\npi3 = "http://127.0.0.1:${localPort}"\n[[scenario]]\nname = "x"\n  [[scenario.roles]]\n  role = "receiver"\n  agents = ["pi3"]\n`);
      const local = await runController(["deploy", "local.toml", "--dist", dirname(agentX64), "--prefix", localRoot, "--token-file", tokenFile], dir.path);
      expect({ code: local.code, line: local.stdout.split("\n")[0], where: local.stderr.includes("probe (local)") }).toEqual({
        code: 0,
        line: expect.stringMatching(new RegExp(`^pi3  deployed: v${pkg.version} x64 \\(.*\\), self-test ok`)),
        where: true,
      });
      expect((await fetch(`http://127.0.0.1:${localPort}/v1/roles`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    } finally {
      stopDeployedAgent(layout.pid);
      stopDeployedAgent(toLayout(localRoot).pid);
    }
    expect(REAL_PATHS.map(existsSync).concat(existsSync(defaultTokenFile()))).toEqual(before);
  });
});

async function freePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

describe("controller deploy: bad input", () => {
  test("a bad --prefix, --only, --dist, --user or [deploy.ssh] entry exits with one line naming it", async () => {
    using dir = makeTempDir();
    const scenarios = (deploy: string) => `[agents]\npi1 = "http://pi1.local:7700"\n${deploy}[[scenario]]\nname = "x"\n  [[scenario.roles]]\n  role = "receiver"\n  agents = ["pi1"]\n`;
    await Bun.write(join(dir.path, "scenarios.toml"), scenarios(""));
    await Bun.write(join(dir.path, "ghost.toml"), scenarios(`[deploy.ssh]\nghost = "ghost.local"\n`));
    const runs = await Promise.all([
      runController(["deploy", "scenarios.toml", "--prefix", "relative/path"], dir.path),
      runController(["deploy", "scenarios.toml", "--only", "pi1,pi9"], dir.path),
      runController(["deploy", "scenarios.toml", "--dist", join(dir.path, "nowhere")], dir.path),
      runController(["deploy", "ghost.toml"], dir.path),
      runController(["deploy", "scenarios.toml", "--user", "pi -oProxyCommand=x"], dir.path),
    ]);
    expect(runs.map((run) => [run.code, run.stderr.trim()])).toEqual([
      [2, 'controller: BAD_FLAG: --prefix "relative/path" must be an absolute path of letters, digits and ._-/ (no ..)'],
      [2, "controller: BAD_FLAG: --only pi1,pi9: no agent pi9 under [agents] (have pi1)"],
      [2, `controller: BAD_FLAG: --dist ${join(dir.path, "nowhere")}: no such folder (npm run build writes dist/)`],
      [3, `controller: CONFIG_INVALID: ${join(dir.path, "ghost.toml")}:\n  file: deploy.ssh.ghost: "ghost" is not in [agents]`],
      [2, 'controller: BAD_FLAG: --user "pi -oProxyCommand=x" is not a login name'],
    ]);
  });
});

describe("controller deploy: what a box answers", () => {
  test("the glibc it asks for is the one sharp's libvips declares", async () => {
    const libvips = (await Bun.file(join(REPO, "node_modules", "@img", "sharp-libvips-linux-x64", "package.json")).json()) as { config: { glibc: string } };
    expect(`>=${MIN_GLIBC.join(".")}`).toBe(libvips.config.glibc);
  });

  test("uname -m picks the binary; 32-bit ARM, an old glibc and musl get one line each", () => {
    const attempt = (action: () => unknown) => {
      try {
        return action() ?? "ok";
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect({
      arches: ["aarch64", "x86_64", "armv7l", "armv6l", "riscv64"].map((machine) => attempt(() => toBinaryArch(machine))),
      libc: ["ldd (Debian GLIBC 2.36-9+rpt2+deb12u4) 2.36", "ldd (GNU libc) 2.24", "musl libc (aarch64)", ""].map((line) => attempt(() => checkLibc(line))),
    }).toEqual({
      arches: [
        "arm64",
        "x64",
        "armv7l is a 32-bit OS: Bun builds 64-bit only, so install a 64-bit OS (Raspberry Pi OS 64-bit on a Pi 3, 4, 5 or Zero 2 W)",
        "armv6l is a 32-bit OS: Bun builds 64-bit only, so install a 64-bit OS (Raspberry Pi OS 64-bit on a Pi 3, 4, 5 or Zero 2 W)",
        "riscv64: no Framefleet agent is built for this CPU (x86_64 and aarch64 only)",
      ],
      libc: ["ok", "glibc 2.24 is older than the 2.28 the image codec needs: install Raspberry Pi OS Bookworm (glibc 2.36) or newer", "musl libc (musl libc (aarch64)): the agent needs glibc 2.28 or newer (Raspberry Pi OS, Debian, Ubuntu)", "ok"],
    });
  });
});

describe("the systemd unit", () => {
  test("is the unit file itself for prefix / and port 7700 (one copy)", async () => {
    expect(renderUnit(toLayout("/"), 7700)).toBe(await Bun.file(join(REPO, "controller", "deploy", "framefleet-agent.service")).text());
  });

  testWith("systemd-analyze")("passes systemd-analyze verify as deploy renders it", async () => {
    using dir = makeTempDir();
    const layout = toLayout(dir.path);
    mkdirSync(dirname(layout.bin), { recursive: true });
    writeFileSync(layout.bin, "#!/bin/sh\n", { mode: 0o755 });
    const unit = join(dir.path, "framefleet-agent.service");
    writeFileSync(unit, renderUnit(layout, 7701));
    const verify = Bun.spawnSync(["systemd-analyze", "verify", unit], { stdout: "pipe", stderr: "pipe" });
    expect({ code: verify.exitCode, output: `${verify.stdout}${verify.stderr}`.trim() }).toEqual({ code: 0, output: "" });
  });
});
