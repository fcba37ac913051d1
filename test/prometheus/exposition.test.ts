// promtool check metrics on the /metrics of an agent running every role under load: no lint problem, and every role's families are there.
import { expect, test } from "bun:test";
import { DURATIONS } from "../../agent/control/prometheus";
import { describeWith } from "../_requires";
import { makeTempDir } from "../helpers";
import { startFleet, writeFakeSysfs } from "./_fleet";

/** Runs `promtool check metrics` on `text` (stdin); answers its exit code and everything it printed. */
async function checkWithPromtool(text: string): Promise<{ code: number; output: string }> {
  const child = Bun.spawn(["promtool", "check", "metrics"], { stdin: new TextEncoder().encode(text), stdout: "pipe", stderr: "pipe" });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, output: stdout + stderr };
}

describeWith("promtool")("the exposition of every role", () => {
  test("promtool check metrics prints nothing, and each role's counters, gauges and histograms are there with its labels", async () => {
    using sys = makeTempDir();
    writeFakeSysfs(sys.path);
    await using fleet = await startFleet({ boardRoot: sys.path });
    const text = await fleet.scrape();
    const lint = await checkWithPromtool(text);
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((match) => [match[1]!, match[2]!]));
    const sampleOf = (name: string, labels: string) => text.split("\n").find((line) => line.startsWith(`${name}{`) && line.includes(labels));
    const roleOf = (id: string) => `role="${id.replace(/-\d+$/, "")}",id="${id}"`;
    const { ids } = fleet;
    expect({
      lint,
      counters: [...types].filter(([name, type]) => type === "counter" && !name.endsWith("_total")),
      notCounters: [...types].filter(([name, type]) => type !== "counter" && name.endsWith("_total")),
      histograms: Object.values(DURATIONS).filter(({ name }) => types.get(name) !== "histogram").map(({ name }) => name),
      help: text.split("\n").filter((line) => line.startsWith("# HELP") && line.includes("Framefleet figure")),
      info: [sampleOf("framefleet_agent_info", 'agent="test"') !== undefined, sampleOf("framefleet_role_info", `${roleOf(ids.receiver)},port="`)?.endsWith(" 1")],
      pi: [sampleOf("framefleet_agent_temperature_celsius", 'agent="test"'), sampleOf("framefleet_agent_throttled", 'flag="under_voltage"'), sampleOf("framefleet_agent_throttled", 'flag="frequency_capped"')],
      perRole: {
        receiver: sampleOf("framefleet_receiver_save_latency_seconds_count", roleOf(ids.receiver)) !== undefined,
        sender: sampleOf("framefleet_sender_request_duration_seconds_count", roleOf(ids.sender)) !== undefined,
        manager: sampleOf("framefleet_manager_job_duration_seconds_count", roleOf(ids.manager)) !== undefined,
        grayscale: sampleOf("framefleet_worker_task_duration_seconds_count", roleOf(ids.grayscale)) !== undefined,
        recognition: sampleOf("framefleet_worker_inference_images_total", roleOf(ids.recognition)) !== undefined,
        streamer: sampleOf("framefleet_streamer_frames_delivered_total", roleOf(ids.streamer)) !== undefined,
        viewers: sampleOf("framefleet_viewers_first_frame_seconds_count", roleOf(ids.viewers)) !== undefined,
      },
    }).toEqual({
      lint: { code: 0, output: "" },
      counters: [],
      notCounters: [],
      histograms: [],
      help: [],
      info: [true, true],
      pi: ['framefleet_agent_temperature_celsius{agent="test"} 48.3', 'framefleet_agent_throttled{agent="test",flag="under_voltage"} 1', 'framefleet_agent_throttled{agent="test",flag="frequency_capped"} 0'],
      perRole: { receiver: true, sender: true, manager: true, grayscale: true, recognition: true, streamer: true, viewers: true },
    });
  });
});
