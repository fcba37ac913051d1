// Parsing of the human units on flags and in scenarios: durations and sizes.
import ms from "ms";
import bytes from "bytes";
import { FleetError } from "./errors";

/**
 * Parses a duration such as `500ms`, `30s`, `2m` (the `ms` package's grammar) into
 * milliseconds. A bare number is milliseconds.
 * @throws FleetError BAD_DURATION naming `where` (a flag or a field) and the value.
 */
export function parseDuration(value: string | number, where: string): number {
  const parsed = typeof value === "number" ? value : /^\d+(\.\d+)?$/.test(value) ? Number(value) : ms(value as ms.StringValue);
  if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed < 0)
    throw new FleetError("BAD_DURATION", `${where}: "${value}" is not a duration (use 500ms, 30s, 2m)`, 422);
  return parsed;
}

/**
 * Parses a size such as `64KB`, `8MB` (the `bytes` package's grammar, 1 KB = 1024 bytes)
 * into bytes. A bare number is bytes.
 * @throws FleetError BAD_SIZE naming `where` and the value.
 */
export function parseSize(value: string | number, where: string): number {
  const parsed = typeof value === "number" ? value : bytes.parse(value);
  if (typeof parsed !== "number" || !Number.isFinite(parsed) || parsed < 0)
    throw new FleetError("BAD_SIZE", `${where}: "${value}" is not a size (use 64KB, 8MB)`, 422);
  return Math.floor(parsed);
}
