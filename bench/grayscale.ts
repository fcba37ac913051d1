// Distributed image processing: 8K jobs through the manager and grayscale worker processes against sharp in this process; Pi-class scaling.
import { join } from "node:path";
import { applyOp } from "../agent/imaging/ops";
import type { ImageOp } from "../agent/protocol";
import sharp from "../agent/native/sharp";
import type { SplitMode } from "../agent/roles/manager/scheduler";
import { AGENT, REPO, spawnBun, stopChild, type Child } from "./_process";
import { compare, formatTable, median, type Figure, type Row } from "./_table";

/** The 8K input: coffee.jpg upscaled to 7680x4320 (test/fixtures/SOURCES.md), 2.0 MB of JPEG, 99.5 MB of raw RGB. */
export const PHOTO = join(REPO, "test", "fixtures", "large", "coffee-8k.jpg");
/** Counted rounds of the overhead and capacity subjects; in a round each subject runs once, in turn. */
export const GRAYSCALE_ROUNDS = 2;
/** Jobs in one capacity stream, and in one Pi-class stream. */
const STREAM_JOBS = 8;
/** The op of every subject but the single-image one: blur (sigma 4), a neighbourhood op that needs halos. */
const BLUR = { op: "blur", sigma: "4" };
/** The single-image scaling subject of the issue: blur with sigma 8. */
const BLUR_8 = { op: "blur", sigma: "8" };
const PI_IMPAIR = '{"cpu":0.25}';
/**
 * Pi-class stream jobs in flight: two per worker of the largest fleet, so a job waits in the
 * manager for each worker while its last result travels back (with 3, one per worker, each
 * worker idled between jobs: 7d measured 2.19x against 2.48-2.61x with 6).
 */
const PI_IN_FLIGHT = 6;
/** Rounds of the Pi-class subjects; in a round each fleet runs once, in turn (single runs moved by 20%). */
export const PI_ROUNDS = 2;


/** A manager process and its worker processes; `headers` go with every request (the token on a broker fleet). */
export interface Fleet {
  base: string;
  headers: Record<string, string>;
  stop(): Promise<void>;
}

/** A NATS server a fleet meets through: its URL, and its token in a file for the agents. */
export interface FleetBroker {
  url: string;
  token: string;
  tokenFile: string;
}

/**
 * Starts `agent --role manager` (`--split split`) and `workers` grayscale workers (each
 * `--concurrency concurrency`, optionally impaired); resolves once all have joined. With
 * `broker`, the manager and the workers meet through it (`--broker`, its token) instead of the
 * worker port.
 */
export async function startFleet(workers: number, concurrency: number, impair?: string, split: SplitMode = "auto", broker?: FleetBroker): Promise<Fleet> {
  const meet = (role: string[]) => (broker ? [...role, "--broker", broker.url, "--token-file", broker.tokenFile] : role);
  const manager = spawnBun([AGENT, "--no-control", "--host", "127.0.0.1", ...meet(["--role", "manager"]), "--port", "0", "--worker-port", "0", "--task-timeout", "300s", "--split", split]);
  const { port, worker_port } = (await manager.waitForEvent("manager_listening")) as { port: number; worker_port: number };
  const base = `http://127.0.0.1:${port}`;
  const headers: Record<string, string> = broker ? { authorization: `Bearer ${broker.token}` } : {};
  const children: Child[] = Array.from({ length: workers }, (_, index) =>
    spawnBun([AGENT, "--no-control", ...meet(["--role", "grayscale-worker"]), ...(broker ? [] : ["--manager", `127.0.0.1:${worker_port}`]), "--concurrency", String(concurrency), "--id", `bench-${index}`, ...(impair ? ["--impair", impair] : [])]),
  );
  for (;;) {
    const stats = (await (await fetch(`${base}/stats`, { headers })).json()) as { workers: number };
    if (stats.workers === workers) break;
    await Bun.sleep(20);
  }
  return { base, headers, stop: async () => void (await Promise.all([...children, manager].map(stopChild))) };
}

