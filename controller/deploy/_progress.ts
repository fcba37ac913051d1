// A deploy's progress: one line per box, redrawn in place on a TTY; elsewhere (CI, pipes) a plain line per step.

/** Reports each box's current step; `end` leaves the lines as they are. */
export interface DeployProgress {
  update(name: string, text: string): void;
  end(): void;
}

/** A progress reporter for boxes `names` on `stream` (stderr). */
export function createDeployProgress(names: string[], stream: NodeJS.WriteStream = process.stderr): DeployProgress {
  const width = Math.max(...names.map((name) => name.length), 4);
  const line = (name: string, text: string) => `${name.padEnd(width)}  ${text}`;
  if (!stream.isTTY) return { update: (name, text) => void stream.write(`${line(name, text)}\n`), end: () => {} };
  const texts = new Map(names.map((name) => [name, "waiting"]));
  for (const name of names) stream.write(`${line(name, "waiting")}\n`);
  return {
    update(name, text) {
      texts.set(name, text);
      const up = names.length - names.indexOf(name);
      // Up to the box's line, clear it, write, and back down below the last line.
      stream.write(`\x1b[${up}A\r\x1b[2K${line(name, text).slice(0, (stream.columns || 120) - 1)}\x1b[${up}B\r`);
    },
    end: () => {},
  };
}
