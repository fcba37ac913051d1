// Regression (found by the fuzz suite): a part without Content-Length past maxPartBytes is dropped however the stream is cut.
import { expect, test } from "bun:test";
import { createMultipartParser } from "../../agent/sources/multipart";
import { readPhotos } from "../helpers";

const photo = [...readPhotos().values()][0]!;
const stream = Buffer.concat([Buffer.from("--frame\r\nContent-Type: image/jpeg\r\n\r\n"), photo, Buffer.from("\r\n--frame\r\n")]);

function parse(chunkSize: number, maxPartBytes: number): { parts: number; bad: number } {
  const parser = createMultipartParser("frame", () => {}, { maxPartBytes });
  for (let at = 0; at < stream.length; at += chunkSize) parser.push(stream.subarray(at, at + chunkSize));
  const { parts, bad } = parser.stats();
  return { parts, bad };
}

test("a part past the limit counts as bad whether its delimiter comes in the same chunk or a later one", () => {
  const limit = photo.length - 100;
  expect([parse(stream.length, limit), parse(1000, limit), parse(1, limit)]).toEqual([
    { parts: 0, bad: 1 },
    { parts: 0, bad: 1 },
    { parts: 0, bad: 1 },
  ]);
});

test("a part just within the limit (its closing CRLF counted) is handed on, whatever the cuts", () => {
  const limit = photo.length + 2;
  expect([parse(stream.length, limit), parse(7, limit)]).toEqual([
    { parts: 1, bad: 0 },
    { parts: 1, bad: 0 },
  ]);
});

/** Parses `bytes` cut into `chunkSize` pieces; the parts and counts, or the error code it ended with. */
function parseCut(boundary: string | undefined, bytes: Uint8Array, chunkSize: number): { parts: number; bad: number } | string {
  const parser = createMultipartParser(boundary, () => {});
  try {
    for (let at = 0; at < bytes.length; at += chunkSize) parser.push(bytes.subarray(at, at + chunkSize));
  } catch (error) {
    return (error as { code: string }).code;
  }
  const { parts, bad } = parser.stats();
  return { parts, bad };
}

test("a header block over 8 KB is a bad part also when its end arrives in the same chunk (found by the fuzz suite)", () => {
  // A corrupted delimiter line leaves no blank line until far into the next part.
  const long = Buffer.concat([Buffer.from("--frame\r\nX-Junk: "), Buffer.alloc(9000, 0x61), Buffer.from("\r\n\r\n"), photo, Buffer.from("\r\n--frame\r\n\r\n"), photo, Buffer.from("\r\n--frame\r\n")]);
  expect([parseCut("frame", long, long.length), parseCut("frame", long, 129)]).toEqual([
    { parts: 1, bad: 1 },
    { parts: 1, bad: 1 },
  ]);
});

test("without a boundary, a first line over 8 KB is refused also when its end arrives in the same chunk (found by the fuzz suite)", () => {
  const long = Buffer.concat([Buffer.alloc(9000, 0x61), Buffer.from("\r\n--frame\r\n\r\n"), photo, Buffer.from("\r\n--frame\r\n")]);
  expect([parseCut(undefined, long, long.length), parseCut(undefined, long, 129)]).toEqual(["BAD_MULTIPART", "BAD_MULTIPART"]);
});
