// Recognition subjects: the model in process against a recognition worker through the manager and over the protocol; concurrency, batching, Pi-class workers.
import { join } from "node:path";
import { WASM_FILES } from "../agent/recognition/coco-ssd";
import { createDetector } from "../agent/recognition/detect";
import { readEmbeddedModel } from "../agent/recognition/model";
import { DEFAULT_LIMITS } from "../agent/recognition/postprocess";
import { readModelInput } from "../agent/recognition/preprocess";
import { startClassifyDriver } from "./_classify-driver";
import { runThroughManager } from "./_classify-manager";
import { AGENT, REPO, spawnBun, stopChild } from "./_process";
import { compare, formatTable, median, type Figure, type Row } from "./_table";

/** The photos classified, in turn: the real fixtures (451x300, 600x400, 512x512 JPEGs). */
const PHOTOS = ["chelsea.jpg", "coffee.jpg", "astronaut.jpg"].map((name) => join(REPO, "test", "fixtures", name));
/** Counted rounds of each subject; subjects take turns within a round, so drift hits all alike. */
export const RECOGNITION_ROUNDS = 2;
/** Seconds counted per run, after `WARMUP_S` uncounted ones. */
const RUN_S = 5;
const WARMUP_S = 2;
/** The Pi-class runs are slower (a few images/s): counted longer, in rounds of their own after the others (one run moved by ~20%). */
const PI_RUN_S = 8;

/** One worker setup: `processes` recognition workers with these flags. */
interface Setup {
  name: string;
  processes: number;
  concurrency: number;
  batch: number;
  impair?: string;
}

/** What one run of a setup measured. */
export interface RecognitionRun {
  name: string;
  images_per_s: number;
  errors: number;
  /** Images per model call, over the run's whole life (warm-up included). */
  mean_batch?: number;
}

const SETUPS: Setup[] = [
  { name: "worker c1 b1", processes: 1, concurrency: 1, batch: 1 },
  { name: "worker c2 b1", processes: 1, concurrency: 2, batch: 1 },
  { name: "worker c1 b4", processes: 1, concurrency: 1, batch: 4 },
  { name: "worker c2 b4", processes: 1, concurrency: 2, batch: 4 },
];
const PI_SETUPS: Setup[] = [
  { name: "1 Pi-class worker", processes: 1, concurrency: 1, batch: 1, impair: '{"cpu":0.25}' },
  { name: "3 Pi-class workers", processes: 3, concurrency: 1, batch: 1, impair: '{"cpu":0.25}' },
];

/** The model in this process, one image at a time, decode included: images/s, and ms per model call alone. */
async function runInProcess(files: Uint8Array[]): Promise<RecognitionRun & { detect_ms: number }> {
  const detector = await createDetector(readEmbeddedModel(), WASM_FILES);
  try {
    const loop = async (seconds: number) => {
      let images = 0;
      let detectMs = 0;
      const began = performance.now();
      while (performance.now() - began < seconds * 1000) {
        const input = await readModelInput(files[images % files.length]!);
        const called = performance.now();
        await detector.detect([input], [DEFAULT_LIMITS]);
        detectMs += performance.now() - called;
        images += 1;
      }
      return { images_per_s: images / ((performance.now() - began) / 1000), detect_ms: detectMs / images };
    };
    await loop(WARMUP_S);
    const { images_per_s, detect_ms } = await loop(RUN_S);
    return { name: "in-process", images_per_s: Math.round(images_per_s * 100) / 100, errors: 0, detect_ms: Math.round(detect_ms * 10) / 10 };
  } finally {
    detector.dispose();
  }
}

/** Starts the setup's worker processes against a fresh driver, warms up, counts, stops them. */
async function runWorkers(setup: Setup, files: Uint8Array[], seconds = RUN_S): Promise<RecognitionRun> {
  await using driver = startClassifyDriver(files);
  const flags = ["--role", "recognition-worker", "--no-control", "--manager", `127.0.0.1:${driver.port}`, "--concurrency", String(setup.concurrency), "--batch", String(setup.batch)];
  const children = Array.from({ length: setup.processes }, (_, index) =>
    spawnBun([AGENT, ...flags, "--id", `bench-${index}`, ...(setup.impair ? ["--impair", setup.impair] : [])]),
  );
  try {
    await Promise.race([driver.waitForWorkers(setup.processes), ...children.map((child) => child.finished.then(({ stderr }) => Promise.reject(new Error(`${setup.name}: a worker ended: ${stderr.slice(-1000)}`))))]);
    await driver.measure(WARMUP_S);
    const counted = await driver.measure(seconds);
    driver.pause();
    const finals = await Promise.all(children.map(stopChild));
    const images = finals.reduce((sum, stats) => sum + Number(stats?.images ?? 0), 0);
    const batches = finals.reduce((sum, stats) => sum + Number(stats?.batches ?? 0), 0);
    return { name: setup.name, images_per_s: counted.images_per_s, errors: counted.errors, mean_batch: batches > 0 ? Math.round((images / batches) * 100) / 100 : undefined };
  } finally {
    for (const child of children) child.proc.kill("SIGKILL");
  }
}

