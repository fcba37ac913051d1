// The fleet's token for a deploy: --token-file, else AGENT_TOKEN, else the one saved locally on the first deploy (made then).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { FleetError } from "../../agent/errors";

/** Where the token is kept when neither --token-file nor AGENT_TOKEN gives one: `$XDG_CONFIG_HOME/framefleet/token` (else ~/.config). */
export function defaultTokenFile(): string {
  return join(process.env.XDG_CONFIG_HOME || join(homedir(), ".config"), "framefleet", "token");
}

/**
 * The token and where it came from. A token file that does not exist yet is made (folder
 * 700, file 600, 24 random bytes as base64url) and said so in `note`.
 * @throws FleetError BAD_TOKEN_FILE naming the flag and path when it cannot be read or is empty.
 */
export function readOrMakeToken(tokenFile: string | undefined): { token: string; note: string } {
  if (!tokenFile && process.env.AGENT_TOKEN) return { token: process.env.AGENT_TOKEN, note: "token from AGENT_TOKEN" };
  const path = tokenFile ?? defaultTokenFile();
  const flag = tokenFile ? `--token-file ${path}` : path;
  try {
    if (existsSync(path)) {
      const token = readFileSync(path, "utf8").split("\n")[0]!.trim();
      if (token === "") throw new FleetError("BAD_TOKEN_FILE", `${flag}: the file is empty`);
      return { token, note: `token from ${path}` };
    }
    const token = randomBytes(24).toString("base64url");
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${token}\n`, { mode: 0o600, flag: "wx" });
    chmodSync(path, 0o600);
    return { token, note: `made a new fleet token and saved it in ${path} (give it to the controller as AGENT_TOKEN or keep this file)` };
  } catch (error) {
    if (error instanceof FleetError) throw error;
    throw new FleetError("BAD_TOKEN_FILE", `${flag}: ${(error as Error).message}`, 400, { cause: error });
  }
}
