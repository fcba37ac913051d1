// The one place sharp is loaded from, so that a compiled binary can make its libvips loadable first.
import { FleetError } from "../errors";
import { prepareLibvips } from "./_libvips";

export { readLoadedLibvips, type LoadedLibvips } from "./_libvips";

type Sharp = typeof import("sharp").default;
let loaded: Sharp | undefined;

/**
 * Loads sharp once, by its CommonJS entry (the ESM one hides the addon from the bundler),
 * after the embedded libvips in a compiled binary. Throws a FleetError where it cannot.
 */
export function loadSharp(): Sharp {
  if (loaded) return loaded;
  if (Bun.isStandaloneExecutable) prepareLibvips();
  try {
    loaded = require("sharp") as Sharp;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new FleetError("NATIVE_UNAVAILABLE", `image codec: cannot load sharp: ${reason}`, 500, { cause });
  }
  return loaded;
}

/**
 * sharp itself, loaded on first use: importing never fails, so an agent without a working
 * codec still starts and answers `--version`; the first call throws the FleetError instead.
 */
const sharp = new Proxy(function sharp() {} as unknown as Sharp, {
  apply: (_, self, args) => Reflect.apply(loadSharp(), self, args),
  construct: (_, args) => Reflect.construct(loadSharp(), args),
  get: (_, key) => Reflect.get(loadSharp(), key),
  has: (_, key) => Reflect.has(loadSharp(), key),
});
export default sharp;
