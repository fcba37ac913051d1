// The agent's board telemetry read from a sysfs folder: a Pi's files, none, and malformed ones.
import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readTelemetry } from "../../agent/control/prometheus";
import { makeTempDir } from "../helpers";
import { writeFakeSysfs } from "./_fleet";

test("temperature and throttling word from a Pi's sysfs; left out where the files are missing, empty or malformed", () => {
  using pi = makeTempDir();
  writeFakeSysfs(pi.path);
  using bare = makeTempDir();
  using broken = makeTempDir();
  mkdirSync(join(broken.path, "class/thermal/thermal_zone0"), { recursive: true });
  writeFileSync(join(broken.path, "class/thermal/thermal_zone0/temp"), "\n");
  mkdirSync(join(broken.path, "devices/platform/soc/soc:firmware"), { recursive: true });
  writeFileSync(join(broken.path, "devices/platform/soc/soc:firmware/get_throttled"), "throttled=0x0\n");
  const board = (root: string) => {
    const { temperatureCelsius, throttled, cpuSeconds, residentBytes } = readTelemetry(root);
    return { temperatureCelsius, throttled, process: cpuSeconds > 0 && residentBytes > 0 };
  };
  expect([board(pi.path), board(bare.path), board(broken.path)]).toEqual([
    { temperatureCelsius: 48.312, throttled: 0x50005, process: true },
    { temperatureCelsius: undefined, throttled: undefined, process: true },
    { temperatureCelsius: undefined, throttled: undefined, process: true },
  ]);
});
