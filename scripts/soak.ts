// `npm run soak -- --minutes 10`: a whole fleet as real agent processes under steady load; RSS, fds and event-loop lag sampled every second.
import { defineCommand, runMain } from "citty";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { sampleAgent, startAgent, type SoakAgent, type SoakSample } from "./_soak-fleet";
import { toFigures, toHtml, toTable } from "./_soak-report";

/** Share of the measured maximum upload rate the soak's sender runs at. */
const LOAD_SHARE = 0.8;
/** Highest --fps a sender takes; above it frames are multiplied. */
const MAX_SENDER_FPS = 500;

/** Removes the files the receiver saved (the soak is about the processes, not the disk), every few seconds. */
function startJanitor(outDir: string): () => void {
  const timer = setInterval(() => {
    for (const topic of readdirSync(outDir, { withFileTypes: true })) {
      if (!topic.isDirectory() || topic.name.startsWith(".")) continue;
      for (const file of readdirSync(join(outDir, topic.name))) {
        try {
          unlinkSync(join(outDir, topic.name, file));
        } catch {
          // saved and removed in between: nothing to do
        }
      }
    }
  }, 5000);
  return () => clearInterval(timer);
}

/** Runs a sender flat out at the receiver for `seconds` (with the rest of the fleet already busy); answers its images per second. */
async function measureMaxRate(receiverPort: number, seconds: number): Promise<number> {
  const probe = await startAgent("probe-sender", "sender", ["--target", `http://127.0.0.1:${receiverPort}/upload`, "--source", "files:test/fixtures/*.jpg", "--fps", "0", "--multiply", "20", "--concurrency", "8", "--duration", "0"]);
  await Bun.sleep(seconds * 1000);
  const figures = await probe.stop();
  return Number(figures?.images_per_s ?? 0);
}

/** Starts the fleet but the measured sender: receiver, manager with workers and a job stream, streamer with viewers. */
async function startFleet(outDir: string, viewers: number, workers: number, watchS: number): Promise<SoakAgent[]> {
  const receiver = await startAgent("receiver", "receiver", ["--port", "0", "--out", outDir], "receiver_listening");
  // The job table is bounded (--max-jobs, --max-results) and fills at the job stream's rate: 100 jobs fill it within the
  // warm-up, so what the figures show after it is growth the bounds do not explain (a leak), not the table filling.
  const manager = await startAgent("manager", "manager", ["--port", "0", "--worker-port", "0", "--max-jobs", "100"], "manager_listening");
  const workerAgents: SoakAgent[] = [];
  for (let index = 1; index <= workers; index += 1)
    workerAgents.push(await startAgent(`worker-${index}`, "grayscale-worker", ["--manager", `127.0.0.1:${manager.listening.worker_port}`]));
  const jobs = await startAgent("job-sender", "sender", [
    "--target", `http://127.0.0.1:${manager.listening.port}/jobs?wait=1`, "--format", "job", "--job", "op=grayscale",
    "--source", "files:test/fixtures/*-480p.jpg", "--fps", "4", "--multiply", "1", "--concurrency", "4", "--duration", "0",
  ]);
  const streamer = await startAgent("streamer", "streamer", ["--port", "0", "--source", "synthetic:640x480", "--fps", "30"], "streamer_listening");
  const watchers = await startAgent("viewers", "viewers", ["--target", `http://127.0.0.1:${streamer.listening.port}/stream`, "--count", String(viewers), "--duration", `${watchS}s`]);
  return [receiver, manager, ...workerAgents, jobs, streamer, watchers];
}

const main = defineCommand({
  meta: { name: "soak", description: "soak a fleet of real agents on loopback; sample RSS, fds and event-loop lag every second" },
  args: {
    minutes: { type: "string", default: "10", description: "how long the soak runs (after the rate measurement)" },
    warmup: { type: "string", description: "seconds left out of the figures (default: 20% of the run, at most 120)" },
    out: { type: "string", default: "results/soak", description: "folder for series.json, summary.json and soak.html" },
    viewers: { type: "string", default: "100" },
    workers: { type: "string", default: "2" },
    measure: { type: "string", default: "8", description: "seconds of the flat-out rate measurement" },
  },
  async run({ args }) {
    const seconds = Math.round(Number(args.minutes) * 60);
    const warmupS = args.warmup === undefined ? Math.min(120, Math.round(seconds * 0.2)) : Number(args.warmup);
    const outFolder = resolve(args.out);
    mkdirSync(outFolder, { recursive: true });
    const saveDir = mkdtempSync(join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "framefleet-soak-"));
    const fleet = await startFleet(saveDir, Number(args.viewers), Number(args.workers), seconds + 120);
    const stopJanitor = startJanitor(saveDir);
    const receiverPort = fleet[0]!.listening.port as number;
    const maxRate = await measureMaxRate(receiverPort, Number(args.measure));
    const rate = maxRate * LOAD_SHARE;
    const multiply = Math.max(1, Math.ceil(rate / MAX_SENDER_FPS));
    console.log(`soak: max upload rate ${maxRate} images/s with the fleet busy; sending ${Math.round(rate)} images/s (${LOAD_SHARE * 100}%) for ${seconds} s, warm-up ${warmupS} s`);
    const sender = await startAgent("sender", "sender", [
      "--target", `http://127.0.0.1:${receiverPort}/upload`, "--source", "files:test/fixtures/*.jpg",
      "--fps", String(Math.round((rate / multiply) * 100) / 100), "--multiply", String(multiply), "--concurrency", "8", "--duration", "0",
    ]);
    fleet.push(sender);

    const series: Record<string, SoakSample[]> = Object.fromEntries(fleet.map((agent) => [agent.name, []]));
    const started = performance.now();
    for (let tick = 1; tick <= seconds; tick += 1) {
      await Bun.sleep(Math.max(0, started + tick * 1000 - performance.now()));
      const t = Math.round((performance.now() - started) / 100) / 10;
      const samples = await Promise.all(fleet.map((agent) => sampleAgent(agent, t)));
      samples.forEach((sample, index) => sample && series[fleet[index]!.name]!.push(sample));
      if (tick % 60 === 0) console.log(`soak: ${tick} s, ${fleet.map((agent) => `${agent.name} ${series[agent.name]!.at(-1)?.rss_mb ?? "?"} MB`).join(", ")}`);
    }

    stopJanitor();
    const finals: Record<string, unknown> = {};
    for (const agent of [...fleet].reverse()) finals[agent.name] = await agent.stop();
    rmSync(saveDir, { recursive: true, force: true });
    const figures = fleet.map((agent) => toFigures(agent.name, series[agent.name]!, warmupS));
    const title = `Framefleet soak: ${seconds / 60} min, ${fleet.length} agents`;
    writeFileSync(join(outFolder, "series.json"), `${JSON.stringify({ seconds, warmupS, maxRate, rate, series }, null, 1)}\n`);
    writeFileSync(join(outFolder, "summary.json"), `${JSON.stringify({ seconds, warmupS, maxRate, rate, figures, finals }, null, 2)}\n`);
    writeFileSync(join(outFolder, "soak.html"), toHtml(series, figures, warmupS, title));
    console.log(toTable(figures));
    const sent = finals.sender as { sent?: number; ok?: number; failed?: number; images_per_s?: number } | undefined;
    console.log(`sender: ${sent?.sent} sent, ${sent?.ok} ok, ${sent?.failed} failed, ${sent?.images_per_s} images/s; files in ${outFolder}`);
  },
});

await runMain(main);
