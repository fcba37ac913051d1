// Telemetry of the box an agent runs on, sampled each second: CPU per core, load, memory, network and disk rates, SoC temperature, CPU frequency, the Pi's throttling flags.
import { readdir } from "node:fs/promises";
import { loadavg } from "node:os";
import { join } from "node:path";
import { parseDiskstats, parseKiloHertz, parseMeminfo, parseMilliCelsius, parseNetDev, parseProcStat, parseThrottled, toCoreBusyPct, type CpuTimes, type DiskCounters, type NetCounters, type ThrottleFlags } from "./parse";

/**
 * One sample, over the interval that ends at `t` (epoch ms). Rates are per second over that
 * interval (the first sample, with nothing to compare, has none). A source that cannot be
 * read is null, with the reason under `missing` (never a zero that looks measured).
 */
export interface TelemetrySample {
  t: number;
  /** Busy share of each core (%), from /proc/stat. */
  cpu_pct: number[] | null;
  /** Mean of `cpu_pct` over the cores (%). */
  cpu_total_pct: number | null;
  /** 1-minute load average. */
  load1: number;
  memory: { total_bytes: number; available_bytes: number } | null;
  /** Received and sent bits per second per interface (loopback included), from /proc/net/dev. */
  net: Record<string, { rx_bit_s: number; tx_bit_s: number }> | null;
  /** Bytes read and written per second and busy share (%) per whole disk, from /proc/diskstats. */
  disk: Record<string, { read_bytes_s: number; write_bytes_s: number; busy_pct: number }> | null;
  /** SoC temperature (°C), thermal zone 0. */
  temp_c: number | null;
  /** Current frequency of CPU 0 (MHz). */
  freq_mhz: number | null;
  /** The Pi firmware's throttling flags (vcgencmd get_throttled, else the firmware's sysfs file). */
  throttled: ThrottleFlags | null;
  /** This agent's process: CPU used over the interval in cores (1 = one core busy), resident memory (bytes). */
  process: { cpu_cores: number; rss_bytes: number };
  /** Why each null source is null, by field name. */
  missing: Record<string, string>;
}

/** Where a sampler reads; the defaults are the real machine's. */
export interface TelemetryOptions {
  /** Prefix of /proc and /sys (a folder holding `proc/` and `sys/` in tests of captured files); default "" (the real ones). */
  root?: string;
  /** `vcgencmd` to ask for the throttling flags; default the one on PATH, if any. */
  vcgencmd?: string | null;
  /** The clock samples are stamped with (epoch ms); default Date.now. */
  now?: () => number;
}

/** Samples kept: an hour at one a second, bounding the memory the ring takes (~1 KB each). */
export const TELEMETRY_KEPT = 3600;
const SAMPLE_EVERY_MS = 1000;

/** The counters a sample is compared against: the previous reading of each source. */
interface Counters {
  at: number;
  cpu: CpuTimes[] | null;
  net: Record<string, NetCounters> | null;
  disk: Record<string, DiskCounters> | null;
  processMicros: number;
}

async function readText(path: string): Promise<string> {
  return await Bun.file(path).text();
}

