// The state of a controller run as the --ui page shows it: a Progress the run loop drives, and the shapes on the page's wire.
import type { Health, RoleInfo } from "../agent/wire";
import { describeRun, type Progress } from "./progress";
import type { RunResult } from "./results";
import type { Scenario } from "./scenarios";
import type { SweepPoint } from "./sweep";

/** Where the run is: the scenario, point and repeat under way, runs done of the total. */
export interface UiProgress {
  scenario?: string;
  description?: string;
  point?: string;
  /** The repeat under way (1-based) of `repeats`. */
  repeat?: number;
  repeats?: number;
  /** When the run under way started (ms since epoch) and how long it lasts (warm-up + duration, ms). */
  run_started_at?: number;
  run_ms?: number;
  done: number;
  total: number;
  failed: number;
  finished: boolean;
}

/** A finished run: its figures without the per-role details. */
export type UiRun = Omit<RunResult, "senders" | "receivers" | "series"> & { scenario: string; point: string };

/** A role as the page lists it: its info, its figures without the per-second `series` (summed into `UiState.live`). */
export type UiRole = Omit<RoleInfo, "stats"> & { stats: Record<string, unknown> };

/** One agent as the controller sees it: its health and roles (as asked: `RoleInfo`; as the page gets them: `UiRole`), or why it could not be asked. */
export interface UiAgent<Role = UiRole> {
  name: string;
  url: string;
  health?: Health;
  roles: Role[];
  error?: string;
}

/** `GET /api/state` of the --ui page. */
export interface UiState {
  started_at: string;
  /** The controller's clock (ms since epoch) when it answered. */
  now: number;
  progress: UiProgress;
  runs: UiRun[];
  /** One line per failed run. */
  failures: string[];
  agents: UiAgent[];
  /** The running receivers summed: images/s over their last 5 s, and their per-second [second, images, bytes]. */
  live: { images_per_s: number; series: [number, number, number][] };
}

/** Runs kept for the page: the latest, enough for any table a person reads. */
const MAX_RUNS = 200;

/** Progress of the whole run for the page; `step` keeps each run's figures, `finish` marks the end. */
export class RunUiState implements Progress {
  private current?: Scenario;
  private doneInScenario = 0;
  private runStartedAt = 0;
  private finished = false;
  private readonly runs: UiRun[] = [];
  private readonly failures: string[] = [];
  private done = 0;
  readonly startedAt = new Date().toISOString();

  constructor(private readonly total: number) {}

  begin(scenario: Scenario): void {
    this.current = scenario;
    this.doneInScenario = 0;
    this.runStartedAt = Date.now();
  }

  step(scenario: Scenario, point: SweepPoint, run: RunResult): void {
    this.done += 1;
    this.doneInScenario += 1;
    this.runStartedAt = Date.now();
    const { senders: _senders, receivers: _receivers, series: _series, ...figures } = run;
    this.runs.push({ scenario: scenario.name, point: point.label, ...figures });
    if (this.runs.length > MAX_RUNS) this.runs.shift();
    if (run.status === "failed") this.failures.push(describeRun(scenario, point, run));
  }

  end(): void {
    this.current = undefined;
  }

  /** Marks the whole run as over. */
  finish(): void {
    this.finished = true;
    this.current = undefined;
  }

  /** Where the run is; the run under way follows run.ts's order (points in turn, each repeated). */
  toProgress(): UiProgress {
    const base = { done: this.done, total: this.total, failed: this.failures.length, finished: this.finished };
    const scenario = this.current;
    if (!scenario || this.doneInScenario >= scenario.points.length * scenario.repeat) return base;
    const point = scenario.points[Math.floor(this.doneInScenario / scenario.repeat)]!;
    return {
      ...base,
      scenario: scenario.name,
      ...(scenario.description ? { description: scenario.description } : {}),
      point: point.label,
      repeat: (this.doneInScenario % scenario.repeat) + 1,
      repeats: scenario.repeat,
      run_started_at: this.runStartedAt,
      run_ms: scenario.warmupMs + scenario.durationMs,
    };
  }

  /** The runs finished so far and the failure lines. */
  toResults(): Pick<UiState, "runs" | "failures"> {
    return { runs: [...this.runs], failures: [...this.failures] };
  }
}
