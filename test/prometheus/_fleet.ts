// A fleet of every role on one in-process agent under load, for the /metrics tests: receiver fed by a sender, manager with workers, streamer with viewers.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createControlApp } from "../../agent/control/app";
import { TelemetrySampler } from "../../agent/telemetry";
import { Supervisor } from "../../agent/control/supervisor";
import { checkRole } from "../../agent/wire";
import { makeTempDir, quietContext, readPhotos, waitUntil } from "../helpers";

/** The running fleet: its control app, supervisor and the ids of its roles; everything stops and is removed on dispose. */
export interface Fleet extends AsyncDisposable {
  app: Awaited<ReturnType<typeof createControlApp>>;
  supervisor: Supervisor;
  ids: Record<"receiver" | "sender" | "manager" | "grayscale" | "recognition" | "streamer" | "viewers", string>;
  /** Posts `count` invert jobs to the manager and waits for their results. */
  postJobs(count: number, op?: string): Promise<void>;
  /** GET /metrics of the agent (with its token). */
  scrape(): Promise<string>;
  /** Serves the control API on a free loopback port; answers `127.0.0.1:PORT`. Stopped on dispose. */
  listen(): string;
}

/** How the fleet's agent is set up: its fake board (a folder holding `sys/`: temperature, throttling) and control API token. */
export interface FleetSettings {
  boardRoot?: string;
  token?: string;
}

/**
 * Starts every role on one agent set up per `settings`: a sender
 * at 50 images/s to a receiver, a manager with a grayscale and a recognition worker (one job
 * each done), a streamer with two viewers watching. Waits until each has figures to show.
 */
export async function startFleet(settings: FleetSettings = {}): Promise<Fleet> {
  const dir = makeTempDir();
  const supervisor = new Supervisor(quietContext, { allowSourceCmd: false, allowFilesAnywhere: true, dataDir: dir.path });
  const telemetry = new TelemetrySampler(settings.boardRoot === undefined ? {} : { root: settings.boardRoot, vcgencmd: null });
  await telemetry.sample();
  const app = await createControlApp({ agent: "test", version: "0.0.0", supervisor, token: settings.token, telemetry: telemetry.start() });
  const authorization: Record<string, string> = settings.token ? { authorization: `Bearer ${settings.token}` } : {};
  const start = async (role: string, options: Record<string, unknown>) => (await supervisor.start(role, options, "api")).id;
  const port = (id: string, field = "port") => (supervisor.get(id).stats as unknown as Record<string, number>)[field];
  const receiver = await start("receiver", { port: 0, out: "images" });
  const sender = await start("sender", { target: [`http://127.0.0.1:${port(receiver)}/upload`], source: "synthetic:64x48", topics: 2, multiply: 1, fps: 25, duration: "10m", concurrency: 2 });
  const manager = await start("manager", { port: 0, workerPort: 0 });
  const grayscale = await start("grayscale-worker", { manager: `127.0.0.1:${port(manager, "worker_port")}`, concurrency: 1, id: "gw1" });
  const recognition = await start("recognition-worker", { manager: `127.0.0.1:${port(manager, "worker_port")}`, concurrency: 1, id: "rw1" });
  await waitUntil("both workers to join", () => checkRole(supervisor.get(manager), "manager").stats.workers, (workers) => workers === 2);
  const streamer = await start("streamer", { port: 0, source: "synthetic:64x48", fps: 10 });
  const viewers = await start("viewers", { target: `http://127.0.0.1:${port(streamer)}/stream?quality=low`, count: 2, duration: "10m" });
  const postJobs = async (count: number, op = "invert") => {
    const form = new FormData();
    for (let index = 0; index < count; index++) form.append("images", new File([readPhotos().get("chelsea-480p.jpg")!], `${index}.jpg`));
    form.append("op", op);
    const answer = await fetch(`http://127.0.0.1:${port(manager)}/jobs?wait=1`, { method: "POST", body: form });
    if (answer.status !== 200) throw new Error(`POST /jobs answered ${answer.status}: ${await answer.text()}`);
  };
  let listening = false;
  await postJobs(2);
  await postJobs(1, "classify");
  await waitUntil("frames at the viewers and saves at the receiver", () => [checkRole(supervisor.get(streamer), "streamer").stats.delivered, checkRole(supervisor.get(receiver), "receiver").stats.saved], ([delivered, saved]) => delivered! > 4 && saved! > 20);
  return {
    app,
    supervisor,
    ids: { receiver, sender, manager, grayscale, recognition, streamer, viewers },
    postJobs,
    scrape: async () => (await app.handle(new Request("http://localhost/metrics", { headers: authorization }))).text(),
    listen() {
      app.listen({ port: 0, hostname: "127.0.0.1" });
      listening = true;
      return `127.0.0.1:${app.server!.port}`;
    },
    async [Symbol.asyncDispose]() {
      if (listening) await app.stop();
      await supervisor.stopAll();
      dir[Symbol.dispose]();
    },
  };
}

/** A fake board under `root`: a Pi's thermal zone (48.312 °C, read as 48.3) and firmware throttling word (0x50005: under-voltage and throttled now) in `sys/`. */
export function writeFakeSysfs(root: string): void {
  mkdirSync(join(root, "sys/class/thermal/thermal_zone0"), { recursive: true });
  writeFileSync(join(root, "sys/class/thermal/thermal_zone0/temp"), "48312\n");
  mkdirSync(join(root, "sys/devices/platform/soc/soc:firmware"), { recursive: true });
  writeFileSync(join(root, "sys/devices/platform/soc/soc:firmware/get_throttled"), "0x50005\n");
}