/** One job through the manager, answered when done (`POST /jobs?wait=1`); throws on any other answer. */
export async function postJob(base: string, jpeg: Uint8Array, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<void> {
  const form = new FormData();
  form.append("images", new File([jpeg as Uint8Array<ArrayBuffer>], "photo.jpg", { type: "image/jpeg" }));
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  const response = await fetch(`${base}/jobs?wait=1`, { method: "POST", body: form, headers });
  if (response.status !== 200) throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`);
}

/** The same job in this process: decode the JPEG, run the op on raw pixels (as a worker does), no encode. */
async function runLocally(jpeg: Uint8Array, fields: Record<string, string>): Promise<void> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const { op, ...params } = fields;
  await applyOp(op as ImageOp, Object.fromEntries(Object.entries(params).map(([key, value]) => [key, Number(value)])), { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height, channels: info.channels });
}

/** Runs `count` jobs with `parallel` at a time; answers the wall time (ms). */
export async function timeStream(count: number, parallel: number, run: () => Promise<void>): Promise<number> {
  const began = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      next += 1;
      await run();
    }
  }));
  return performance.now() - began;
}

/** One way a stripe could travel: bytes on the wire and ms of CPU to encode and decode it (0 for raw). */
export interface StripeCodec {
  name: string;
  bytes: number;
  encode_ms: number;
  decode_ms: number;
}

/** Link speeds the payload choice is judged at (bit/s): a Pi's 100 Mbit and 1 Gbit Ethernet. */
const LINKS = { "100 Mbit": 100e6, "1 Gbit": 1e9 };

/**
 * Measures the lossless forms a stripe could take: one seventh of the 8K photo (14.2 MB, the
 * size of a stripe when 7 workers' credit cuts it; at the 16 MiB cap alone it is 6 stripes of
 * 16.6 MB) as raw RGB, and as PNG at zlib levels 1 and 6 (median of 3 encodes and decodes each).
 */
async function measureStripeCodecs(jpeg: Uint8Array): Promise<StripeCodec[]> {
  const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
  const rows = Math.ceil(info.height / 7);
  const stripe = data.subarray(0, info.width * rows * info.channels);
  const raw = { raw: { width: info.width, height: rows, channels: info.channels as 3 } };
  const codecs: StripeCodec[] = [{ name: "raw", bytes: stripe.length, encode_ms: 0, decode_ms: 0 }];
  for (const level of [1, 6]) {
    const encodes: number[] = [];
    const decodes: number[] = [];
    let png = new Uint8Array(0);
    for (let turn = 0; turn < 3; turn += 1) {
      let began = performance.now();
      png = new Uint8Array(await sharp(stripe, raw).png({ compressionLevel: level }).toBuffer());
      encodes.push(performance.now() - began);
      began = performance.now();
      await sharp(png).raw().toBuffer();
      decodes.push(performance.now() - began);
    }
    codecs.push({ name: `PNG level ${level}`, bytes: png.length, encode_ms: median(encodes), decode_ms: median(decodes) });
  }
  return codecs;
}

/** What the subjects measured: ms of one job, and jobs/s of streams, per round; the stripe payload forms. */
export interface GrayscaleResults {
  stripe_codecs: StripeCodec[];
  one_job_ms: { manager: number[]; in_process: number[] };
  stream_jobs_per_s: { manager_2_workers: number[]; in_process_2_at_a_time: number[] };
  pi_stream_jobs_per_s: Record<"1" | "2" | "3", number[]>;
  /** One job alone on `--split stripes` fleets: both sides striped, the manager decoding (7e). */
  pi_single_ms: Record<"1" | "2", number[]>;
  /** The same on the `auto` fleets: one worker gets the file and decodes it at Pi speed; two get stripes. */
  pi_single_auto_ms: Record<"1" | "2", number[]>;
}

/**
 * Runs every subject. Overhead and capacity: `GRAYSCALE_ROUNDS` rounds, subjects in turn
 * (each fleet started once, warmed up with one job). Pi-class (`cpu 0.25`, `--concurrency 1`):
 * `PI_ROUNDS` rounds, the 1, 2 and 3 worker fleets in turn (each started once, warmed up with one job),
 * and for one job alone also 1 and 2 worker fleets with `--split stripes`.
 */
export async function runGrayscale(): Promise<GrayscaleResults> {
  const jpeg = new Uint8Array(await Bun.file(PHOTO).arrayBuffer());
  const results: GrayscaleResults = {
    stripe_codecs: await measureStripeCodecs(jpeg),
    one_job_ms: { manager: [], in_process: [] },
    stream_jobs_per_s: { manager_2_workers: [], in_process_2_at_a_time: [] },
    pi_stream_jobs_per_s: { "1": [], "2": [], "3": [] },
    pi_single_ms: { "1": [], "2": [] },
    pi_single_auto_ms: { "1": [], "2": [] },
  };
  const one = await startFleet(1, 2);
  const two = await startFleet(2, 1);
  try {
    await Promise.all([postJob(one.base, jpeg, BLUR), postJob(two.base, jpeg, BLUR), runLocally(jpeg, BLUR)]);
    for (let round = 0; round < GRAYSCALE_ROUNDS; round += 1) {
      results.one_job_ms.manager.push(await timeStream(1, 1, () => postJob(one.base, jpeg, BLUR)));
      results.one_job_ms.in_process.push(await timeStream(1, 1, () => runLocally(jpeg, BLUR)));
      results.stream_jobs_per_s.manager_2_workers.push((STREAM_JOBS * 1000) / (await timeStream(STREAM_JOBS, 4, () => postJob(two.base, jpeg, BLUR))));
      results.stream_jobs_per_s.in_process_2_at_a_time.push((STREAM_JOBS * 1000) / (await timeStream(STREAM_JOBS, 2, () => runLocally(jpeg, BLUR))));
    }
  } finally {
    await Promise.all([one.stop(), two.stop()]);
  }
  const pi = { "1": await startFleet(1, 1, PI_IMPAIR), "2": await startFleet(2, 1, PI_IMPAIR), "3": await startFleet(3, 1, PI_IMPAIR) };
  const striped = { "1": await startFleet(1, 1, PI_IMPAIR, "stripes"), "2": await startFleet(2, 1, PI_IMPAIR, "stripes") };
  try {
    await Promise.all([...Object.values(pi), ...Object.values(striped)].map((fleet) => postJob(fleet.base, jpeg, BLUR_8)));
    for (let round = 0; round < PI_ROUNDS; round += 1) {
      for (const workers of ["1", "2", "3"] as const) {
        const { base } = pi[workers];
        results.pi_stream_jobs_per_s[workers].push((STREAM_JOBS * 1000) / (await timeStream(STREAM_JOBS, PI_IN_FLIGHT, () => postJob(base, jpeg, BLUR_8))));
        if (workers === "3") continue;
        results.pi_single_auto_ms[workers].push(await timeStream(1, 1, () => postJob(base, jpeg, BLUR_8)));
        results.pi_single_ms[workers].push(await timeStream(1, 1, () => postJob(striped[workers].base, jpeg, BLUR_8)));
      }
    }
  } finally {
    await Promise.all(Object.values(striped).map((fleet) => fleet.stop()));
    await Promise.all(Object.values(pi).map((fleet) => fleet.stop()));
  }
  return results;
}

/** A figure from per-round values: the median, with the lowest and highest. */
function fromValues(what: string, values: number[], unit: string): Figure & { rounds: number[] } {
  return { what, value: median(values), unit, min: Math.min(...values), max: Math.max(...values), rounds: values };
}

/** The comparison rows (7a-7e), in the order of the acceptance items. Time rows compare speed: baseline ms / ours ms. */
export function toGrayscaleRows(results: GrayscaleResults): Row[] {
  const speedOf = (ms: number[]) => ms.map((value) => 1000 / value);
  const { one_job_ms, stream_jobs_per_s, pi_stream_jobs_per_s: pi, pi_single_ms: single } = results;
  return [
    compare("7a", "one 8K blur job: speed via manager + 1 worker (-c 2) vs in process", fromValues("manager, 1 worker", speedOf(one_job_ms.manager), "jobs/s"), fromValues("sharp in process", speedOf(one_job_ms.in_process), "jobs/s"), ">= 0.77 (time <= 1.3x)"),
    compare("7b", "stream of 8K blur jobs: manager + 2 workers vs in process 2 at a time", fromValues("manager, 2 workers", stream_jobs_per_s.manager_2_workers, "jobs/s"), fromValues("sharp, 2 at a time", stream_jobs_per_s.in_process_2_at_a_time, "jobs/s"), ">= 0.8"),
    compare("7c", "Pi-class stream of 8K blur (sigma 8): 2 workers vs 1", fromValues("2 workers", pi["2"], "jobs/s"), fromValues("1 worker", pi["1"], "jobs/s"), ">= 1.8"),
    compare("7d", "Pi-class stream of 8K blur (sigma 8): 3 workers vs 1", fromValues("3 workers", pi["3"], "jobs/s"), fromValues("1 worker", pi["1"], "jobs/s"), ">= 2.5"),
    compare("7e", "Pi-class single 8K blur (sigma 8), --split stripes: speed, 2 workers vs 1", fromValues("2 workers", speedOf(single["2"]), "jobs/s"), fromValues("1 worker", speedOf(single["1"]), "jobs/s"), ">= 1.6"),
  ];
}

/** The stripe payload forms: size, CPU, and the time one stripe takes per link speed (encode + wire + decode, both ways for a round trip: x2). */
export function formatStripeCodecs(codecs: StripeCodec[]): string {
  return formatTable(
    ["stripe form", "MB", "encode ms", "decode ms", ...Object.keys(LINKS).map((link) => `round trip ms at ${link}`)],
    codecs.map((codec) => [
      codec.name,
      (codec.bytes / 1e6).toFixed(1),
      codec.encode_ms.toFixed(0),
      codec.decode_ms.toFixed(0),
      ...Object.values(LINKS).map((bits) => (2 * (codec.encode_ms + codec.decode_ms + (codec.bytes * 8 * 1000) / bits)).toFixed(0)),
    ]),
  );
}

/** The raw figures of each subject. */
export function formatGrayscaleRuns(results: GrayscaleResults): string {
  const ms = (values: number[]) => values.map((value) => value.toFixed(0)).join(", ");
  const rate = (values: number[]) => values.map((value) => value.toFixed(3)).join(", ");
  return formatTable(
    ["subject", "per round"],
    [
      ["one job via manager, ms", ms(results.one_job_ms.manager)],
      ["one job in process, ms", ms(results.one_job_ms.in_process)],
      ["stream via manager + 2 workers, jobs/s", rate(results.stream_jobs_per_s.manager_2_workers)],
      ["stream in process 2 at a time, jobs/s", rate(results.stream_jobs_per_s.in_process_2_at_a_time)],
      ...(["1", "2", "3"] as const).map((workers) => [`Pi-class stream, ${workers} worker(s), jobs/s`, rate(results.pi_stream_jobs_per_s[workers])]),
      ...(["1", "2"] as const).map((workers) => [`Pi-class single job, ${workers} worker(s), --split stripes, ms`, ms(results.pi_single_ms[workers])]),
      ...(["1", "2"] as const).map((workers) => [`Pi-class single job, ${workers} worker(s), --split auto, ms`, ms(results.pi_single_auto_ms[workers])]),
    ],
  );
}
