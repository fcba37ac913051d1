// The explicit list of fuzz surfaces, shared by `npm run fuzz` (test/fuzz/main.ts).
import { controlSurface } from "./_control";
import { jobsSurface } from "./_jobs";
import { mjpegSplitterSurface, multipartSurface } from "./_parsers";
import type { FuzzSurface } from "./_surface";
import { uploadSurface } from "./_upload";
import { workerPortSurface } from "./_worker-port";

/** Every surface, in the order `npm run fuzz` runs them. */
export const SURFACES: readonly FuzzSurface[] = [uploadSurface, jobsSurface, controlSurface, workerPortSurface, mjpegSplitterSurface, multipartSurface];
