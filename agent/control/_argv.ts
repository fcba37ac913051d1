// Splits the agent's argv into its own flags (parsed by citty) and the flags of the role it starts.

/**
 * Returns the tokens of `argv` that are not the agent's own flags: `--role sender
 * --control-port 0 --multiply 5` with `ownFlags` {role: string, "control-port": string}
 * gives `["--multiply", "5"]`. `takesValue` tells which own flags consume the next token.
 */
export function pickRoleArgv(argv: string[], takesValue: Record<string, boolean>): string[] {
  const rest: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const token = argv[index]!;
    const name = token.startsWith("--") ? token.slice(2).split("=")[0]! : undefined;
    const own = name !== undefined && (name in takesValue || (name.startsWith("no-") && name.slice(3) in takesValue));
    if (!own) {
      rest.push(token);
      continue;
    }
    if (takesValue[name] && !token.includes("=")) index += 1;
  }
  return rest;
}
