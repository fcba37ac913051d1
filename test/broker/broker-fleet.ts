// Test fleet on a real broker (shared with the compiled-binary test): a nats-server per test, worker processes pulling from it, jobs posted to managers over HTTP and their results read back.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { decodeToRaw } from "../../agent/imaging/decode";
import { applyOp, type RawImage } from "../../agent/imaging/ops";
import sharp from "../../agent/native/sharp";
import type { ImageOp } from "../../agent/protocol";
import { startNatsServer, type LocalNatsServer } from "../../controller/nats-server";
import { makeTempDir, spawnAgent, type AgentProcess } from "../helpers";

/** A broker for one test: the server, and a token file the agents read. */
export interface TestBroker extends AsyncDisposable {
  server: LocalNatsServer;
  tokenFile: string;
}

/** Starts a nats-server (free loopback port, temp store, random token) and writes its token to a file. */
export async function startBroker(): Promise<TestBroker> {
  const dir = makeTempDir("framefleet-broker-test-");
  const server = await startNatsServer();
  const tokenFile = join(dir.path, "token");
  writeFileSync(tokenFile, `${server.token}\n`);
  return { server, tokenFile, [Symbol.asyncDispose]: async () => (await server.stop(), dir[Symbol.dispose]()) };
}

/** Spawns a worker process (grayscale unless `role` says otherwise) on the broker, `--concurrency 1`; resolves once it is connected. */
export async function spawnWorker(broker: TestBroker, id: string, extra: string[] = [], role = "grayscale-worker"): Promise<AgentProcess> {
  const worker = spawnAgent(["--role", role, "--broker", broker.server.url, "--token-file", broker.tokenFile, "--no-control", "--id", id, "--concurrency", "1", ...extra]);
  await worker.waitFor("worker_broker_connected");
  return worker;
}

/** A manager's HTTP side, with the broker's token. */
export function managerClient(port: number, token: string) {
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${token}` };
  return {
    /** Posts one image; answers its job id. */
    async post(photo: Uint8Array, op: ImageOp | "classify", params: Record<string, string> = {}, name = "photo.jpg"): Promise<string> {
      const form = new FormData();
      form.append("images", new File([photo], name));
      form.append("op", op);
      for (const [key, value] of Object.entries(params)) form.append(key, value);
      const answer = await fetch(`${base}/jobs`, { method: "POST", body: form, headers });
      if (answer.status !== 202) throw new Error(`POST /jobs: ${answer.status} ${await answer.text()}`);
      return ((await answer.json()) as { jobs: { id: string }[] }).jobs[0]!.id;
    },
    /** `GET /jobs/:id`. */
    async view(id: string): Promise<{ id: string; state: string; error?: string }> {
      return (await fetch(`${base}/jobs/${id}`, { headers })).json() as never;
    },
    /** `GET /jobs/:id/result` as JSON (classify). */
    async json(id: string): Promise<Record<string, any>> {
      return (await fetch(`${base}/jobs/${id}/result`, { headers })).json() as never;
    },
    /** `GET /jobs/:id/result` (PNG) decoded to raw pixels. */
    async result(id: string): Promise<RawImage> {
      const answer = await fetch(`${base}/jobs/${id}/result`, { headers });
      if (answer.status !== 200) throw new Error(`GET /jobs/${id}/result: ${answer.status} ${await answer.text()}`);
      return readPng(new Uint8Array(await answer.arrayBuffer()));
    },
  };
}

/** A PNG's pixels as sharp reads them; a grey PNG (which sharp reads as 3 channels) as 1. */
async function readPng(png: Uint8Array): Promise<RawImage> {
  const { isPalette, channels } = await sharp(png).metadata();
  const image = sharp(png);
  const { data, info } = await (channels! <= 2 && !isPalette ? image.toColourspace("b-w") : image).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

/** What sharp makes of the whole photo: the reference every result must equal. */
export async function expectedOf(photo: Uint8Array, op: ImageOp, params: Record<string, number> = {}): Promise<RawImage> {
  return applyOp(op, params, await decodeToRaw(photo, "fixture"));
}

/** An image as a short comparable string (sizes and a hash of the pixels). */
export function describeImage(image: RawImage): string {
  return `${image.width}x${image.height}x${image.channels}:${Bun.hash(image.data).toString(16)}`;
}

/** Messages left in a stream of the broker (read with a connection of the test's own). */
export async function countMessages(broker: TestBroker, stream: string): Promise<number> {
  const nc = await connect({ servers: broker.server.url, token: broker.server.token });
  try {
    return (await (await jetstreamManager(nc)).streams.info(stream)).state.messages;
  } finally {
    await nc.close();
  }
}

/** Unacknowledged deliveries of a stream's workers' consumer. */
export async function countAckPending(broker: TestBroker, stream: string): Promise<number> {
  const nc = await connect({ servers: broker.server.url, token: broker.server.token });
  try {
    return (await (await jetstreamManager(nc)).consumers.info(stream, "workers")).num_ack_pending;
  } finally {
    await nc.close();
  }
}
