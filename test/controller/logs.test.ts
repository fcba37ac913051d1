// `controller logs`: an agent's recent log lines over the control API (token, checked query), e.g. why a role failed to start.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { LOG_LINE_MAX, LogRing } from "../../agent/logs";
import { REPO, makeTempDir, runController, spawnAgent, waitUntil } from "../helpers";

const TOKEN = "logs-test-token";

/** `controller logs ... --follow` as a process: its stdout lines so far; killed on dispose. */
function spawnFollow(args: string[], cwd: string) {
  const child = Bun.spawn([process.execPath, join(REPO, "controller", "main.ts"), ...args], { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, AGENT_TOKEN: TOKEN } });
  let text = "";
  void (async () => {
    for await (const chunk of child.stdout) text += new TextDecoder().decode(chunk);
  })();
  return {
    waitForLines: (count: number) => waitUntil(`${count} followed lines`, () => text.split("\n").filter(Boolean), (lines) => lines.length >= count),
    async [Symbol.asyncDispose]() {
      child.kill("SIGINT");
      await child.exited;
    },
  };
}

describe("agent log ring", () => {
  test("keeps the last lines, numbered, cut to LOG_LINE_MAX; reads after a number and at most N", () => {
    const ring = new LogRing();
    for (let i = 1; i <= 1005; i++) ring.push(i === 1005 ? "x".repeat(LOG_LINE_MAX + 10) : `line ${i}`);
    const { lines, next } = ring.read(0, 1000);
    expect({ first: lines[0], count: lines.length, next, lastLength: lines.at(-1)!.text.length, after: ring.read(1002, 2).lines.map((line) => line.seq) }).toEqual({
      first: { seq: 6, text: "line 6" },
      count: 1000,
      next: 1005,
      lastLength: LOG_LINE_MAX,
      after: [1004, 1005],
    });
  });
});

describe("controller logs", () => {
  test("shows the last lines of a role that failed to start; the call needs the token and a valid query", async () => {
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "token"), TOKEN);
    await using agent = spawnAgent(["--control-port", "0", "--host", "127.0.0.1", "--name", "pi1", "--token-file", join(dir.path, "token")], undefined, dir.path);
    const url = `http://127.0.0.1:${(await agent.waitFor("control_listening")).port}`;
    using taken = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("busy") });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const start = await fetch(`${url}/v1/roles`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ role: "receiver", options: { port: taken.port, out: "out" } }) });
    expect(start.ok).toBe(false);
    const [anonymous, badQuery, tooMany] = await Promise.all([fetch(`${url}/v1/logs`), fetch(`${url}/v1/logs?lines=abc`, { headers: auth }), fetch(`${url}/v1/logs?lines=5000`, { headers: auth })]);
    expect([anonymous.status, badQuery.status, tooMany.status]).toEqual([401, 422, 422]);

    await Bun.write(join(dir.path, "scenarios.toml"), `[agents]\npi1 = "${url}"\n[[scenario]]\nname = "x"\n  [[scenario.roles]]\n  role = "receiver"\n  agents = ["pi1"]\n`);
    const shown = await runController(["logs", "pi1", "--lines", "1"], dir.path, { AGENT_TOKEN: TOKEN });
    if (shown.code !== 0) throw new Error(shown.stderr);
    const lines = shown.stdout.trim().split("\n").map((line) => JSON.parse(line));
    const failed = lines.find((line) => line.event === "role_start_failed");
    expect({ code: shown.code, count: lines.length, failed: { role: failed?.role, error: failed?.error } }).toEqual({
      code: 0,
      count: 1,
      failed: { role: "receiver", error: expect.stringContaining(String(taken.port)) },
    });

    // --follow prints the lines that come after: a second failed start shows up without a new command.
    await using follow = spawnFollow(["logs", "pi1", "--lines", "1", "--follow"], dir.path);
    await follow.waitForLines(1);
    await fetch(`${url}/v1/roles`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ role: "receiver", options: { port: taken.port, out: "again" } }) });
    const followed = (await follow.waitForLines(2)).map((line) => JSON.parse(line).event);
    expect(followed).toEqual(["role_start_failed", "role_start_failed"]);

    const unknown = await runController(["logs", "nobody"], dir.path, { AGENT_TOKEN: TOKEN });
    const badLines = await runController(["logs", "pi1", "--lines", "0"], dir.path, { AGENT_TOKEN: TOKEN });
    expect([unknown.code, unknown.stderr.trim(), badLines.code, badLines.stderr.trim()]).toEqual([
      2,
      'controller: UNKNOWN_AGENT: no agent "nobody" under [agents] of scenarios.toml (have pi1)',
      2,
      'controller: BAD_FLAG: --lines "0" must be a whole number 1-1000',
    ]);
  });
});
