// Parsers of the kernel's and the Pi firmware's text: /proc/stat, /proc/meminfo, /proc/net/dev, /proc/diskstats, thermal, cpufreq, get_throttled. Pure, no I/O.

/** Jiffies of one CPU line of /proc/stat: all of them, and those spent idle (idle + iowait). */
export interface CpuTimes {
  total: number;
  idle: number;
}

/**
 * The `cpuN` lines of /proc/stat (proc(5): user nice system idle iowait irq softirq steal
 * ...; guest time is already inside user), per core in core order. The aggregate `cpu` line
 * is left out.
 */
export function parseProcStat(text: string): CpuTimes[] {
  const cores: CpuTimes[] = [];
  for (const line of text.split("\n")) {
    const match = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!match) continue;
    const fields = match[2]!.trim().split(/\s+/).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
    cores[Number(match[1])] = { total: user + nice + system + idle + iowait + irq + softirq + steal, idle: idle + iowait };
  }
  return cores.filter(Boolean);
}

/** Busy share of each core between two /proc/stat readings, in percent (0-100, 1 decimal); 0 for a core with no elapsed jiffies. */
export function toCoreBusyPct(before: CpuTimes[], after: CpuTimes[]): number[] {
  return after.map((now, index) => {
    const then = before[index] ?? { total: 0, idle: 0 };
    const total = now.total - then.total;
    return total > 0 ? Math.round((1000 * (total - (now.idle - then.idle))) / total) / 10 : 0;
  });
}

/** Memory from /proc/meminfo, in bytes: the total and what is available to new work (`MemAvailable`, proc(5)). */
export function parseMeminfo(text: string): { total_bytes: number; available_bytes: number } | null {
  const read = (key: string) => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
    return match ? Number(match[1]) * 1024 : undefined;
  };
  const total = read("MemTotal");
  const available = read("MemAvailable");
  return total === undefined || available === undefined ? null : { total_bytes: total, available_bytes: available };
}

/** Byte counters of one network interface from /proc/net/dev. */
export interface NetCounters {
  rx_bytes: number;
  tx_bytes: number;
}

/** Interfaces of /proc/net/dev and their received and sent byte counters (the first and ninth fields after the name). */
export function parseNetDev(text: string): Record<string, NetCounters> {
  const interfaces: Record<string, NetCounters> = {};
  for (const line of text.split("\n")) {
    const match = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!match) continue;
    const fields = match[2]!.trim().split(/\s+/).map(Number);
    if (fields.length < 9) continue;
    interfaces[match[1]!] = { rx_bytes: fields[0]!, tx_bytes: fields[8]! };
  }
  return interfaces;
}

/** Counters of one block device from /proc/diskstats. */
export interface DiskCounters {
  read_bytes: number;
  written_bytes: number;
  /** Time the device had I/O in flight (ms): field 13, io_ticks. */
  busy_ms: number;
}

/**
 * Whole disks of /proc/diskstats (the kernel's Documentation/admin-guide/iostats.rst:
 * sectors read is field 6, written field 10, time doing I/O field 13; a sector is 512
 * bytes whatever the device's own). Partitions (`mmcblk0p1`, `sda1`, `nvme0n1p2`), loop,
 * ram and zram devices are left out: their I/O is counted on their disk, or is not a disk's.
 */
export function parseDiskstats(text: string): Record<string, DiskCounters> {
  const disks: Record<string, DiskCounters> = {};
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 14) continue;
    const name = fields[2]!;
    if (/^(loop|ram|zram|dm-)/.test(name) || /^(mmcblk\d+p\d+|nvme\d+n\d+p\d+|[shv]d[a-z]+\d+)$/.test(name)) continue;
    disks[name] = { read_bytes: Number(fields[5]) * 512, written_bytes: Number(fields[9]) * 512, busy_ms: Number(fields[12]) };
  }
  return disks;
}

/** A thermal zone's `temp` file (millidegrees Celsius) in °C, 1 decimal; null when it is not a number. */
export function parseMilliCelsius(text: string): number | null {
  const value = Number(text.trim());
  return text.trim() !== "" && Number.isFinite(value) ? Math.round(value / 100) / 10 : null;
}

/** A cpufreq `scaling_cur_freq` file (kHz) in MHz; null when it is not a number. */
export function parseKiloHertz(text: string): number | null {
  const value = Number(text.trim());
  return text.trim() !== "" && Number.isFinite(value) ? Math.round(value / 1000) : null;
}

/**
 * The Pi firmware's throttling flags (Raspberry Pi documentation, "vcgencmd get_throttled"):
 * bits 0-3 hold now, bits 16-19 have held since boot.
 */
export interface ThrottleFlags {
  /** The raw value, e.g. `0x50005`. */
  raw: string;
  under_voltage: boolean;
  frequency_capped: boolean;
  throttled: boolean;
  soft_temperature_limit: boolean;
  under_voltage_occurred: boolean;
  frequency_capped_occurred: boolean;
  throttled_occurred: boolean;
  soft_temperature_limit_occurred: boolean;
}

/**
 * Decodes `throttled=0x50005` (vcgencmd's answer) or the firmware's sysfs `get_throttled`
 * file (hex digits without a prefix, e.g. `50005`).
 * @returns null when the text holds no hexadecimal value.
 */
export function parseThrottled(text: string): ThrottleFlags | null {
  const match = /^(?:throttled=)?(?:0x)?([0-9a-f]+)\s*$/i.exec(text.trim());
  if (!match) return null;
  const bits = Number.parseInt(match[1]!, 16);
  const bit = (index: number) => (bits & (1 << index)) !== 0;
  return {
    raw: `0x${bits.toString(16)}`,
    under_voltage: bit(0),
    frequency_capped: bit(1),
    throttled: bit(2),
    soft_temperature_limit: bit(3),
    under_voltage_occurred: bit(16),
    frequency_capped_occurred: bit(17),
    throttled_occurred: bit(18),
    soft_temperature_limit_occurred: bit(19),
  };
}
