// `npm run bench`: every subject against its baseline in one run, printed as a table and saved to bench/results/latest.json; `npm run bench -- ack` (or `-- broker`) runs that subject alone.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { cleanUp, makeTempDir, removeTempDir } from "./_process";
import { BROKER_ROUNDS, formatBrokerRuns, runBroker, toBrokerRows } from "./broker";
import { ACK_LOAD, ACK_ROUNDS, ACK_RUN_SECONDS, formatAck, runAck } from "./ack";
import { formatRows, formatRuns, toRows } from "./_table";
import { describeFolder, runDisk } from "./disk";
import { runFunctions } from "./functions";
import { LOAD, PHOTO, ROUNDS, RUN_SECONDS, WARMUP_SECONDS, runIngest, type LoadRun } from "./ingest";
import { GRAYSCALE_ROUNDS, PI_ROUNDS, formatGrayscaleRuns, formatStripeCodecs, runGrayscale, toGrayscaleRows } from "./grayscale";
import { RECOGNITION_ROUNDS, formatRecognitionRuns, runRecognition, toRecognitionRows } from "./recognition";
import { STREAM_NOTE, formatStreamRuns, runStreamer } from "./streamer";

const TMPFS = "/dev/shm";
const RESULTS = join(import.meta.dir, "results");

function describeMachine(): Record<string, unknown> {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpu: /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown",
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The tmpfs load subjects in a fresh folder under /dev/shm, removed afterwards. */
async function runInTmpfs() {
  const dir = makeTempDir(TMPFS);
  try {
    return { folder: describeFolder(dir), ...(await runIngest(dir)) };
  } finally {
    removeTempDir(dir);
  }
}

/** Runs the --ack subject and prints its table and what it includes. */
async function runAndPrintAck() {
  const ack = await runAck();
  console.log(`\nreceiver --ack modes against a naive saver (wrk -t${ACK_LOAD.threads} -c${ACK_LOAD.connections}, POST of ${PHOTO.split("/").at(-1)}, 127.0.0.1; ${ACK_ROUNDS} rounds of ${ACK_RUN_SECONDS}s per cell after a 1 s warm-up, subjects in turn, output emptied and \`sync\` between rounds):`);
  console.log(formatAck(ack.cells));
  console.log(`folders: ${ack.folders.map((folder) => `${folder.path} (${folder.device}, ${folder.fstype})`).join("; ")}`);
  console.log("- 2xx/s: wrk's answers; queued answers before the file exists, so saved/s (files counted after the receiver's queue drained / (wrk's time + drain)) is its real rate.");
  return ack;
}

/** `npm run bench -- ack`: the --ack subject alone, saved to bench/results/ack-latest.json. */
async function mainAck(): Promise<void> {
  const machine = describeMachine();
  console.log(`Framefleet bench (ack)  ${machine.date}  ${machine.cores} cores  ${machine.cpu}  bun ${machine.bun}  ${machine.platform}`);
  const ack = await runAndPrintAck();
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "ack-latest.json"), `${JSON.stringify({ machine, load: ACK_LOAD, ...ack }, null, 2)}\n`);
  console.log(`\nwritten: ${join(RESULTS, "ack-latest.json")}`);
}

const BROKER_NOTE = `${BROKER_ROUNDS} rounds; in each the TCP fleet, then the broker fleet, run the stream, then one job alone each; a fleet = a manager process and 2 grayscale worker processes (--concurrency 1), the broker a local nats-server`;

/** Runs the broker subject and prints its rounds. */
async function runAndPrintBroker() {
  const broker = await runBroker();
  console.log(`\nbroker runs (NATS JetStream against the TCP manager; ${BROKER_NOTE}):`);
  console.log(formatBrokerRuns(broker));
  return broker;
}

/** `npm run bench -- broker`: the broker subject alone, saved to bench/results/broker-latest.json. */
async function mainBroker(): Promise<void> {
  const machine = describeMachine();
  console.log(`Framefleet bench (broker)  ${machine.date}  ${machine.cores} cores  ${machine.cpu}  bun ${machine.bun}  ${machine.platform}`);
  const broker = await runAndPrintBroker();
  console.log(`\n${formatRows(toBrokerRows(broker))}`);
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "broker-latest.json"), `${JSON.stringify({ machine, ...broker, rows: toBrokerRows(broker) }, null, 2)}\n`);
  console.log(`\nwritten: ${join(RESULTS, "broker-latest.json")}`);
}

