// A local NATS server with JetStream (the Debian package nats-server) on a free loopback port, a temp store and a token: for `controller run --local`, the tests and the bench.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { FleetError } from "../agent/errors";
import { SERVER_HINT } from "../agent/broker";

/** How long the server may take to say it is ready (ms). */
const READY_TIMEOUT_MS = 15_000;

/** A running local server; stopped (and its store removed) on dispose. */
export interface LocalNatsServer extends AsyncDisposable {
  /** `nats://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** The token it requires. */
  token: string;
  /** The JetStream store folder. */
  storeDir: string;
  stop(): Promise<void>;
}

/** A port free on loopback now (the server binds it right after). */
function pickFreePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** The nats-server binary: on PATH, else where Debian puts it (/usr/sbin, often off a user's PATH). */
export function findNatsServer(): string | null {
  return Bun.which("nats-server") ?? Bun.which("nats-server", { PATH: "/usr/sbin:/usr/bin:/usr/local/bin" });
}

/**
 * Starts `nats-server -js` on 127.0.0.1 with a fresh store and `token` (random when not given);
 * resolves once it is ready.
 * @throws FleetError NATS_SERVER_MISSING (3) naming the Debian package; NATS_SERVER_FAILED with its log's tail.
 */
export async function startNatsServer(token = randomBytes(16).toString("hex")): Promise<LocalNatsServer> {
  const binary = findNatsServer();
  if (!binary) throw new FleetError("NATS_SERVER_MISSING", `nats-server is not installed: ${SERVER_HINT}`, 503);
  const storeDir = mkdtempSync(join(tmpdir(), "framefleet-nats-"));
  const port = pickFreePort();
  const child = Bun.spawn([binary, "-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(port), "--auth", token], { stdout: "ignore", stderr: "pipe", stdin: "ignore" });
  let log = "";
  const ready = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      log += decoder.decode(chunk, { stream: true });
      if (log.includes("Server is ready")) return true;
    }
    return false;
  })();
  const stop = async () => {
    child.kill("SIGTERM");
    await Promise.race([child.exited, Bun.sleep(5000)]);
    if (child.exitCode === null) child.kill("SIGKILL");
    await child.exited;
    rmSync(storeDir, { recursive: true, force: true });
  };
  const timer = Bun.sleep(READY_TIMEOUT_MS).then(() => false);
  if (!(await Promise.race([ready, timer]))) {
    await stop();
    throw new FleetError("NATS_SERVER_FAILED", `nats-server on port ${port} did not get ready: ${log.trim().split("\n").slice(-3).join(" | ")}`, 503);
  }
  return { url: `nats://127.0.0.1:${port}`, port, token, storeDir, stop, [Symbol.asyncDispose]: stop };
}