/** Everything the recognition subjects measured: runs by name, one per round; the model call alone in ms. */
export interface RecognitionResults {
  runs: Record<string, RecognitionRun[]>;
  detect_ms: number[];
}

/** Runs every subject: `RECOGNITION_ROUNDS` rounds of in-process and the worker setups in turn, then as many rounds of the Pi-class setups in turn. */
export async function runRecognition(log: (line: string) => void = () => {}): Promise<RecognitionResults> {
  const files = await Promise.all(PHOTOS.map(async (path) => new Uint8Array(await Bun.file(path).arrayBuffer())));
  const runs: Record<string, RecognitionRun[]> = {};
  const detectMs: number[] = [];
  const keep = (run: RecognitionRun) => {
    (runs[run.name] ??= []).push(run);
    log(`  ${run.name}: ${run.images_per_s} img/s${run.mean_batch ? `, ${run.mean_batch} images per model call` : ""}${run.errors ? `, ${run.errors} errors` : ""}`);
  };
  for (let round = 1; round <= RECOGNITION_ROUNDS; round++) {
    log(`recognition round ${round}/${RECOGNITION_ROUNDS}`);
    const inProcess = await runInProcess(files);
    detectMs.push(inProcess.detect_ms);
    keep(inProcess);
    const viaManager = await runThroughManager(files, ["--concurrency", "1", "--batch", "1"], RUN_S, WARMUP_S);
    keep({ name: "manager + worker c1 b1", ...viaManager });
    for (const setup of SETUPS) keep(await runWorkers(setup, files));
  }
  for (let round = 1; round <= RECOGNITION_ROUNDS; round++) for (const setup of PI_SETUPS) keep(await runWorkers(setup, files, PI_RUN_S));
  return { runs, detect_ms: detectMs };
}

/** The recognition comparison rows (ratios of rounds side by side). */
export function toRecognitionRows({ runs }: RecognitionResults): Row[] {
  const figure = (name: string, what = name): Figure & { rounds: number[] } => {
    const rounds = runs[name]!.map((run) => run.images_per_s);
    return { what, value: median(rounds), unit: "img/s", min: Math.min(...rounds), max: Math.max(...rounds), rounds };
  };
  return [
    compare("6a", "classify, 1 worker via the manager vs in process", figure("manager + worker c1 b1", "POST /jobs, worker -c 1"), figure("in-process"), ">= 0.9"),
    compare("6a'", "classify, 1 worker via protocol vs in process", figure("worker c1 b1", "driver, worker -c 1"), figure("in-process")),
    compare("6b", "classify, one worker: 2 threads vs 1", figure("worker c2 b1", "--concurrency 2"), figure("worker c1 b1", "--concurrency 1")),
    compare("6c", "classify, --batch 4 vs 1, 1 thread", figure("worker c1 b4", "--batch 4"), figure("worker c1 b1", "--batch 1")),
    compare("6d", "classify, --batch 4 vs 1, 2 threads", figure("worker c2 b4", "--batch 4"), figure("worker c2 b1", "--batch 1")),
    compare("6e", "classify, Pi-class workers (cpu 0.25)", figure("3 Pi-class workers", "3 workers"), figure("1 Pi-class worker", "1 worker"), ">= 2.5"),
  ];
}

/** The runs as a table. */
export function formatRecognitionRuns({ runs }: RecognitionResults): string {
  const rows = Object.values(runs).flat().map((run) => [run.name, String(run.images_per_s), run.mean_batch === undefined ? "" : String(run.mean_batch), String(run.errors)]);
  return formatTable(["run", "img/s", "images per model call", "errors"], rows);
}

if (import.meta.main) {
  const { formatRows } = await import("./_table");
  const results = await runRecognition(console.log);
  console.log(`\n${formatRows(toRecognitionRows(results))}\n\n${formatRecognitionRuns(results)}\nmodel call alone, in process: ${results.detect_ms.join(", ")} ms per image`);
}
