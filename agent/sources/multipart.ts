// Splits a multipart/x-mixed-replace byte stream (an MJPEG stream over HTTP) into its JPEG parts, chunk by chunk.
import { FleetError } from "../errors";
import { PartBody, concat, indexOf } from "./_bytes";

/** Largest part kept (16 MB), as the MJPEG splitter's largest frame. */
export const MAX_PART_BYTES = 16 * 1024 * 1024;
/** Largest header block of one part (8 KB); a longer one is a bad part. Also the longest first line when the boundary is learnt. */
const MAX_HEADER_BYTES = 8 * 1024;
const EMPTY = new Uint8Array(0);

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
  /**
   * Scans `chunk`, calling `onPart` for each whole part it completes; keeps views into `chunk` (do not modify it afterwards).
   * @throws FleetError BAD_MULTIPART (422) when no boundary was given and the first 8 KB hold no line end.
   */
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
 * read up to the next delimiter (only new bytes are searched, so a part costs time in
 * proportion to its size). A part is handed on only when it starts with SOI (FFD8) and
 * ends with EOI (FFD9), after any trailing CR, LF or NUL bytes (a length that counts the
 * CRLF, padding) are removed: anything else counts as bad and parsing goes on at the next
 * delimiter. Memory: at most one part (`maxPartBytes`).
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
  let buffer: Uint8Array = EMPTY; // unconsumed bytes in seek and headers
  let carry: Uint8Array = EMPTY; // in scan: the last bytes seen, not yet in the body (a delimiter may start there)
  let remaining = 0; // body bytes still to come, in "body"
  const body = new PartBody(keep);

  const finishPart = (): void => {
    if (body.size <= maxPart && body.isJpeg()) {
      counts.parts += 1;
      onPart(body.join());
    } else counts.bad += 1;
    body.reset();
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
    } else state = "scan";
  };

  /** Learns the boundary from the first `--NAME` line; false until a whole line has come. */
  const learnBoundary = (): boolean => {
    const lineEnd = indexOf(buffer, CRLF2.subarray(0, 2));
    // The line's length, not the bytes at hand, decides: a long line is refused however the stream was cut.
    if ((lineEnd < 0 ? buffer.length : lineEnd) > MAX_HEADER_BYTES)
      throw new FleetError("BAD_MULTIPART", `no boundary given and no --boundary line within the first ${MAX_HEADER_BYTES / 1024} KB`, 422);
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

  /**
   * In scan: takes `chunk` into the body up to the next delimiter, searching only the new
   * bytes and the carry before them. Answers what follows the part (from its delimiter on),
   * or nothing while the part goes on.
   */
  const scan = (chunk: Uint8Array): Uint8Array => {
    const keepBack = delimiter!.length - 1;
    const joint = concat(carry, chunk.subarray(0, keepBack)); // a delimiter that starts in the carry
    let at = carry.length > 0 ? indexOf(joint, delimiter!) : -1;
    if (at >= 0 && at < carry.length) {
      body.add(carry.subarray(0, at));
      const rest = concat(carry.subarray(at), chunk);
      carry = EMPTY;
      finishPart();
      return rest;
    }
    at = indexOf(chunk, delimiter!);
    if (at >= 0) {
      body.add(carry);
      body.add(chunk.subarray(0, at));
      carry = EMPTY;
      finishPart();
      return chunk.subarray(at);
    }
    const seen = chunk.length >= keepBack ? chunk : concat(carry, chunk);
    if (seen !== chunk) carry = EMPTY;
    body.add(carry);
    body.add(seen.subarray(0, Math.max(0, seen.length - keepBack)));
    carry = seen.subarray(Math.max(0, seen.length - keepBack));
    if (body.size > maxPart) {
      counts.bad += 1;
      body.reset();
      state = "seek";
      buffer = carry;
      carry = EMPTY;
    }
    return EMPTY;
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
      // The header block's length decides, not the bytes at hand: the same part is bad however the stream was cut.
      if ((end < 0 ? buffer.length : end) > MAX_HEADER_BYTES) {
        counts.bad += 1;
        state = "seek";
        return true;
      }
      if (end < 0) return false;
      const headers = new TextDecoder().decode(buffer.subarray(0, end));
      buffer = buffer.subarray(end + 4);
      if (headers.startsWith("--")) return (state = "seek"), true; // the closing delimiter
      startBody(headers);
      return true;
    }
    return false; // body and scan take bytes in push()
  };

  return {
    push(chunk: Uint8Array): void {
      let rest = chunk;
      while (rest.length > 0 || buffer.length > 0) {
        if (state === "body") {
          const take = Math.min(remaining, rest.length);
          body.add(rest.subarray(0, take));
          rest = rest.subarray(take);
          remaining -= take;
          if (remaining > 0) return;
          finishPart();
          continue;
        }
        if (state === "scan") {
          rest = scan(rest);
          if (rest.length === 0) return;
          continue;
        }
        if (rest.length > 0) {
          buffer = concat(buffer, rest);
          rest = EMPTY;
        }
        if (!step()) return;
        if ((state as string) === "body" || (state as string) === "scan") {
          rest = buffer;
          buffer = EMPTY;
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
