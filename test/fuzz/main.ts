// `npm run fuzz [-- --runs N] [--seed S] [--only NAME]`: every fuzz surface with N cases (default 17,000 each, 102,000 in all), a table of figures, exit 1 on any failure.
import { defineCommand, runMain } from "citty";
import { runSurface, type SurfaceReport } from "./_surface";
import { SURFACES } from "./_surfaces";

function printTable(reports: SurfaceReport[]): void {
  const rows = reports.map((report) => [report.surface, report.cases, report.failures, report.fiveXX, report.closed, report.ok, report.rssGrowthMb, report.seconds]);
  const total = reports.reduce((sum, report) => sum + report.cases, 0);
  const failures = reports.reduce((sum, report) => sum + report.failures, 0);
  const fiveXX = reports.reduce((sum, report) => sum + report.fiveXX, 0);
  const seconds = Math.round(reports.reduce((sum, report) => sum + report.seconds, 0) * 10) / 10;
  rows.push(["total", total, failures, fiveXX, "", "", "", seconds]);
  const head = ["surface", "cases", "failures", "5xx", "closed", "ok", "rss +MB", "seconds"];
  const widths = head.map((name, column) => Math.max(name.length, ...rows.map((row) => String(row[column]).length)));
  const line = (cells: unknown[]) => cells.map((cell, column) => (column === 0 ? String(cell).padEnd(widths[column]!) : String(cell).padStart(widths[column]!))).join("  ");
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

const main = defineCommand({
  meta: { name: "fuzz", description: "property-based fuzzing of every Framefleet input surface (fast-check)" },
  args: {
    runs: { type: "string", default: "17000", description: "cases per surface (default 17,000: 102,000 over the 6 surfaces)" },
    seed: { type: "string", description: "fast-check seed (default: from the clock, printed)" },
    only: { type: "string", description: "comma-separated surface names (substring match)" },
    json: { type: "string", description: "also write the reports as JSON to this file" },
  },
  async run({ args }) {
    const runs = Number(args.runs);
    const seed = args.seed === undefined ? Date.now() % 2 ** 31 : Number(args.seed);
    if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(seed)) throw new Error("--runs and --seed take integers");
    const wanted = args.only?.split(",") ?? [];
    const surfaces = SURFACES.filter((surface) => wanted.length === 0 || wanted.some((name) => surface.name.includes(name)));
    console.log(`fuzz: ${surfaces.length} surfaces x ${runs} cases, seed ${seed}`);
    const reports: SurfaceReport[] = [];
    for (const surface of surfaces) {
      const report = await runSurface(surface, runs, seed);
      reports.push(report);
      console.log(`${report.surface}: ${report.cases} cases, ${report.failures} failures, ${report.fiveXX} 5xx, ${report.seconds} s`);
      if (report.problem) console.log(`  ${report.problem.replaceAll("\n", "\n  ")}`);
    }
    printTable(reports);
    if (args.json) await Bun.write(args.json, `${JSON.stringify({ seed, runs, reports }, null, 2)}\n`);
    const failed = reports.some((report) => report.problem !== undefined || report.fiveXX > 0);
    process.exit(failed ? 1 : 0);
  },
});

await runMain(main);
