// Telemetry: the parsers and the sampler on captured-format files of a Pi 4 and a Pi 5, and /v1/telemetry of a real agent on this machine.
import { describe, expect, test } from "bun:test";
import { chmodSync, cpSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { TelemetrySampler, type TelemetrySample } from "../../agent/telemetry";
import { parseThrottled } from "../../agent/telemetry/parse";
import { FIXTURES, makeTempDir, spawnAgent, waitUntil } from "../helpers";

const PI = join(FIXTURES, "telemetry");

/** Two samples of `board`'s readings `a` then `b`, one second apart on a fake clock. */
async function sampleBoard(board: string, vcgencmd: string | null = null): Promise<[TelemetrySample, TelemetrySample]> {
  using root = makeTempDir();
  let clock = 1_000_000;
  const sampler = new TelemetrySampler({ root: root.path, vcgencmd, now: () => clock });
  cpSync(join(PI, board, "a"), root.path, { recursive: true });
  const first = await sampler.sample();
  cpSync(join(PI, board, "b"), root.path, { recursive: true });
  clock += 1000;
  return [first, await sampler.sample()];
}

describe("telemetry", () => {
  test("Pi 4 (sysfs get_throttled, SD card, Wi-Fi): per-core CPU, link and disk rates, temperature, frequency, flags; the first sample's rates are null with a reason", async () => {
    const [first, second] = await sampleBoard("pi4");
    expect({ cpu: first.cpu_pct, net: first.net, reason: first.missing.cpu_pct }).toEqual({ cpu: null, net: null, reason: "first sample: rates need two readings" });
    expect({
      cpu: second.cpu_pct,
      total: second.cpu_total_pct,
      eth0: second.net!.eth0,
      disks: second.disk,
      memory: second.memory,
      temp: second.temp_c,
      freq: [first.freq_mhz, second.freq_mhz],
    }).toEqual({
      cpu: [80, 40, 10, 100],
      total: 57.5,
      eth0: { rx_bit_s: 1_000_000, tx_bit_s: 95_000_000 },
      disks: { mmcblk0: { read_bytes_s: 0, write_bytes_s: 10_485_760, busy_pct: 45 } },
      memory: { total_bytes: 3885540 * 1024, available_bytes: 3012345 * 1024 },
      temp: 52.1,
      freq: [1500, 1000],
    });
    expect(second.throttled).toMatchObject({ raw: "0x50005", under_voltage: true, throttled: true, frequency_capped: false, under_voltage_occurred: true, throttled_occurred: true, soft_temperature_limit_occurred: false });
    expect(second.missing).toEqual({});
  });

  test("Pi 5 (vcgencmd, NVMe): the flags come from vcgencmd get_throttled", async () => {
    using bin = makeTempDir();
    const vcgencmd = join(bin.path, "vcgencmd");
    await Bun.write(vcgencmd, `#!/bin/sh\n[ "$1" = get_throttled ] && cat '${join(PI, "pi5", "vcgencmd-get_throttled.txt")}'\n`);
    chmodSync(vcgencmd, 0o755);
    const [, second] = await sampleBoard("pi5", vcgencmd);
    expect({ cpu: second.cpu_pct, eth0: second.net!.eth0, disks: second.disk, temp: second.temp_c, freq: second.freq_mhz }).toEqual({
      cpu: [100, 100, 50, 0],
      eth0: { rx_bit_s: 900_000_000, tx_bit_s: 10_000_000 },
      disks: { nvme0n1: { read_bytes_s: 104_857_600, write_bytes_s: 0, busy_pct: 99 } },
      temp: 61.5,
      freq: 2400,
    });
    expect(second.throttled).toMatchObject({ raw: "0x80008", soft_temperature_limit: true, soft_temperature_limit_occurred: true, throttled: false, under_voltage: false });
  });

  test("missing sources are null with the reason; a value that is not hexadecimal is no flags", async () => {
    using empty = makeTempDir();
    const sample = await new TelemetrySampler({ root: empty.path, vcgencmd: null }).sample();
    expect([sample.cpu_pct, sample.memory, sample.temp_c, sample.throttled]).toEqual([null, null, null, null]);
    expect(Object.keys(sample.missing).sort()).toEqual(["cpu_pct", "disk", "freq_mhz", "memory", "net", "temp_c", "throttled"]);
    expect(sample.missing.temp_c).toContain("thermal_zone0/temp: ENOENT");
    expect(sample.missing.throttled).toBe("no vcgencmd on PATH and no firmware get_throttled file (not a Raspberry Pi)");
    expect([parseThrottled("throttled=0x0")?.throttled, parseThrottled("bogus")]).toEqual([false, null]);
  });

  test("a real agent: /v1/telemetry needs the token and gives a sample a second with every core; /v1/health carries the latest", async () => {
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "token"), "telemetry-secret\n");
    await using agent = spawnAgent(["--host", "127.0.0.1", "--control-port", "0", "--token-file", join(dir.path, "token")]);
    const base = `http://127.0.0.1:${(await agent.waitFor("control_listening")).port}`;
    expect((await fetch(`${base}/v1/telemetry`)).status).toBe(401);
    const read = async () => ((await (await fetch(`${base}/v1/telemetry?since=0`, { headers: { authorization: "Bearer telemetry-secret" } })).json()) as { samples: TelemetrySample[] }).samples;
    const samples = await waitUntil("two samples", read, (seen) => seen.length >= 2);
    const last = samples.at(-1)!;
    expect(last.cpu_pct!.length).toBe(cpus().length);
    expect(last.net!.lo).toBeDefined();
    expect(last.process.rss_bytes).toBeGreaterThan(0);
    // This VM may or may not have a thermal zone: a temperature, or null with the reason, never a made-up zero.
    expect(last.temp_c === null ? typeof last.missing.temp_c : typeof last.temp_c).toBe(last.temp_c === null ? "string" : "number");
    const health = (await (await fetch(`${base}/v1/health`)).json()) as { telemetry: TelemetrySample };
    expect(health.telemetry.t).toBeGreaterThanOrEqual(samples[0]!.t);
    const bad = await fetch(`${base}/v1/telemetry?since=yesterday`, { headers: { authorization: "Bearer telemetry-secret" } });
    expect(bad.status).toBe(422);
  });
});
