// The ack bench's baseline: a minimal Bun.serve on 127.0.0.1 that writes each body to its own file in argv[2] with Bun.write (no queue, no checks), then answers 202.
import { join } from "node:path";

const out = process.argv[2]!;
let next = 0;
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  maxRequestBodySize: 32 * 1024 * 1024,
  async fetch(request) {
    const body = await request.arrayBuffer();
    await Bun.write(join(out, `${next++}.jpg`), body);
    return new Response(null, { status: 202 });
  },
});
process.stderr.write(`${JSON.stringify({ event: "naive_listening", port: server.port })}\n`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
