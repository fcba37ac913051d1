// The agent's own telemetry for /metrics: process CPU and memory, and on a Raspberry Pi its temperature and throttling flags (from sysfs).
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** Bits of the Pi firmware's get_throttled word that describe now (bits 16-19 say "since boot"). */
export const THROTTLE_FLAGS = { under_voltage: 0, frequency_capped: 1, throttled: 2, soft_temp_limit: 3 } as const;

/** What the agent reads of itself at one scrape. */
export interface Telemetry {
  /** CPU time of the process, user + system (seconds). */
  cpuSeconds: number;
  /** Resident memory of the process (bytes). */
  residentBytes: number;
  /** SoC temperature (degrees Celsius), where the board has a thermal zone. */
  temperatureCelsius?: number;
  /** The firmware's throttling word, where the board has one (a Raspberry Pi). */
  throttled?: number;
}

/** The trimmed text of `path`, or undefined when it cannot be read (not this kind of board) or is empty. */
function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the process figures and, under `sysRoot` (normally `/sys`), thermal zone 0 (millidegrees)
 * and the Pi firmware's `get_throttled` (hex). Unreadable or malformed files are left out.
 */
export function readTelemetry(sysRoot: string): Telemetry {
  const cpu = process.cpuUsage();
  const milli = Number(readText(join(sysRoot, "class/thermal/thermal_zone0/temp")) ?? Number.NaN);
  const hex = readText(join(sysRoot, "devices/platform/soc/soc:firmware/get_throttled")) ?? "";
  const word = /^(0x)?[0-9a-f]+$/i.test(hex) ? Number.parseInt(hex, 16) : Number.NaN;
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: process.memoryUsage.rss(),
    ...(Number.isFinite(milli) ? { temperatureCelsius: milli / 1000 } : {}),
    ...(Number.isFinite(word) ? { throttled: word } : {}),
  };
}
