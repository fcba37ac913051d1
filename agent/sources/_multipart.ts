// Splits a multipart/x-mixed-replace byte stream (an MJPEG stream over HTTP) into its JPEG parts, chunk by chunk.
import { concat, indexOf, joinParts } from "./_bytes";

/** Largest part kept (16 MB), as the MJPEG splitter's largest frame. */
export const MAX_PART_BYTES = 16 * 1024 * 1024;
/** Largest header block of one part (8 KB); a longer one is a bad part. */
const MAX_HEADER_BYTES = 8 * 1024;

/** What a parser has seen so far. */
export interface MultipartStats {
  /** Whole JPEG parts handed on. */
  parts: number;
  /** Parts dropped: not a JPEG (no SOI or no EOI), headers too long, or larger than the limit. */
  bad: number;
  /** Bytes outside any part (preamble, junk between parts). */
  garbageBytes: number;
}

/** A push-fed multipart parser. */
export interface MultipartParser {
  /** Scans `chunk`, calling `onPart` for each whole part it completes; keeps views into `chunk` (do not modify it afterwards). */
  push(chunk: Uint8Array): void;
  stats(): MultipartStats;
}

/** Options of createMultipartParser. */
export interface MultipartOptions {
  /** Keep and hand on each part's bytes (default); false only counts parts (a load client), `onPart` then gets an empty array. */
  keepBodies?: boolean;
  /** Largest part in bytes (16 MB). */
  maxPartBytes?: number;
}

const CRLF2 = Uint8Array.of(13, 10, 13, 10);
const encoder = new TextEncoder();

/** `Content-Length` of a header block, or undefined when absent or not a number. */
function readContentLength(headers: string): number | undefined {
  const match = /(?:^|\r\n)content-length:\s*(\d+)\s*(?:\r\n|$)/i.exec(headers);
  return match ? Number(match[1]) : undefined;
}

/**
 * Creates a parser for parts delimited by `--BOUNDARY` lines. Without a `boundary` (a server
 * that does not name it, as ffmpeg's `-listen 1` answering application/octet-stream), the
 * first line that starts with `--` names it. A part with a
 * `Content-Length` is read by its length (no scanning of the JPEG bytes); one without is
 * read up to the next delimiter. A part is handed on only when it starts with SOI
 * (FFD8) and ends with EOI (FFD9, optionally followed by CRLF): anything else counts as
 * bad and parsing goes on at the next delimiter. Memory: at most one part (`maxPartBytes`).
 */
