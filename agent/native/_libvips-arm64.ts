// The libvips shared library of sharp for Linux arm64, embedded in the binary (see _libvips.ts).
// Where this arch's package is not installed (on a Pi, say) these imports have no types; only the arm64 build reads them.
// @ts-ignore: with type "file" the import is the embedded file's path.
import path from "@img/sharp-libvips-linux-arm64/binary" with { type: "file" };
// @ts-ignore: see above.
import pkg from "@img/sharp-libvips-linux-arm64/package" with { type: "json" };
import type { LibvipsPackage } from "./_libvips";

/** The embedded library of this arch, with the file name and glibc its package declares. */
export default { path, name: pkg.exports["./binary"], glibc: pkg.config.glibc } satisfies LibvipsPackage;
