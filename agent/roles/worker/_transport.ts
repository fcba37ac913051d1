// The one choice of transport for every worker role: TCP (dial the manager) or NATS (pull from the broker); the runner never knows which.
import { FleetError } from "../../errors";
import { startBrokerSession } from "./_broker";
import { startWorkerSession } from "./_session";
import type { SessionSettings, TaskRunner } from "./_state";
import type { RoleContext, RoleHandle } from "../types";

/** A worker transport: serves a runner's tasks from somewhere until stopped. */
export type WorkerTransport = <Task>(settings: SessionSettings, context: RoleContext, runner: TaskRunner<Task>) => Promise<RoleHandle>;

const TRANSPORTS = {
  tcp: async (settings, context, runner) => startWorkerSession(settings, context, runner),
  nats: startBrokerSession,
} satisfies Record<string, WorkerTransport>;

/**
 * Starts serving `runner` over the transport the settings name: `manager` (TCP) or `broker` (NATS).
 * @throws FleetError BAD_OPTIONS (422) unless exactly one of them is given; as each transport.
 */
export async function startWorker<Task>(settings: SessionSettings, context: RoleContext, runner: TaskRunner<Task>): Promise<RoleHandle> {
  if (Boolean(settings.manager) === Boolean(settings.broker))
    throw new FleetError("BAD_OPTIONS", "give one of --manager HOST:PORT (TCP) and --broker nats://HOST:PORT (NATS JetStream)", 422);
  return (settings.broker ? TRANSPORTS.nats : TRANSPORTS.tcp)(settings, context, runner);
}
