// The load baseline: a bare Bun.serve on 127.0.0.1 that reads each request body, discards it and answers 202.
const server = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  maxRequestBodySize: 32 * 1024 * 1024,
  async fetch(request) {
    await request.arrayBuffer();
    return new Response(null, { status: 202 });
  },
});
process.stderr.write(`${JSON.stringify({ event: "sink_listening", port: server.port })}\n`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
