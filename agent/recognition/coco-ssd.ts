// The COCO detector of models/coco-ssd/ and the TensorFlow.js wasm binaries, embedded in the binary: each import is a file path
// (in the repository under `bun run`, under /$bunfs in a compiled binary), read with node:fs either way.
// @ts-ignore: with type "file" the import is the embedded file's path, not the JSON.
import modelJson from "../../models/coco-ssd/model.json" with { type: "file" };
// @ts-ignore: a weight shard has no type declarations; with type "file" the import is a path.
import shard1 from "../../models/coco-ssd/group1-shard1of5" with { type: "file" };
// @ts-ignore: see above.
import shard2 from "../../models/coco-ssd/group1-shard2of5" with { type: "file" };
// @ts-ignore: see above.
import shard3 from "../../models/coco-ssd/group1-shard3of5" with { type: "file" };
// @ts-ignore: see above.
import shard4 from "../../models/coco-ssd/group1-shard4of5" with { type: "file" };
// @ts-ignore: see above.
import shard5 from "../../models/coco-ssd/group1-shard5of5" with { type: "file" };
// @ts-ignore: see above.
import wasmSimd from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm" with { type: "file" };
// @ts-ignore: see above.
import wasmPlain from "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm" with { type: "file" };
import labels from "../../models/coco-ssd/labels.json" with { type: "json" };

/** The embedded model: its files by the names model.json gives them. */
export const EMBEDDED_MODEL = {
  files: {
    "model.json": modelJson as unknown as string,
    "group1-shard1of5": shard1 as string,
    "group1-shard2of5": shard2 as string,
    "group1-shard3of5": shard3 as string,
    "group1-shard4of5": shard4 as string,
    "group1-shard5of5": shard5 as string,
  } as Record<string, string>,
};

/** The 90 score columns of the COCO detector named (column c is COCO id c + 1; null where COCO has no class). */
export const COCO_LABELS: readonly (string | null)[] = labels;

/**
 * The wasm binaries of @tensorflow/tfjs-backend-wasm by the names it asks for. The
 * multi-threaded one is never asked for: every inference thread runs single-threaded wasm.
 */
export const WASM_FILES: Record<string, string> = {
  "tfjs-backend-wasm-simd.wasm": wasmSimd as string,
  "tfjs-backend-wasm.wasm": wasmPlain as string,
  "tfjs-backend-wasm-threaded-simd.wasm": wasmSimd as string,
};
