// The control plane of an agent, by name: the control API, the supervisor of its roles, the agent's flags and the self-test.
export { pickRoleArgv } from "./_argv";
export { createControlApp, type ControlSettings } from "./app";
export { readFlags } from "./options";
export { runSelfTest } from "./self-test";
export { Supervisor } from "./supervisor";
