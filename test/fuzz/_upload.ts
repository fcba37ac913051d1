// Fuzz surface: the receiver's POST /upload (headers, binary and JSON bodies, base64 variants, mutated JPEGs), raw HTTP on loopback.
import fc from "fast-check";
import { rmSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startRole } from "../helpers";
import { anyJson, headerValue, imageBytes, oddText, PHOTOS } from "./_arbitraries";
import { tallyAnswer, sendRaw, toRawBytes, type RawRequest } from "./_http";
import { createCounts, type FuzzSurface } from "./_surface";

const CONTENT_TYPES = [
  "image/jpeg",
  "IMAGE/JPEG; charset=binary",
  "application/octet-stream",
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "multipart/form-data; boundary=x",
  "",
  "image/png",
];

/** base64 of `bytes` as a client might (mis)write it. */
const base64Variant = (bytes: Uint8Array): fc.Arbitrary<string> => {
  const plain = Buffer.from(bytes).toString("base64");
  return fc.constantFrom(
    plain,
    `data:image/jpeg;base64,${plain}`,
    Buffer.from(bytes).toString("base64url"),
    plain.replace(/=+$/, ""),
    plain.replace(/(.{76})/g, "$1\n"),
    `${plain}=`,
    ` ${plain}`,
    "data:,",
    "data:image/jpeg;base64",
    plain.slice(0, Math.max(0, plain.length - 1)),
  );
};

/** A JSON body: the original experiment's three fields with odd values and extra fields, or any JSON, or not JSON at all. */
const jsonBody: fc.Arbitrary<Uint8Array> = fc.oneof(
  {
    weight: 4,
    arbitrary: imageBytes.chain((bytes) =>
      fc.record(
        {
          topic: fc.oneof(oddText, anyJson),
          filename: fc.oneof(oddText, anyJson),
          image_b64: fc.oneof({ weight: 4, arbitrary: base64Variant(bytes) }, anyJson),
          sent_at: anyJson,
          extra: anyJson,
        },
        { requiredKeys: ["image_b64"] },
      ),
    ).map((body) => Buffer.from(JSON.stringify(body))),
  },
  anyJson.map((value) => Buffer.from(JSON.stringify(value) ?? "")),
  fc.string({ maxLength: 200 }).map((text) => Buffer.from(text)),
  fc.uint8Array({ maxLength: 200 }),
);

/** How the request states its length: truly, too short, too long (the body then ends early), absent, or not a number. */
const lengthHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant("true") },
  fc.constantFrom("short", "long", "absent", "-1", "abc", "99999999999", "0x10"),
);

const request: fc.Arbitrary<RawRequest> = fc
  .record({
    type: fc.constantFrom(...CONTENT_TYPES),
    topic: fc.option(headerValue),
    filename: fc.option(headerValue),
    sentAt: fc.option(fc.oneof(headerValue, fc.integer().map(String), fc.double().map(String))),
    length: lengthHeader,
    binary: imageBytes,
    json: jsonBody,
  })
  .map(({ type, topic, filename, sentAt, length, binary, json }) => {
    const body = type.startsWith("application/json") ? json : binary;
    const headers: [string, string][] = [];
    if (type !== "") headers.push(["content-type", type]);
    if (topic !== null) headers.push(["x-topic", topic]);
    if (filename !== null) headers.push(["x-filename", filename]);
    if (sentAt !== null) headers.push(["x-sent-at", sentAt]);
    if (length === "short") headers.push(["content-length", String(Math.max(0, body.length - 7))]);
    else if (length === "long") headers.push(["content-length", String(body.length + 100)]);
    else if (length === "99999999999") headers.push(["content-length", length]);
    else if (length === "absent") headers.push(["transfer-encoding", "identity"]);
    else if (length !== "true") headers.push(["content-length", length]);
    return { method: "POST", path: "/upload", headers, body, incomplete: length === "long" || length === "99999999999" };
  });

/** The receiver's POST /upload, a receiver role in process on a free port, saving into a temp folder. */
export const uploadSurface: FuzzSurface = {
  name: "receiver POST /upload",
  testRuns: 3000,
  async start() {
    const out = mkdtempSync(join(tmpdir(), "framefleet-fuzz-upload-"));
    const receiver = await startRole("receiver", { port: 0, out, queue: 100_000 });
    const port = (receiver.stats() as unknown as { port: number }).port;
    const counts = createCounts();
    const property = fc.asyncProperty(request, async (raw) => {
      const answer = await sendRaw(port, toRawBytes(raw), raw.incomplete);
      tallyAnswer(answer, counts);
    });
    return {
      property,
      counts,
      async checkAlive() {
        const good = { method: "POST", path: "/upload", headers: [["content-type", "image/jpeg"], ["x-topic", "alive"]] as [string, string][], body: PHOTOS[0]! };
        const answer = await sendRaw(port, toRawBytes(good));
        if (answer.kind !== "answer" || answer.status !== 202) throw new Error(`a good upload got ${JSON.stringify(answer).slice(0, 300)}`);
      },
      async [Symbol.asyncDispose]() {
        await receiver.stop();
        rmSync(out, { recursive: true, force: true });
      },
    };
  },
};
