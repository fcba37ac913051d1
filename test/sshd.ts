// A real OpenSSH server for tests, on loopback ports, with its own host key, user key, authorized_keys and ssh client config, all inside one folder.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const SSHD = "/usr/sbin/sshd";

/** Why sshd cannot run here, or undefined: it needs its binary, the ssh client, and /run/sshd or a private mount namespace to make one in. */
export function probeSshd(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} not found (apt-get install openssh-server)`;
  if (!Bun.which("ssh") || !Bun.which("ssh-keygen")) return "ssh or ssh-keygen not found (apt-get install openssh-client)";
  if (existsSync("/run/sshd")) return undefined;
  const unshare = Bun.spawnSync(["unshare", "-m", "true"], { stderr: "pipe" });
  return unshare.exitCode === 0 ? undefined : `no /run/sshd and no private mount namespace to make one in (unshare -m: ${unshare.stderr.toString().trim()})`;
}

/** One SSH "box": a Host alias of the client config, on its own port. */
export interface SshHost {
  alias: string;
  port: number;
  /** Environment sshd sets in this box's sessions (sshd_config SetEnv), e.g. a PATH with fake tools first. */
  env?: Record<string, string>;
}

/** A running sshd; `config` is the ssh client config (ssh -F) that reaches every host as the current user with the test's key. */
export interface Sshd extends AsyncDisposable {
  config: string;
  stderr(): string;
}

async function findFreePort(): Promise<number> {
  const listener = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = listener.port;
  listener.stop(true);
  return port;
}

function keygen(path: string): void {
  const result = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], { stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`ssh-keygen failed: ${result.stderr}`);
}

/**
 * Starts sshd on 127.0.0.1 for `hosts` (one port each; a free one when `port` is 0), every
 * file (keys, authorized_keys, known_hosts, pid file, configs) in `dir`. Without /run/sshd,
 * sshd runs in a private mount namespace where a folder of `dir` is mounted on /run.
 */
export async function startSshd(dir: string, hosts: SshHost[]): Promise<Sshd> {
  mkdirSync(join(dir, "run"), { recursive: true, mode: 0o755 });
  for (const key of ["host_key", "user_key"]) keygen(join(dir, key));
  writeFileSync(join(dir, "authorized_keys"), readFileSync(join(dir, "user_key.pub")));
  chmodSync(join(dir, "authorized_keys"), 0o600);
  for (const host of hosts) if (host.port === 0) host.port = await findFreePort();
  const hostKey = readFileSync(join(dir, "host_key.pub"), "utf8").trim().split(" ").slice(0, 2).join(" ");
  writeFileSync(join(dir, "known_hosts"), hosts.map((host) => `[127.0.0.1]:${host.port} ${hostKey}\n`).join(""));
  const server = [
    ...hosts.map((host) => `Port ${host.port}`),
    "ListenAddress 127.0.0.1",
    `HostKey ${join(dir, "host_key")}`,
    `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
    `PidFile ${join(dir, "sshd.pid")}`,
    "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
    "PermitRootLogin prohibit-password", "PrintLastLog no", "PrintMotd no", "Subsystem sftp internal-sftp",
    ...hosts.filter((host) => host.env).map((host) => `Match LocalPort ${host.port}\n  SetEnv ${Object.entries(host.env!).map(([k, v]) => `${k}=${v}`).join(" ")}`),
  ];
  writeFileSync(join(dir, "sshd_config"), `${server.join("\n")}\n`);
  const user = (process.env.USER || Bun.spawnSync(["id", "-un"]).stdout.toString().trim());
  const client = hosts.map((host) =>
    [`Host ${host.alias}`, "  HostName 127.0.0.1", `  Port ${host.port}`, `  User ${user}`, `  IdentityFile ${join(dir, "user_key")}`, "  IdentitiesOnly yes", `  UserKnownHostsFile ${join(dir, "known_hosts")}`, "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes", "  LogLevel ERROR"].join("\n"),
  );
  const config = join(dir, "ssh_config");
  writeFileSync(config, `${client.join("\n")}\n`);
  const command = [SSHD, "-D", "-e", "-f", join(dir, "sshd_config")];
  const argv = existsSync("/run/sshd") ? command : ["unshare", "-m", "sh", "-c", `mount --bind "$0" /run && mkdir -m 755 /run/sshd && exec "$@"`, join(dir, "run"), ...command];
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "pipe" });
  let text = "";
  const { promise: listening, resolve, reject } = Promise.withResolvers<void>();
  // Read to the end (sshd logs every login), resolving once it listens on every port.
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      text += decoder.decode(chunk, { stream: true });
      if (hosts.every((host) => text.includes(`port ${host.port}.`))) resolve();
    }
    reject(new Error(`sshd ended: ${text}`));
  })();
  await listening;
  return {
    config,
    stderr: () => text,
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}