export function createMultipartParser(
  boundary: string | undefined,
  onPart: (body: Uint8Array) => void,
  options: MultipartOptions = {},
): MultipartParser {
  const keep = options.keepBodies ?? true;
  const maxPart = options.maxPartBytes ?? MAX_PART_BYTES;
  let delimiter = boundary === undefined ? undefined : encoder.encode(`--${boundary.replace(/^--/, "")}`);
  const counts: MultipartStats = { parts: 0, bad: 0, garbageBytes: 0 };
  let state: "seek" | "headers" | "body" | "scan" = "seek";
  let buffer: Uint8Array = new Uint8Array(0); // unconsumed bytes in seek, headers and scan
  let scanFrom = 0;
  let remaining = 0; // body bytes still to come, in "body"
  let body: Uint8Array[] = [];
  let bodyBytes = 0;
  let head = 0; // the first two body bytes as (b0 << 8 | b1)
  let tail = 0; // the last two body bytes, as above

  const noteBody = (bytes: Uint8Array): void => {
    if (bytes.length === 0) return;
    if (bodyBytes === 0) head = bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : bytes[0]! << 8;
    else if (bodyBytes === 1) head |= bytes[0]!;
    tail = bytes.length >= 2 ? (bytes[bytes.length - 2]! << 8) | bytes[bytes.length - 1]! : ((tail & 0xff) << 8) | bytes[0]!;
    if (keep) body.push(bytes);
    bodyBytes += bytes.length;
  };
  const finishPart = (): void => {
    if (head === 0xffd8 && tail === 0xffd9) {
      counts.parts += 1;
      onPart(keep ? joinParts(body, bodyBytes) : new Uint8Array(0));
    } else counts.bad += 1;
    body = [];
    bodyBytes = 0;
    head = 0;
    tail = 0;
    state = "seek";
  };
  const startBody = (headers: string): void => {
    const length = readContentLength(headers);
    if (length !== undefined && length > maxPart) {
      counts.bad += 1;
      state = "seek";
    } else if (length !== undefined) {
      remaining = length;
      state = "body";
    } else {
      scanFrom = 0;
      state = "scan";
    }
  };

  /** Learns the boundary from the first `--NAME` line; false until a whole line has come. */
  const learnBoundary = (): boolean => {
    const lineEnd = indexOf(buffer, CRLF2.subarray(0, 2));
    if (lineEnd < 0) return false;
    const line = new TextDecoder().decode(buffer.subarray(0, lineEnd));
    const dashes = line.indexOf("--");
    if (dashes >= 0 && line.length > dashes + 2) delimiter = encoder.encode(line.slice(dashes).trimEnd());
    else {
      counts.garbageBytes += lineEnd + 2;
      buffer = buffer.subarray(lineEnd + 2);
    }
    return true;
  };

  const step = (): boolean => {
    if (!delimiter) return learnBoundary();
    if (state === "seek") {
      const at = indexOf(buffer, delimiter);
      if (at < 0) {
        const keepTail = Math.min(buffer.length, delimiter.length - 1);
        counts.garbageBytes += buffer.length - keepTail;
        buffer = buffer.subarray(buffer.length - keepTail);
        return false;
      }
      counts.garbageBytes += Math.max(0, at - 2); // the CRLF before a delimiter is not junk
      buffer = buffer.subarray(at + delimiter.length);
      state = "headers";
      return true;
    }
    if (state === "headers") {
      const end = indexOf(buffer, CRLF2);
      if (end < 0) {
        if (buffer.length > MAX_HEADER_BYTES) {
          counts.bad += 1;
          state = "seek";
          return true;
        }
        return false;
      }
      const headers = new TextDecoder().decode(buffer.subarray(0, end));
      buffer = buffer.subarray(end + 4);
      if (headers.startsWith("--")) return (state = "seek"), true; // the closing delimiter
      startBody(headers);
      return true;
    }
    // scan: the body runs to the next delimiter
    const at = indexOf(buffer, delimiter!, scanFrom);
    if (at < 0) {
      scanFrom = Math.max(0, buffer.length - delimiter.length + 1);
      if (buffer.length > maxPart) {
        counts.bad += 1;
        buffer = buffer.subarray(scanFrom);
        state = "seek";
        return true;
      }
      return false;
    }
    let end = at;
    if (end >= 2 && buffer[end - 2] === 13 && buffer[end - 1] === 10) end -= 2;
    noteBody(buffer.subarray(0, end));
    buffer = buffer.subarray(at);
    finishPart();
    return true;
  };

  return {
    push(chunk: Uint8Array): void {
      let rest = chunk;
      while (rest.length > 0 || buffer.length > 0) {
        if (state === "body") {
          const take = Math.min(remaining, rest.length);
          noteBody(rest.subarray(0, take));
          rest = rest.subarray(take);
          remaining -= take;
          if (remaining > 0) return;
          finishPart();
          continue;
        }
        if (rest.length > 0) {
          buffer = concat(buffer, rest);
          rest = new Uint8Array(0);
        }
        if (!step()) return;
        if ((state as string) === "body") {
          rest = buffer;
          buffer = new Uint8Array(0);
        }
      }
    },
    stats: () => ({ ...counts }),
  };
}

/**
 * The boundary of a `multipart/x-mixed-replace; boundary=...` content type (quotes
 * removed), or undefined when the type has none.
 */
export function readBoundary(contentType: string | null): string | undefined {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  return match ? (match[1] ?? match[2]) : undefined;
}
