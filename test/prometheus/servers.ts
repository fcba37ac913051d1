// Real Prometheus and Pushgateway processes for tests: loopback only, free ports, temp folders, killed on dispose.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeTempDir, waitUntil } from "../helpers";

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the server to take). */
export function pickFreePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

/** A server process on `base` (http://127.0.0.1:PORT), with what it printed; killed and its folder removed on dispose. */
export interface ServerProcess extends AsyncDisposable {
  base: string;
  output(): string;
}

/** Spawns `command`, keeps its output, and waits until `base + readyPath` answers 200. */
async function spawnServer(command: string[], base: string, readyPath: string, folder: { path: string } & Disposable): Promise<ServerProcess> {
  const child = Bun.spawn(command, { cwd: folder.path, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let text = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += new TextDecoder().decode(chunk);
  };
  void collect(child.stdout);
  void collect(child.stderr);
  const server: ServerProcess = {
    base,
    output: () => text,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.exited;
      folder[Symbol.dispose]();
    },
  };
  try {
    await waitUntil(`${command[0]} ready on ${base}`, async () => (child.exitCode === null ? (await fetch(base + readyPath).catch(() => undefined))?.status : `exited: ${text}`), (status) => status === 200 || typeof status === "string");
    if (child.exitCode !== null) throw new Error(`${command[0]} exited: ${text}`);
  } catch (error) {
    await server[Symbol.asyncDispose]();
    throw error;
  }
  return server;
}

/**
 * Starts `prometheus` scraping `target` (HOST:PORT) every second at /metrics with
 * `Authorization: Bearer TOKEN` (read from a file, as the README's scrape config does).
 */
export async function startPrometheus(target: string, token: string): Promise<ServerProcess> {
  const folder = makeTempDir("framefleet-prometheus-");
  writeFileSync(join(folder.path, "token"), token);
  writeFileSync(
    join(folder.path, "prometheus.yml"),
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: framefleet
    authorization:
      type: Bearer
      credentials_file: ${join(folder.path, "token")}
    static_configs:
      - targets: ["${target}"]
`,
  );
  const port = pickFreePort();
  const command = ["prometheus", `--config.file=${join(folder.path, "prometheus.yml")}`, `--storage.tsdb.path=${join(folder.path, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"];
  return spawnServer(command, `http://127.0.0.1:${port}`, "/-/ready", folder);
}

/** Starts `prometheus-pushgateway` on a free loopback port, keeping nothing on disk. */
export async function startPushgateway(): Promise<ServerProcess> {
  const folder = makeTempDir("framefleet-pushgateway-");
  const port = pickFreePort();
  return spawnServer(["prometheus-pushgateway", `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn"], `http://127.0.0.1:${port}`, "/-/ready", folder);
}

/** One sample of an instant query: its labels and value (a string, as the API gives it: "NaN", "+Inf" possible). */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/**
 * Runs an instant PromQL query through Prometheus's HTTP API, at `time` (unix seconds) or now.
 * @throws Error naming the query when Prometheus answers an error or a non-vector result.
 */
export async function queryPrometheus(base: string, query: string, time?: number): Promise<PromSample[]> {
  const params = new URLSearchParams({ query, ...(time === undefined ? {} : { time: String(time) }) });
  const body = (await (await fetch(`${base}/api/v1/query?${params}`)).json()) as { status: string; error?: string; data?: { resultType: string; result: PromSample[] } };
  if (body.status !== "success" || body.data?.resultType !== "vector") throw new Error(`query ${query}: ${body.error ?? JSON.stringify(body).slice(0, 300)}`);
  return body.data.result;
}
