// A raw HTTP/1.1 client over loopback TCP for the fuzz suites: any bytes out, the answer (or a closed connection) back.

/** What the server did with one raw request. */
export type RawAnswer =
  | { kind: "answer"; status: number; headers: Record<string, string>; body: string }
  | { kind: "closed" };

/** How long one raw request may wait for its answer before the client gives up (a half-sent body is then the client's fault). */
const ANSWER_WAIT_MS = 5000;

const decoder = new TextDecoder();

/**
 * Sends `bytes` (a whole request, `Connection: close` expected) to 127.0.0.1:`port` and reads
 * until the server closes. With `halfClose` (a request whose body is shorter than it says)
 * the client ends its side at once, as a client that gave up would. Answers the parsed
 * response, or `closed` when the server closed without one or the wait ran out.
 */
export async function sendRaw(port: number, bytes: Uint8Array, halfClose = false): Promise<RawAnswer> {
  const chunks: Uint8Array[] = [];
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data: (_socket, chunk) => void chunks.push(new Uint8Array(chunk)),
      close: () => finish(),
      end: () => finish(),
      error: () => finish(),
      connectError: () => finish(),
    },
  });
  socket.write(bytes);
  socket.flush();
  if (halfClose) socket.end();
  const timer = setTimeout(finish, ANSWER_WAIT_MS);
  await done;
  clearTimeout(timer);
  socket.end();
  return parseAnswer(Buffer.concat(chunks));
}

/** Parses the first response in `raw` (content-length or chunked body); `closed` when there is none. */
export function parseAnswer(raw: Uint8Array): RawAnswer {
  const text = decoder.decode(raw);
  const headEnd = text.indexOf("\r\n\r\n");
  const statusLine = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (headEnd < 0 || !statusLine) return { kind: "closed" };
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, headEnd).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = text.slice(headEnd + 4);
  if (headers["transfer-encoding"]?.includes("chunked")) body = unchunk(body);
  else if (headers["content-length"]) body = body.slice(0, Number(headers["content-length"]));
  return { kind: "answer", status: Number(statusLine[1]), headers, body };
}

function unchunk(text: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const lineEnd = text.indexOf("\r\n", at);
    if (lineEnd < 0) return out;
    const size = parseInt(text.slice(at, lineEnd), 16);
    if (!(size > 0)) return out;
    out += text.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
}

/** One request's parts; `headers` are written as given, in order (a `content-length` is added unless present). */
export interface RawRequest {
  method: string;
  path: string;
  headers: [string, string][];
  body: Uint8Array;
  /** The body is shorter than its content-length: send it and end the client's side. */
  incomplete?: boolean;
}

const encoder = new TextEncoder();

/** Writes a request as bytes: request line, headers (plus `host`, `connection: close` and a true `content-length` unless given), body. */
export function toRawBytes(request: RawRequest): Uint8Array {
  const names = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const headers = [["host", "127.0.0.1"], ["connection", "close"], ...request.headers] as [string, string][];
  if (!names.has("content-length") && !names.has("transfer-encoding")) headers.push(["content-length", String(request.body.length)]);
  const head = `${request.method} ${request.path} HTTP/1.1\r\n${headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
  return Buffer.concat([Buffer.from(head, "latin1"), request.body]);
}

/** Why an answer breaks the fuzz property, or undefined when it keeps it. */
export type Verdict = string | undefined;

/**
 * The property every HTTP surface holds: a closed connection, a 2xx, or a 4xx whose body is
 * JSON with a string `error` code; never a 5xx. A 4xx from Bun's own HTTP parser (a request
 * the app never saw: a malformed request line or header) has no JSON body and is allowed.
 */
export function judgeAnswer(answer: RawAnswer): Verdict {
  if (answer.kind === "closed") return undefined;
  const { status, body, headers } = answer;
  if (status >= 500) return `${status} ${body.slice(0, 300)}`;
  if (status >= 200 && status < 300) return undefined;
  if (status < 400) return `unexpected ${status}`;
  if (isParserRefusal(answer)) return undefined;
  try {
    const json = JSON.parse(body) as { error?: unknown };
    return typeof json.error === "string" && /^[A-Z][A-Z0-9_]*$/.test(json.error) ? undefined : `${status} without an error code: ${body.slice(0, 200)}`;
  } catch {
    return `${status} not JSON (${headers["content-type"] ?? "no type"}): ${body.slice(0, 200)}`;
  }
}

/**
 * Counts one answer (a close, a 5xx, a 2xx) into `counts` and throws the judge's verdict
 * (`judgeAnswer`) when it breaks the surface's property.
 */
export function tallyAnswer(answer: RawAnswer, counts: { closed: number; fiveXX: number; ok: number }): void {
  if (answer.kind === "closed") counts.closed += 1;
  else if (answer.status >= 500) counts.fiveXX += 1;
  else if (answer.status < 300) counts.ok += 1;
  const verdict = judgeAnswer(answer);
  if (verdict) throw new Error(verdict);
}

/** True for the bodiless 4xx Bun's HTTP parser sends for a request it cannot read. */
function isParserRefusal(answer: RawAnswer & { kind: "answer" }): boolean {
  return (answer.status === 400 || answer.status === 431 || answer.status === 413) && answer.body === "" && !answer.headers["content-type"];
}

/** Builds an ordinary request for `path` with a JSON or bytes body (for the "still answers" checks). */
export function toRawJson(method: string, path: string, body: unknown, headers: [string, string][] = []): Uint8Array {
  return toRawBytes({ method, path, headers: [["content-type", "application/json"], ...headers], body: encoder.encode(JSON.stringify(body)) });
}
