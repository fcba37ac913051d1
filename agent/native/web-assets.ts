// Where the pages of web/ are: embedded beside the entry in a compiled binary, the repository's web/ otherwise.
import { join } from "node:path";

/** The pages' folder (status page, upload page, viewer page, run page): the one definition every server reads. */
export const WEB_DIR = (Bun as { isStandaloneExecutable?: boolean }).isStandaloneExecutable
  ? join(import.meta.dir, "web")
  : join(import.meta.dir, "..", "..", "web");
