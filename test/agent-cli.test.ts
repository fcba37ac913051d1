// The agent as a process: clear one-line errors for bad flags, and a receiver that loses nothing on SIGTERM or a crash.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO, makeTempDir, readPhotos, spawnAgent, startRole, waitUntil } from "./helpers";

const chelsea = readPhotos().get("chelsea.jpg")!;

async function runAgent(args: string[]) {
  const child = Bun.spawn([process.execPath, join(REPO, "agent", "main.ts"), ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [code, stdout, stderr] = await Promise.all([child.exited, new Response(child.stdout).text(), new Response(child.stderr).text()]);
  return { code, stdout, stderr };
}

async function postImage(port: number): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: chelsea, headers: { "content-type": "image/jpeg" } });
  return ((await response.json()) as { id: number }).id;
}

describe("agent CLI", () => {
  test("bad flags: one clear line naming the flag, non-zero exit, no stack trace", async () => {
    const cases = [
      [["--role", "sender", "--target", "http://127.0.0.1:1/upload", "--multiply", "many", "--no-control"], "--multiply"],
      [["--role", "sender", "--no-control"], "--target"],
      [["--role", "receiver", "--bogus", "1", "--no-control"], "--bogus"],
      [["--role", "teapot", "--no-control"], "teapot"],
      [["--control-port", "abc"], "--control-port"],
      [["--role", "sender", "--target", "http://127.0.0.1:1/upload", "--duration", "soon", "--no-control"], "--duration"],
      [["--token-file", "/nonexistent/token"], "--token-file"],
    ] as const;
    for (const [args, named] of cases) {
      const { code, stderr } = await runAgent([...args]);
      const lines = stderr.trim().split("\n");
      expect({ args, code, lines: lines.length, named: lines[0]!.includes(named), stack: /\n\s+at /.test(stderr) }).toEqual({
        args,
        code: 2,
        lines: 1,
        named: true,
        stack: false,
      });
    }
  });

  test("protected mode: a non-loopback bind without a token is refused in one line; loopback, a token or --insecure-no-auth start", async () => {
    const refused = await Promise.all([["--host", "0.0.0.0", "--control-port", "0"], ["--no-control", "--host", "0.0.0.0", "--role", "manager", "--port", "0", "--worker-port", "0"]].map((args) => runAgent(args)));
    for (const { code, stderr } of refused) {
      const lines = stderr.trim().split("\n");
      expect({ code, lines: lines.length, names: ["--token-file", "AGENT_TOKEN", "--insecure-no-auth"].every((name) => lines[0]!.includes(name)) }).toEqual({ code: 2, lines: 1, names: true });
    }
    const health = async (agent: ReturnType<typeof spawnAgent>) => {
      const port = Number((await agent.waitFor("control_listening")).port);
      return ((await (await fetch(`http://127.0.0.1:${port}/v1/health`)).json()) as { auth: string }).auth;
    };
    await using loopback = spawnAgent(["--host", "127.0.0.1", "--control-port", "0"]);
    await using insecure = spawnAgent(["--host", "0.0.0.0", "--control-port", "0", "--insecure-no-auth"]);
    using dir = makeTempDir();
    await Bun.write(join(dir.path, "token"), "cli-token\n");
    await using withToken = spawnAgent(["--host", "0.0.0.0", "--control-port", "0", "--token-file", join(dir.path, "token")]);
    // A receiver alone is a data plane, open by design: it starts on any address without a token.
    await using receiver = spawnAgent(["--no-control", "--host", "0.0.0.0", "--role", "receiver", "--port", "0", "--out", join(dir.path, "out")]);
    await receiver.waitFor("receiver_listening");
    expect(await Promise.all([health(loopback), health(insecure), health(withToken)])).toEqual(["loopback", "insecure", "token"]);
    expect(insecure.stderr()).toContain('"event":"insecure_no_auth"');
  });

  test("--version prints the package version", async () => {
    const { code, stdout } = await runAgent(["--version"]);
    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: (await Bun.file(join(REPO, "package.json")).json()).version });
  });

  test("SIGTERM under load: the receiver drains, every 202 is a file, and a restart never overwrites", async () => {
    using dir = makeTempDir();
    const port = await (async () => {
      const probe = Bun.serve({ port: 0, fetch: () => new Response() });
      const free = probe.port;
      probe.stop(true);
      return free;
    })();
    const args = ["--role", "receiver", "--port", String(port), "--out", dir.path, "--no-control", "--writers", "1"];
    const receiver = spawnAgent(args);
    await receiver.waitFor("receiver_listening");
    await using sender = await startRole("sender", { target: [`http://127.0.0.1:${port}/upload`], source: "files:test/fixtures", multiply: 5, concurrency: 16, duration: "0" });
    await waitUntil("200 frames acknowledged", () => sender.stats(), (stats) => (stats.ok as number) >= 200);
    receiver.process.kill("SIGTERM");
    const code = await receiver.process.exited;
    await sender.stop();
    const final = JSON.parse((await new Response(receiver.process.stdout).text()).trim().split("\n").at(-1)!);
    const files = () => readdirSync(join(dir.path, "topic-0")).filter((name) => name.endsWith(".jpg"));
    const acknowledged = sender.stats().ok as number;
    expect({ code, saved: final.saved, files: files().length, failed: final.failed }).toEqual({ code: 0, saved: acknowledged, files: acknowledged, failed: 0 });

    await using again = spawnAgent(args);
    await again.waitFor("receiver_listening");
    const before = new Set(files());
    const id = await (async () => {
      const response = await fetch(`http://127.0.0.1:${port}/upload`, { method: "POST", body: chelsea, headers: { "content-type": "image/jpeg", "x-topic": "topic-0" } });
      return ((await response.json()) as { id: number }).id;
    })();
    again.process.kill("SIGTERM");
    await again.process.exited;
    expect({ id: id >= acknowledged, files: files().length, kept: [...before].every((name) => files().includes(name)) }).toEqual({
      id: true,
      files: acknowledged + 1,
      kept: true,
    });
  });

  test("after a crash (SIGKILL) the counter skips ahead instead of reusing numbers", async () => {
    using dir = makeTempDir();
    const first = spawnAgent(["--role", "receiver", "--port", "0", "--out", dir.path, "--no-control"]);
    const port1 = Number((await first.waitFor("receiver_listening")).port);
    const ids = [await postImage(port1), await postImage(port1)];
    first.process.kill("SIGKILL");
    await first.process.exited;
    await using second = spawnAgent(["--role", "receiver", "--port", "0", "--out", dir.path, "--no-control"]);
    const port2 = Number((await second.waitFor("receiver_listening")).port);
    ids.push(await postImage(port2));
    // The first process leased numbers 0-999 on disk before using any; its successor starts after the lease.
    expect(ids).toEqual([0, 1, 1000]);
  });
});
