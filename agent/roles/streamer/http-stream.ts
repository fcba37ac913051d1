// The client side of one MJPEG stream over a raw TCP socket: the response head, chunked transfer coding, then multipart parts counted.
import { createMultipartParser, readBoundary, type MultipartParser } from "../../sources/multipart";

/** Largest response head accepted (16 KB). */
const MAX_HEAD_BYTES = 16 * 1024;
const HEAD_END = "\r\n\r\n";

/** What the stream reader reports as bytes arrive. */
export interface StreamEvents {
  /** A whole JPEG part arrived (counted, not kept). */
  onFrame(): void;
  /** The response is not a multipart stream (status, content type) or its framing broke. */
  onError(message: string): void;
}

/**
 * Reads the bytes of an HTTP/1.1 response carrying `multipart/x-mixed-replace`: parses
 * the head (status 200, the boundary if named), removes chunked transfer coding when the
 * server uses it, and counts whole parts. Memory: the head, one chunk-size line and the
 * multipart parser's carry (no frame bytes are kept).
 */
export class StreamReader {
  private head = "";
  private parser: MultipartParser | undefined;
  private chunked = false;
  private chunkLeft = 0; // data bytes left in the current chunk
  private sizeLine = ""; // a chunk-size line being read
  private afterData = 0; // CRLF bytes after a chunk's data still to skip
  private failed = false;

  constructor(private readonly events: StreamEvents) {}

  /** Feeds bytes as they come off the socket. */
  push(bytes: Uint8Array): void {
    if (this.failed) return;
    if (!this.parser) {
      const text = new TextDecoder("latin1").decode(bytes);
      const end = (this.head + text).indexOf(HEAD_END);
      if (end < 0) {
        this.head += text;
        if (this.head.length > MAX_HEAD_BYTES) this.fail("response head too long");
        return;
      }
      const consumed = end + HEAD_END.length - this.head.length;
      this.head = (this.head + text).slice(0, end);
      if (!this.readHead()) return;
      bytes = bytes.subarray(consumed);
    }
    try {
      if (this.chunked) this.dechunk(bytes);
      else this.parser!.push(bytes);
    } catch (error) {
      this.fail((error as Error).message); // the parser gave up on the stream (no boundary found)
    }
  }

  private readHead(): boolean {
    const [status, ...lines] = this.head.split("\r\n");
    const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(":")).trim().toLowerCase(), line.slice(line.indexOf(":") + 1).trim()]));
    const boundary = readBoundary(headers.get("content-type") ?? null);
    if (!/^HTTP\/1\.[01] 200/.test(status ?? "")) {
      this.fail(`answered ${status}, ${headers.get("content-type") ?? "no content type"}`);
      return false;
    }
    this.chunked = /chunked/i.test(headers.get("transfer-encoding") ?? "");
    this.parser = createMultipartParser(boundary, () => this.events.onFrame(), { keepBodies: false }); // no boundary: the first --NAME line
    return true;
  }

  private dechunk(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, bytes.length - i);
        this.parser!.push(bytes.subarray(i, i + take));
        this.chunkLeft -= take;
        i += take;
        if (this.chunkLeft === 0) this.afterData = 2;
      } else if (this.afterData > 0) {
        this.afterData -= 1;
        i += 1;
      } else {
        const lf = bytes.indexOf(10, i);
        const end = lf < 0 ? bytes.length : lf;
        this.sizeLine += new TextDecoder("latin1").decode(bytes.subarray(i, end));
        i = end + 1;
        if (lf < 0) return;
        const size = parseInt(this.sizeLine.trim().split(";")[0]!, 16);
        this.sizeLine = "";
        if (!Number.isFinite(size)) return this.fail("bad chunk size");
        if (size === 0) return; // the last chunk: the stream is over
        this.chunkLeft = size;
      }
    }
  }

  private fail(message: string): void {
    this.failed = true;
    this.events.onError(message);
  }
}
