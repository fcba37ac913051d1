// A source of stored frames handed out in turn, without end: what files and synthetic sources are.
import { closedError } from "./_closed";
import type { Frame, FrameSource } from "./types";

/**
 * A source of stored frames handed out in turn, without end: `frameAt(seq)` picks and names
 * frame `seq` (0, 1, 2, ...), taken at the moment it is asked for; `kind` names the source in
 * its stats. Files and synthetic sources are this.
 */
export function cycleFrames(kind: string, frameAt: (seq: number) => Pick<Frame, "data" | "name">): FrameSource {
  let seq = 0;
  let closed = false;
  return {
    async next(): Promise<Frame> {
      if (closed) throw closedError();
      const frame = { ...frameAt(seq), seq, capturedAt: Date.now() };
      seq += 1;
      return frame;
    },
    stats: () => ({ kind, frames: seq, dropped: 0, up: !closed }),
    async close() {
      closed = true;
    },
  };
}
