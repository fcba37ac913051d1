// The explicit registry of roles: a new role is one file and one line here.
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

/** Roles of the contract not in this version yet, with the issue that brings each. */
const comingRoles: Record<string, string> = {
};

/**
 * The role called `name`.
 * @throws FleetError NOT_YET (422) for a contract role not built yet, UNKNOWN_ROLE (422) otherwise.
 */
export function findRole(name: string): Role<any> {
  const role = roles.find((candidate) => candidate.name === name);
  if (role) return role;
  const known = roles.map((candidate) => candidate.name).join(", ");
  if (name in comingRoles)
    throw new FleetError("NOT_YET", `role "${name}" is not in this version yet (${comingRoles[name]}); available: ${known}`, 422);
  throw new FleetError("UNKNOWN_ROLE", `no role "${name}"; available: ${known}`, 422);
}