async function main(): Promise<void> {
  const machine = describeMachine();
  console.log(`Framefleet bench  ${machine.date}  ${machine.cores} cores  ${machine.cpu}  bun ${machine.bun}  ${machine.platform}`);
  console.log(`load: our sender, --concurrency ${LOAD.concurrency} --multiply ${LOAD.multiply}, files:${PHOTO.split("/").at(-1)}, 127.0.0.1; each server warmed up ${WARMUP_SECONDS}s (not counted), then ${ROUNDS} counted rounds of ${RUN_SECONDS}s, servers taking turns\n`);
  const functions = await runFunctions();
  const tmpfs = await runInTmpfs();
  const disk = await runDisk();
  const recognition = await runRecognition();
  const grayscale = await runGrayscale();
  const streamer = await runStreamer();
  const ack = await runAndPrintAck();
  const broker = await runAndPrintBroker();
  const rows = [...toRows({ sink: tmpfs.sink, binary: tmpfs.binary, json: tmpfs.json, disk, functions }), ...toRecognitionRows(recognition), ...toGrayscaleRows(grayscale), ...toBrokerRows(broker)];
  const runs: [string, LoadRun][] = [
    ...tmpfs.sink.map((run, index): [string, LoadRun] => [`bare Bun.serve, binary #${index + 1}`, run]),
    ...tmpfs.binary.map((run, index): [string, LoadRun] => [`receiver tmpfs, binary #${index + 1}`, run]),
    ...tmpfs.json.map((run, index): [string, LoadRun] => [`receiver tmpfs, JSON #${index + 1}`, run]),
    ["receiver disk, binary", disk.receiver],
  ];

  console.log(formatRows(rows));
  console.log(`\nload runs (${RUN_SECONDS}s each; rounds ran in the order #1 of each server, then #2, ...):`);
  console.log(formatRuns(runs));
  console.log(`\nrecognition runs (${RECOGNITION_ROUNDS} rounds, subjects in turn; then the Pi-class runs in as many rounds):`);
  console.log(formatRecognitionRuns(recognition));
  console.log(`\ngrayscale runs (overhead and capacity: ${GRAYSCALE_ROUNDS} rounds, subjects in turn; Pi-class: ${PI_ROUNDS} rounds, fleets in turn):`);
  console.log(formatGrayscaleRuns(grayscale));
  console.log(`\nstreamer runs (Framefleet against Debian's motion; ${STREAM_NOTE}):`);
  console.log(formatStreamRuns(streamer));
  console.log("\nstripe payload forms (one seventh of the 8K photo; round trip = 2 x (encode + wire + decode)):");
  console.log(formatStripeCodecs(grayscale.stripe_codecs));
  const c = functions.checks;
  console.log(`
folders: tmpfs ${tmpfs.folder.path} (${tmpfs.folder.fstype}); disk ${disk.folder.path} (${disk.folder.device}, ${disk.folder.fstype})
checks: readJpegHeader agrees with sharp metadata: ${c.header_matches_sharp}; frames in the stream ${c.frames_expected}, ours ${c.frames_ours}, naive ${c.frames_naive}
what the numbers include:
- figures of rows 1, 1b, 3, 4: median of the rounds [lowest-highest]; their ratios: median of the per-round ratios (rounds side by side in time).
- img/s (1, 3a, 4a): 202 answers counted by our sender process / its sending time; the same client for every server.
- 1b: images the receiver saved in the round / (sending time + the time until /stats showed an empty queue, polled every 5 ms).
- 2: one round; JPEG bytes saved / (sending time + drain after SIGTERM until the receiver exited + \`sync\` until it returned); baseline: ${disk.sequential.bytes / 2 ** 30} GiB of random bytes in 1 MiB write()s to one file, then fsync, ${disk.sequential.seconds}s; MB = 1e6 bytes.
- 3b: request-body bytes (JSON is base64, ~4/3 larger); 3c: JPEG bytes (img/s x ${functions.photo_bytes} B).
- CPU %: of one core; sender over its whole life incl. startup (rusage); server over the counted sending time (/proc/PID/stat).
- 5: tinybench mean ops/s over 1 s of samples after 200 ms warm-up; 5c MB/s = ops/s x ${(functions.stream_bytes / 1e6).toFixed(1)} MB per pass.
- 6: classify on chelsea, coffee, astronaut in turn (decode with sharp included). In process: one image at a time on this thread (model call alone: ${recognition.detect_ms.join(", ")} ms).
  6a: a manager process and one \`agent --role recognition-worker\` process; 4 POST /jobs?wait=1 of one photo each in flight; images of jobs done in the window.
  6a'-6e: worker processes fed to their credit over the protocol by bench/_classify-driver.ts (no manager);
  results counted over 5 s after a 2 s warm-up (8 s for 6e); c = --concurrency, b = --batch; 6e: --impair '{"cpu":0.25}', --concurrency 1 each.
- 7: test/fixtures/large/coffee-8k.jpg (7680x4320). Ours: a manager process and grayscale worker processes, each job POST /jobs?wait=1 (upload;
  while jobs are fewer than workers the manager decodes and cuts stripes of at most 16 MiB raw, else the file goes whole to a worker that decodes it;
  the raw output back to the manager; no result encode). Baseline: the same decode and applyOp in this process, no encode.
  7a: one job at a time (median of rounds, speed = 1/time); 7b: 8 jobs, 4 in flight to 2 workers (-c 1) against 2 at a time in process;
  7c-7e: workers --impair '{"cpu":0.25}' --concurrency 1, blur sigma 8, 8 jobs 6 in flight (7c, 7d), one job alone on --split stripes fleets (7e: the striping alone; with auto one worker gets the file and decodes it at Pi speed: see the runs); 2 rounds, fleets in turn.
- 8: coffee-8k.jpg scaled to 3840x2160 (JPEG q90), blur sigma 4, POST /jobs?wait=1, --split auto; 8a: 12 jobs 4 in flight; 8b: one job alone (ms); ${BROKER_NOTE}.
  On the broker a job's tasks and results over 512 KiB go through the Object Store, and a done image's raw output is stored there too (any manager answers it).`);

  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, "latest.json"), `${JSON.stringify({ machine, load: { ...LOAD, rounds: ROUNDS, run_s: RUN_SECONDS, warmup_s: WARMUP_SECONDS }, rows, runs: Object.fromEntries(runs), disk, functions, recognition, grayscale, streamer, ack, broker }, null, 2)}\n`);
  console.log(`\nwritten: ${join(RESULTS, "latest.json")}`);
}

const stopOnSignal = (): void => void cleanUp().then(() => process.exit(130));
process.on("SIGINT", stopOnSignal);
process.on("SIGTERM", stopOnSignal);
try {
  await (process.argv[2] === "ack" ? mainAck() : process.argv[2] === "broker" ? mainBroker() : main());
} finally {
  await cleanUp();
}
