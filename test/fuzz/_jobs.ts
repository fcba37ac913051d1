// Fuzz surface: the manager's POST /jobs multipart (fields, ops, params, file parts, broken multipart), raw HTTP on loopback.
import fc from "fast-check";
import { startRole } from "../helpers";
import { imageBytes, oddText, PHOTOS } from "./_arbitraries";
import { OPS } from "../../agent/protocol";
import { tallyAnswer, sendRaw, toRawBytes } from "./_http";
import { createCounts, type FuzzSurface } from "./_surface";
import { dialFakeWorker } from "./_worker-plane";

const PARAM_NAMES = ["sigma", "factor", "width", "height", "minScore", "maxObjects"];

/** A field value: plausible numbers for the ops' parameters, their edges, or odd text. */
const fieldValue = fc.oneof(
  fc.constantFrom("1", "0", "-1", "0.3", "2", "50", "51", "640", "16384", "16385", "1e3", "NaN", "Infinity", "", " 2 ", "0x10", "true", "png", "jpeg", "webp", "gif"),
  oddText,
);

/** One multipart part: a text field or a file (mostly `images`), with odd names, file names and types. */
const part = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("field" as const),
      name: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("op", "format", ...PARAM_NAMES) }, oddText),
      value: fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...OPS) }, fieldValue),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("file" as const),
      name: fc.oneof({ weight: 6, arbitrary: fc.constant("images") }, oddText),
      filename: fc.oneof(fc.constantFrom("a.jpg", "", "../../x.jpg"), oddText),
      type: fc.constantFrom<string>("image/jpeg", "application/octet-stream", "text/plain", ""),
      bytes: imageBytes,
    }),
  },
);

const BOUNDARY = "fuzzBoundary7MA4YWxk";

type Part = typeof part extends fc.Arbitrary<infer T> ? T : never;

function toPartBytes(one: Part): Uint8Array {
  const clean = (text: string) => text.replace(/[\r\n"]/g, "_");
  if (one.kind === "field") return Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${clean(one.name)}"\r\n\r\n${one.value}\r\n`);
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${clean(one.name)}"; filename="${clean(one.filename)}"\r\n${one.type ? `Content-Type: ${one.type}\r\n` : ""}\r\n`;
  return Buffer.concat([Buffer.from(head), one.bytes, Buffer.from("\r\n")]);
}

/** A POST /jobs: a well-formed form of odd parts (mostly), or a form cut short, without its closing line, of another boundary or type. */
const jobsCase = fc.record({
  parts: fc
    .record({
      op: fc.option(fc.constantFrom(...OPS), { freq: 5 }),
      images: fc.array(imageBytes, { maxLength: 2 }),
      extra: fc.oneof(fc.constant([]), fc.array(part, { maxLength: 4 })),
    })
    .map(({ op, images, extra }): Part[] => [
      ...(op === null ? [] : [{ kind: "field" as const, name: "op", value: op }]),
      ...images.map((bytes) => ({ kind: "file" as const, name: "images", filename: "photo.jpg", type: "image/jpeg", bytes })),
      ...extra,
    ]),
  shape: fc.constantFrom("whole", "whole", "whole", "no-close", "cut", "wrong-boundary", "urlencoded", "no-type"),
  cutAt: fc.double({ min: 0, max: 1, noNaN: true }),
});

/**
 * The manager's POST /jobs (a manager role in process, `maxAttempts` 1, with one fake worker
 * that answers every task with an error so accepted jobs settle at once).
 */
export const jobsSurface: FuzzSurface = {
  name: "manager POST /jobs",
  testRuns: 2000,
  async start() {
    const manager = await startRole("manager", { port: 0, workerPort: 0, maxAttempts: 1, maxJobs: 100_000, maxResults: "64MB" });
    const { port, worker_port: workerPort } = manager.stats() as unknown as { port: number; worker_port: number };
    const worker = await dialFakeWorker(workerPort);
    const counts = createCounts();
    const property = fc.asyncProperty(jobsCase, async ({ parts, shape, cutAt }) => {
      let body = Buffer.concat([...parts.map(toPartBytes), Buffer.from(`--${BOUNDARY}--\r\n`)]);
      if (shape === "no-close") body = body.subarray(0, body.length - BOUNDARY.length - 6);
      if (shape === "cut") body = body.subarray(0, Math.floor(cutAt * body.length));
      const type = { urlencoded: "application/x-www-form-urlencoded", "no-type": "", "wrong-boundary": "multipart/form-data; boundary=other" }[shape as string] ?? `multipart/form-data; boundary=${BOUNDARY}`;
      const answer = await sendRaw(port, toRawBytes({ method: "POST", path: "/jobs", headers: type ? [["content-type", type]] : [], body }));
      tallyAnswer(answer, counts);
    });
    return {
      property,
      counts,
      async checkAlive() {
        const good = toPartBytes({ kind: "file", name: "images", filename: "a.jpg", type: "image/jpeg", bytes: PHOTOS[0]! });
        const body = Buffer.concat([toPartBytes({ kind: "field", name: "op", value: "grayscale" }), good, Buffer.from(`--${BOUNDARY}--\r\n`)]);
        const answer = await sendRaw(port, toRawBytes({ method: "POST", path: "/jobs", headers: [["content-type", `multipart/form-data; boundary=${BOUNDARY}`]], body }));
        if (answer.kind !== "answer" || answer.status !== 202) throw new Error(`a good job got ${JSON.stringify(answer).slice(0, 300)}`);
      },
      async [Symbol.asyncDispose]() {
        await worker.close("fuzz over");
        await manager.stop();
      },
    };
  },
};
