// The explicit registry of roles: a new role is one folder (its index.ts default-exports the role) and one line here.
import { FleetError } from "../errors";
import grayscaleWorker from "./grayscale-worker";
import manager from "./manager";
import receiver from "./receiver";
import recognitionWorker from "./recognition-worker";
import sender from "./sender";
import streamer from "./streamer";
import viewers from "./viewers";
import type { Role } from "./types";

/** Every role this build can run. */
export const roles: readonly Role<any>[] = [sender, receiver, manager, grayscaleWorker, recognitionWorker, streamer, viewers];

/**
 * The role called `name`.
 * @throws FleetError UNKNOWN_ROLE (422) naming the roles there are.
 */
export function findRole(name: string): Role<any> {
  const role = roles.find((candidate) => candidate.name === name);
  if (role) return role;
  const known = roles.map((candidate) => candidate.name).join(", ");
  throw new FleetError("UNKNOWN_ROLE", `no role "${name}"; available: ${known}`, 422);
}