/** Reads `path`, or answers null and notes why under `missing[field]`. */
async function tryRead(path: string, field: string, missing: Record<string, string>): Promise<string | null> {
  try {
    return await readText(path);
  } catch (error) {
    missing[field] = `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    return null;
  }
}

/** The firmware's `get_throttled` file under `<root>/sys/devices/platform/<x>/<y firmware>/`, where a Pi kernel has one (its parent's name differs between Pi 4 and Pi 5). */
async function findThrottledFile(root: string): Promise<string | null> {
  const platform = join(root, "sys/devices/platform");
  const candidates = [join(platform, "soc/soc:firmware/get_throttled")];
  try {
    for (const bus of await readdir(platform)) {
      for (const child of await readdir(join(platform, bus)).catch(() => [] as string[]))
        if (child.includes("firmware")) candidates.push(join(platform, bus, child, "get_throttled"));
    }
  } catch {
    // No platform folder: not a Pi-like board.
  }
  for (const path of candidates) if (await Bun.file(path).exists()) return path;
  return null;
}

/** The throttling flags from `vcgencmd get_throttled` (a fixed command, never one from the network), else the sysfs file. */
async function readThrottled(vcgencmd: string | null, sysfsFile: string | null, missing: Record<string, string>): Promise<ThrottleFlags | null> {
  if (vcgencmd) {
    const run = Bun.spawn([vcgencmd, "get_throttled"], { stdout: "pipe", stderr: "ignore" });
    const [text, code] = await Promise.all([new Response(run.stdout).text(), run.exited]);
    const flags = code === 0 ? parseThrottled(text) : null;
    if (flags) return flags;
    missing.throttled = `${vcgencmd} get_throttled: exit ${code}, "${text.trim().slice(0, 80)}"`;
    return null;
  }
  if (!sysfsFile) {
    missing.throttled = "no vcgencmd on PATH and no firmware get_throttled file (not a Raspberry Pi)";
    return null;
  }
  const text = await tryRead(sysfsFile, "throttled", missing);
  const flags = text === null ? null : parseThrottled(text);
  if (text !== null && !flags) missing.throttled = `${sysfsFile}: not a hexadecimal value`;
  return flags;
}

function perSecond(delta: number, ms: number): number {
  return ms > 0 ? Math.round((delta * 1000) / ms) : 0;
}

/**
 * Samples the box each second into a ring of the last TELEMETRY_KEPT samples (an unref'd
 * timer: it never keeps the process alive). `sample()` may also be called by hand (tests).
 */
export class TelemetrySampler {
  private readonly root: string;
  private readonly vcgencmd: string | null;
  private readonly now: () => number;
  private throttledFile: Promise<string | null>;
  private previous: Counters | null = null;
  private readonly ring: TelemetrySample[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(options: TelemetryOptions = {}) {
    this.root = options.root ?? "";
    this.vcgencmd = options.vcgencmd === undefined ? Bun.which("vcgencmd") : options.vcgencmd;
    this.now = options.now ?? Date.now;
    this.throttledFile = findThrottledFile(this.root);
  }

  /** Starts sampling each second (once). */
  start(): this {
    if (!this.timer) {
      void this.sample();
      this.timer = setInterval(() => void this.sample().catch(() => {}), SAMPLE_EVERY_MS);
      this.timer.unref();
    }
    return this;
  }

  /** Stops the timer; the samples stay readable. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The byte counters of the latest reading (totals since boot, for Prometheus counters), or null before the first. */
  latestCounters(): { net: Record<string, NetCounters> | null; disk: Record<string, DiskCounters> | null } | null {
    return this.previous ? { net: this.previous.net, disk: this.previous.disk } : null;
  }

  /** The latest sample, or null before the first. */
  latest(): TelemetrySample | null {
    return this.ring.at(-1) ?? null;
  }

  /** Samples taken at or after `since` (epoch ms), oldest first. */
  since(since: number): TelemetrySample[] {
    return this.ring.filter((sample) => sample.t >= since);
  }

  /** Reads every source once, appends the sample to the ring and answers it. */
  async sample(): Promise<TelemetrySample> {
    const missing: Record<string, string> = {};
    const at = this.now();
    const path = (relative: string) => join(this.root || "/", relative);
    const [stat, meminfo, netDev, diskstats, temp, freq] = await Promise.all([
      tryRead(path("proc/stat"), "cpu_pct", missing),
      tryRead(path("proc/meminfo"), "memory", missing),
      tryRead(path("proc/net/dev"), "net", missing),
      tryRead(path("proc/diskstats"), "disk", missing),
      tryRead(path("sys/class/thermal/thermal_zone0/temp"), "temp_c", missing),
      tryRead(path("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq"), "freq_mhz", missing),
    ]);
    const throttled = await readThrottled(this.vcgencmd, await this.throttledFile, missing);
    const usage = process.cpuUsage();
    const counters: Counters = {
      at,
      cpu: stat === null ? null : parseProcStat(stat),
      net: netDev === null ? null : parseNetDev(netDev),
      disk: diskstats === null ? null : parseDiskstats(diskstats),
      processMicros: usage.user + usage.system,
    };
    const sample = this.compare(counters, missing);
    Object.assign(sample, {
      memory: meminfo === null ? null : parseMeminfo(meminfo),
      temp_c: temp === null ? null : parseMilliCelsius(temp),
      freq_mhz: freq === null ? null : parseKiloHertz(freq),
      throttled,
    });
    this.previous = counters;
    this.ring.push(sample);
    if (this.ring.length > TELEMETRY_KEPT) this.ring.shift();
    return sample;
  }

  /** The rates of `now` against the previous reading (none on the first). */
  private compare(now: Counters, missing: Record<string, string>): TelemetrySample {
    const before = this.previous;
    const ms = before ? now.at - before.at : 0;
    const cpu = now.cpu && before?.cpu ? toCoreBusyPct(before.cpu, now.cpu) : null;
    if (now.cpu && !before) missing.cpu_pct = "first sample: rates need two readings";
    const net = now.net && before?.net ? Object.fromEntries(Object.entries(now.net).map(([name, counters]) => {
      const then = before.net![name] ?? counters;
      return [name, { rx_bit_s: perSecond((counters.rx_bytes - then.rx_bytes) * 8, ms), tx_bit_s: perSecond((counters.tx_bytes - then.tx_bytes) * 8, ms) }];
    })) : null;
    const disk = now.disk && before?.disk ? Object.fromEntries(Object.entries(now.disk).map(([name, counters]) => {
      const then = before.disk![name] ?? counters;
      const busy = ms > 0 ? Math.min(100, Math.round((1000 * (counters.busy_ms - then.busy_ms)) / ms) / 10) : 0;
      return [name, { read_bytes_s: perSecond(counters.read_bytes - then.read_bytes, ms), write_bytes_s: perSecond(counters.written_bytes - then.written_bytes, ms), busy_pct: busy }];
    })) : null;
    for (const [field, value, source] of [["net", net, now.net], ["disk", disk, now.disk]] as const) if (value === null && source && !before) missing[field] = "first sample: rates need two readings";
    return {
      t: now.at,
      cpu_pct: cpu,
      cpu_total_pct: cpu && cpu.length > 0 ? Math.round((10 * cpu.reduce((total, pct) => total + pct, 0)) / cpu.length) / 10 : null,
      load1: Math.round(loadavg()[0]! * 100) / 100,
      memory: null,
      net,
      disk,
      temp_c: null,
      freq_mhz: null,
      throttled: null,
      process: { cpu_cores: before && ms > 0 ? Math.round((now.processMicros - before.processMicros) / 10 / ms) / 100 : 0, rss_bytes: process.memoryUsage.rss() },
      missing,
    };
  }
}
