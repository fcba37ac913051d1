// Turns the bench figures into comparison rows and prints them as plain-text tables.
import type { DiskResult } from "./disk";
import { TASKS, type FunctionResults } from "./functions";
import type { LoadRun } from "./ingest";

/** One side of a comparison: the median of the rounds, with their lowest and highest when there are several. */
export interface Figure {
  what: string;
  value: number;
  unit: string;
  min?: number;
  max?: number;
}

/** One comparison: ours against the baseline measured in the same run, with the ratio ours/baseline. */
export interface Row {
  id: string;
  subject: string;
  ours: Figure;
  baseline?: Figure;
  ratio?: number;
  target?: string;
}

/** Everything the load and function subjects measured, as main gathers it (load figures per round). */
export interface Figures {
  sink: LoadRun[];
  binary: LoadRun[];
  json: LoadRun[];
  disk: DiskResult;
  functions: FunctionResults;
}

/** The median: the middle value, or the mean of the two middle ones for an even count. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** A load figure over the rounds: median, lowest, highest. */
function fromRounds(what: string, runs: LoadRun[], key: keyof LoadRun, unit: string): Figure & { rounds: number[] } {
  const rounds = runs.map((run) => run[key] as number);
  return { what, value: median(rounds), unit, min: Math.min(...rounds), max: Math.max(...rounds), rounds };
}

/** Compares ours with the baseline (figures may carry `rounds`); with rounds on both sides, the ratio is the median of the ratios of rounds taken side by side. */
export function compare(id: string, subject: string, ours: Figure & { rounds?: number[] }, baseline?: Figure & { rounds?: number[] }, target?: string): Row {
  const paired = ours.rounds && baseline?.rounds ? ours.rounds.map((value, index) => value / baseline.rounds![index]!) : undefined;
  const raw = paired ? median(paired) : baseline && baseline.value > 0 ? ours.value / baseline.value : undefined;
  const strip = (figure?: Figure & { rounds?: number[] }): Figure | undefined => figure && { what: figure.what, value: figure.value, unit: figure.unit, min: figure.min, max: figure.max };
  return { id, subject, ours: strip(ours)!, baseline: strip(baseline), ratio: raw === undefined ? undefined : Math.round(raw * 1000) / 1000, target };
}

/** The comparison rows, in the order of the acceptance items. */
export function toRows({ sink, binary, json, disk, functions }: Figures): Row[] {
  const f = functions.figures;
  const ops = (name: string): Figure => ({ what: name, value: f[name]!.ops_per_s, unit: "ops/s" });
  const mbs = (name: string): Figure => ({ what: name, value: f[name]!.mb_per_s!, unit: "MB/s" });
  const bare = fromRounds("bare Bun.serve", sink, "images_per_s", "img/s");
  return [
    compare("1", "accepted images/s, tmpfs, binary, 8 conn", fromRounds("receiver", binary, "images_per_s", "img/s"), bare, ">= 0.6"),
    compare("1b", "saved images/s incl. drain, tmpfs", fromRounds("receiver", binary, "saved_per_s", "img/s"), bare),
    compare("2", "MB/s on disk incl. drain + sync", { what: "receiver", value: disk.saved_mb_per_s, unit: "MB/s" },
      { what: "1 GiB sequential write+fsync", value: disk.sequential.mb_per_s, unit: "MB/s" }, ">= 0.8"),
    compare("3a", "images/s into tmpfs", fromRounds("binary", binary, "images_per_s", "img/s"), fromRounds("JSON base64", json, "images_per_s", "img/s")),
    compare("3b", "request-body Mbit/s on the wire", fromRounds("binary", binary, "wire_mbit_per_s", "Mbit/s"), fromRounds("JSON base64", json, "wire_mbit_per_s", "Mbit/s")),
    compare("3c", "JPEG Mbit/s delivered", fromRounds("binary", binary, "image_mbit_per_s", "Mbit/s"), fromRounds("JSON base64", json, "image_mbit_per_s", "Mbit/s")),
    compare("4a", "sender top rate against bare Bun.serve", fromRounds("sender", sink, "images_per_s", "img/s")),
    compare("4b", "sender top rate against bare Bun.serve", fromRounds("sender", sink, "wire_mbit_per_s", "Mbit/s")),
    compare("4c", "sender CPU at top rate (startup incl.)", fromRounds("sender", sink, "sender_cpu_pct", "% core")),
    compare("5a", "JPEG check, 480p photo", ops(TASKS.header), ops(TASKS.metadata)),
    compare("5b", "JPEG check, 480p photo", ops(TASKS.header), ops(TASKS.decode)),
    compare("5c", "MJPEG split, 20 MB in 64 KB chunks", mbs(TASKS.splitter), mbs(TASKS.naive)),
  ];
}

function formatNumber(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString("en-US") : String(Math.round(value * 100) / 100);
}

function formatFigure(figure?: Figure): string {
  if (!figure) return "";
  const range = figure.min === undefined || figure.max === undefined ? "" : ` [${formatNumber(figure.min)}-${formatNumber(figure.max)}]`;
  return `${figure.what}: ${formatNumber(figure.value)}${range} ${figure.unit}`;
}

/** Lays out `cells` as a table with padded columns and a rule under the header. */
export function formatTable(header: string[], cells: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((row) => row[column]!.length)));
  const line = (row: string[]): string => row.map((cell, column) => cell.padEnd(widths[column]!)).join(" | ").trimEnd();
  return [line(header), widths.map((width) => "-".repeat(width)).join("-|-"), ...cells.map(line)].join("\n");
}

/** The comparison table. */
export function formatRows(rows: Row[]): string {
  return formatTable(
    ["#", "subject", "ours", "baseline", "ratio", "target"],
    rows.map((row) => [row.id, row.subject, formatFigure(row.ours), formatFigure(row.baseline), row.ratio === undefined ? "" : `${row.ratio}x`, row.target ?? ""]),
  );
}

/** The raw figures of each load run (name -> run), where rows 1-4 come from. */
export function formatRuns(runs: [string, LoadRun][]): string {
  const show = (value: number | undefined): string => (value === undefined ? "" : formatNumber(value));
  return formatTable(
    ["run", "img/s", "wire Mbit/s", "ok", "failed", "503 retries", "sender CPU %", "server CPU %", "saved", "drain ms", "sync ms", "window s"],
    runs.map(([name, run]) => [name, show(run.images_per_s), show(run.wire_mbit_per_s), String(run.ok), String(run.failed), String(run.retries),
      show(run.sender_cpu_pct), show(run.server_cpu_pct), show(run.saved), show(run.drain_ms), show(run.sync_ms), show(run.window_s)]),
  );
}
