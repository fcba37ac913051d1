// Managers sharing a broker: each beats its id in the managers bucket; a manager whose entry expired is gone, and one live manager takes over its unfinished jobs.
import type { KV } from "@nats-io/kv";
import { FleetError } from "../../../errors";
import { MANAGER_BEAT_MS, MANAGER_TTL_MS, readRecord, type JobRecord } from "./_records";

/** What the takeover needs of the scheduler. */
export interface TakeoverHost {
  managerId: string;
  jobs: KV;
  managers: KV;
  log(event: string, fields?: Record<string, unknown>): void;
  /** Adopts the unfinished, published records of a gone manager: collects their results from now on. */
  adopt(records: JobRecord[]): Promise<void>;
}

/** The ids in the managers bucket now. */
async function readLive(managers: KV): Promise<Set<string>> {
  const live = new Set<string>();
  for await (const key of await managers.keys()) live.add(key);
  return live;
}

/** The records of `gone`'s unfinished jobs; those never published (never accepted) are marked failed. */
async function readOrphans(host: TakeoverHost, gone: string): Promise<JobRecord[]> {
  const orphans: JobRecord[] = [];
  for await (const key of await host.jobs.keys()) {
    if (key.startsWith("takeover.")) continue;
    const record = await readRecord(host.jobs, key).catch(() => undefined);
    if (!record || record.manager !== gone || record.state === "done" || record.state === "failed") continue;
    if (record.published) orphans.push(record);
    else {
      const error = new FleetError("MANAGER_LOST", `manager ${gone} was lost before job ${record.id}'s tasks were all published (it was never accepted)`, 503);
      await host.jobs.put(key, JSON.stringify({ ...record, state: "failed", error: { code: error.code, message: error.message, status: error.status } }));
    }
  }
  return orphans;
}

/** Takes over `gone`'s jobs unless another manager already did (a KV create is the claim). */
async function takeOver(host: TakeoverHost, gone: string): Promise<void> {
  try {
    await host.jobs.create(`takeover.${gone}`, host.managerId);
  } catch {
    return;
  }
  try {
    const orphans = await readOrphans(host, gone);
    // Every manager that saw `gone` go claims in turn; the first adopts the jobs, the later ones find none.
    if (orphans.length > 0) host.log("manager_takeover", { from: gone, jobs: orphans.length });
    await host.adopt(orphans);
  } finally {
    // Adopted records name this manager now: a later claim finds nothing left, and a manager reusing the id can be taken over again.
    await host.jobs.delete(`takeover.${gone}`).catch(() => {});
  }
}

/**
 * Waits out an entry of this manager's id (a crash under the same --id leaves one for up to
 * MANAGER_TTL_MS); one still beating belongs to a live twin, which would read this one's results.
 * @throws FleetError MANAGER_ID_IN_USE (409).
 */
async function refuseLiveTwin(host: TakeoverHost): Promise<void> {
  const before = await host.managers.get(host.managerId);
  if (!before || before.operation !== "PUT") return;
  await Bun.sleep(MANAGER_TTL_MS + MANAGER_BEAT_MS);
  const after = await host.managers.get(host.managerId);
  if (after && after.operation === "PUT" && after.revision !== before.revision)
    throw new FleetError("MANAGER_ID_IN_USE", `a live manager on the broker already has the id ${host.managerId}; give this one another --id`, 409);
}

/**
 * Beats `host.managerId` every MANAGER_BEAT_MS and watches the others: a manager seen before and
 * gone now, or the owner of an unfinished record no live manager has (a crash before this one
 * started), is taken over; so are this manager's own unfinished records from before a restart. Answers the stop function (which removes this manager's entry, so
 * the others take over at once).
 */
export async function startLiveness(host: TakeoverHost): Promise<() => Promise<void>> {
  const seen = new Set<string>();
  let busy = false;
  const beat = () => host.managers.put(host.managerId, String(Date.now())).catch(() => 0);
  const watch = async () => {
    if (busy) return;
    busy = true;
    try {
      const live = await readLive(host.managers);
      for (const id of live) seen.add(id);
      for (const id of [...seen]) if (!live.has(id) && id !== host.managerId) (seen.delete(id), await takeOver(host, id));
    } catch (error) {
      host.log("manager_watch_failed", { error: (error as Error).message });
    } finally {
      busy = false;
    }
  };
  await refuseLiveTwin(host);
  await beat();
  const live = await readLive(host.managers);
  const owners = new Set<string>();
  for await (const key of await host.jobs.keys()) {
    if (key.startsWith("takeover.")) continue;
    const record = await readRecord(host.jobs, key).catch(() => undefined);
    // A gone owner's jobs, and this manager's own from before a restart under the same --id.
    const orphaned = !live.has(record?.manager ?? "") || record?.manager === host.managerId;
    if (record && record.state !== "done" && record.state !== "failed" && orphaned) owners.add(record.manager);
  }
  for (const gone of owners) await takeOver(host, gone);
  let watching: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    void beat();
    if (!busy) watching = watch();
  }, MANAGER_BEAT_MS);
  // A takeover under way finishes (and releases its claim) while the connection is still open.
  return async () => {
    clearInterval(timer);
    await watching;
    await host.managers.delete(host.managerId).catch(() => {});
  };
}
