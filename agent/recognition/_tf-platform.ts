// A TensorFlow.js platform for Bun, for where tfjs-core's own did not register itself.
import type { Platform } from "@tensorflow/tfjs-core/dist/platforms/platform";

/**
 * What tfjs-core asks of its platform, on Bun's web APIs. tfjs-core registers its node
 * platform as a side effect of dist/platforms/*.js, which `bun build` drops (the package
 * marks them as side-effect files in a form the bundler does not match); under `bun run` it
 * registers and this one is not used.
 */
export const BUN_PLATFORM: Platform = {
  fetch: (path, init) => fetch(path, init),
  now: () => performance.now(),
  encode: (text) => new TextEncoder().encode(text),
  decode: (bytes, encoding) => new TextDecoder(encoding as "utf-8").decode(bytes),
  isTypedArray: (a): a is Float32Array | Int32Array | Uint8Array | Uint8ClampedArray =>
    a instanceof Float32Array || a instanceof Int32Array || a instanceof Uint8Array || a instanceof Uint8ClampedArray,
  setTimeoutCustom: (callback, delay) => void setTimeout(callback as () => void, delay),
};
