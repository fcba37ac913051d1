// The broker against the TCP manager: a stream of 4K jobs and one job alone, through the same fleet (a manager, 2 grayscale worker processes) on NATS JetStream and on TCP, side by side.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "../agent/native/sharp";
import { startNatsServer } from "../controller/nats-server";
import { makeTempDir, removeTempDir } from "./_process";
import { PHOTO, postJob, startFleet, timeStream, type Fleet } from "./grayscale";
import { compare, formatTable, median, type Row } from "./_table";

/** Counted rounds; in each, the TCP fleet then the broker fleet run the stream, then one job alone each. */
export const BROKER_ROUNDS = 3;
/** Jobs in one stream, and how many are in flight at once (two per worker). */
const STREAM_JOBS = 12;
const IN_FLIGHT = 4;
const WORKERS = 2;
/** Every job: blur sigma 4 on a 3840x2160 photo (coffee-8k.jpg scaled down, JPEG quality 90). */
const BLUR = { op: "blur", sigma: "4" };

/** What the subject measured, per round. */
export interface BrokerResults {
  photo: { width: number; height: number; bytes: number };
  stream_jobs_per_s: { broker: number[]; tcp: number[] };
  one_job_ms: { broker: number[]; tcp: number[] };
}

/** The 4K input, made from the 8K fixture. */
async function make4k(): Promise<Uint8Array> {
  return new Uint8Array(await sharp(PHOTO).resize(3840, 2160).jpeg({ quality: 90 }).toBuffer());
}

/**
 * Runs the subject: a local nats-server (free port, temp store, token), a TCP fleet and a
 * broker fleet of the same shape, each warmed up with one job, then BROKER_ROUNDS rounds of
 * (stream on TCP, stream on the broker, one job on TCP, one job on the broker).
 */
export async function runBroker(): Promise<BrokerResults> {
  const jpeg = await make4k();
  const server = await startNatsServer();
  const dir = makeTempDir("/tmp");
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, `${server.token}\n`);
  const fleets: Fleet[] = [];
  try {
    const tcp = await startFleet(WORKERS, 1);
    fleets.push(tcp);
    const broker = await startFleet(WORKERS, 1, undefined, "auto", { url: server.url, token: server.token, tokenFile });
    fleets.push(broker);
    const post = (fleet: Fleet) => () => postJob(fleet.base, jpeg, BLUR, fleet.headers);
    await Promise.all([post(tcp)(), post(broker)()]);
    const results: BrokerResults = { photo: { width: 3840, height: 2160, bytes: jpeg.length }, stream_jobs_per_s: { broker: [], tcp: [] }, one_job_ms: { broker: [], tcp: [] } };
    for (let round = 0; round < BROKER_ROUNDS; round += 1) {
      for (const [name, fleet] of [["tcp", tcp], ["broker", broker]] as const)
        results.stream_jobs_per_s[name].push((STREAM_JOBS * 1000) / (await timeStream(STREAM_JOBS, IN_FLIGHT, post(fleet))));
      for (const [name, fleet] of [["tcp", tcp], ["broker", broker]] as const) results.one_job_ms[name].push(await timeStream(1, 1, post(fleet)));
    }
    return results;
  } finally {
    await Promise.all(fleets.map((fleet) => fleet.stop()));
    await server.stop();
    removeTempDir(dir);
  }
}

/** The comparison rows: stream throughput (target >= 0.8x of TCP) and one job's latency. */
export function toBrokerRows(results: BrokerResults): Row[] {
  const figure = (what: string, rounds: number[], unit: string) => ({ what, value: median(rounds), unit, min: Math.min(...rounds), max: Math.max(...rounds), rounds });
  return [
    compare("8a", `4K blur stream, ${WORKERS} workers, ${IN_FLIGHT} in flight: JetStream vs TCP manager`, figure("broker", results.stream_jobs_per_s.broker, "jobs/s"), figure("TCP manager", results.stream_jobs_per_s.tcp, "jobs/s"), ">= 0.8x"),
    compare("8b", "one 4K blur job alone (latency; lower is better)", figure("broker", results.one_job_ms.broker, "ms"), figure("TCP manager", results.one_job_ms.tcp, "ms")),
  ];
}

/** The rounds, one line per subject. */
export function formatBrokerRuns(results: BrokerResults): string {
  const cells = [
    ["stream jobs/s, broker", ...results.stream_jobs_per_s.broker.map((value) => value.toFixed(2))],
    ["stream jobs/s, TCP", ...results.stream_jobs_per_s.tcp.map((value) => value.toFixed(2))],
    ["one job ms, broker", ...results.one_job_ms.broker.map((value) => value.toFixed(0))],
    ["one job ms, TCP", ...results.one_job_ms.tcp.map((value) => value.toFixed(0))],
  ];
  return formatTable(["subject", ...Array.from({ length: BROKER_ROUNDS }, (_, index) => `#${index + 1}`)], cells);
}
