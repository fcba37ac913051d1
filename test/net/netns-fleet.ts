// Throw-away network namespaces for tests: one per host, veth pairs to a bridge in a hub namespace, one more pair to the root namespace.
import { execFileSync, spawnSync } from "node:child_process";

/** One host of a fleet: its namespace, its address, and the two ends of its veth pair. */
export interface Host {
  name: string;
  /** The host's namespace (pass to `ip netns exec`). */
  ns: string;
  address: string;
  /** The host's end of its link, inside `ns`. */
  inside: string;
  /** The other end of its link, a port of the bridge inside the hub namespace. */
  hubSide: string;
}

/** A token bucket filter as `tc qdisc ... tbf` takes it: `rate 100mbit`, `burst 128kb`, `latency 50ms`. */
export interface Tbf {
  rate: string;
  burst: string;
  latency: string;
}

/** Namespaces, veths and a bridge made for one test run; removed on dispose (also after a partial setup). */
export interface Fleet extends AsyncDisposable {
  /** The /24 this fleet's addresses come from, e.g. `10.213.42.0/24`; the root namespace is `.1`. */
  subnet: string;
  hub: string;
  hosts: Map<string, Host>;
  /** Shapes both directions of each host's link: its own end (what it sends) and the hub's end (what it receives). */
  shape(names: string[], tbf: Tbf): void;
  /** Removes every qdisc `shape` added. */
  unshape(): void;
  /** Bytes the tbf on a host's own end has sent (0 when unshaped). */
  readShapedBytes(name: string): number;
}

/** Runs `ip` or `tc` with `args`; throws with the command and its stderr on failure. */
function run(command: "ip" | "tc", args: string[]): string {
  const result = spawnSync(command, args, { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")}: ${(result.stderr || result.error?.message || "failed").trim()}`);
  return result.stdout;
}

/**
 * Whether this process may create network namespaces (root with CAP_NET_ADMIN): tries
 * `ip netns add` once, synchronously, and removes the probe. Answers the reason when not.
 */
export function probeNetns(): { ok: true } | { ok: false; reason: string } {
  const probe = `ffprobe-${process.pid}`;
  try {
    execFileSync("ip", ["netns", "add", probe], { stdio: "pipe" });
  } catch (error) {
    const stderr = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    return { ok: false, reason: stderr || (error as Error).message };
  }
  spawnSync("ip", ["netns", "del", probe]);
  return { ok: true };
}

/** A third octet for 10.213.X.0/24 that no route of the root namespace uses yet, starting from one derived from the pid. */
function pickSubnet(): number {
  const routes = run("ip", ["-4", "route", "show", "table", "all"]);
  for (let step = 0; step < 254; step += 1) {
    const octet = 1 + ((process.pid + step) % 254);
    if (!routes.includes(`10.213.${octet}.`)) return octet;
  }
  throw new Error("no free /24 in 10.213.0.0/16");
}

/**
 * Creates one namespace per name (addresses .10, .11, ... in order), each joined by a veth
 * pair to a bridge in a hub namespace, and a pair from the hub to the root namespace
 * (address .1) so this process reaches every host. Names carry the pid, so parallel or
 * leftover runs never collide. The hosts have no default route: nothing leaves the subnet.
 */
export function createFleet(names: string[]): Fleet {
  const tag = `f${process.pid}`;
  const octet = pickSubnet();
  const hub = `${tag}-hub`;
  const bridge = `${tag}-br`;
  const rootSide = `${tag}-r`;
  const namespaces: string[] = [];
  const shaped: { ns: string; dev: string }[] = [];
  const hosts = new Map<string, Host>();

  const addNamespace = (ns: string) => {
    run("ip", ["netns", "add", ns]);
    namespaces.push(ns);
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  };
  const destroy = () => {
    const failures: string[] = [];
    for (const ns of namespaces.splice(0).reverse()) {
      const result = spawnSync("ip", ["netns", "del", ns], { encoding: "utf8" });
      if (result.status !== 0) failures.push(`ip netns del ${ns}: ${result.stderr.trim()}`);
    }
    // The root end goes with its peer in the hub; delete it in case the hub was never made.
    if (run("ip", ["-o", "link", "show"]).includes(` ${rootSide}@`)) spawnSync("ip", ["link", "del", rootSide]);
    if (failures.length > 0) throw new Error(failures.join("\n"));
  };

  try {
    addNamespace(hub);
    run("ip", ["-n", hub, "link", "add", bridge, "type", "bridge"]);
    run("ip", ["-n", hub, "link", "set", bridge, "up"]);
    run("ip", ["link", "add", rootSide, "type", "veth", "peer", "name", `${tag}-rh`, "netns", hub]);
    run("ip", ["addr", "add", `10.213.${octet}.1/24`, "dev", rootSide]);
    run("ip", ["link", "set", rootSide, "up"]);
    run("ip", ["-n", hub, "link", "set", `${tag}-rh`, "master", bridge, "up"]);
    names.forEach((name, index) => {
      const host: Host = { name, ns: `${tag}-${name}`, address: `10.213.${octet}.${10 + index}`, inside: `${tag}-a${index}`, hubSide: `${tag}-a${index}h` };
      addNamespace(host.ns);
      run("ip", ["-n", host.ns, "link", "add", host.inside, "type", "veth", "peer", "name", host.hubSide, "netns", hub]);
      run("ip", ["-n", host.ns, "addr", "add", `${host.address}/24`, "dev", host.inside]);
      run("ip", ["-n", host.ns, "link", "set", host.inside, "up"]);
      run("ip", ["-n", hub, "link", "set", host.hubSide, "master", bridge, "up"]);
      hosts.set(name, host);
    });
  } catch (error) {
    destroy();
    throw error;
  }

  const find = (name: string) => {
    const host = hosts.get(name);
    if (!host) throw new Error(`no host ${name} in this fleet (have ${[...hosts.keys()].join(", ")})`);
    return host;
  };
  return {
    subnet: `10.213.${octet}.0/24`,
    hub,
    hosts,
    shape(shapedNames, tbf) {
      for (const host of shapedNames.map(find))
        for (const end of [{ ns: host.ns, dev: host.inside }, { ns: hub, dev: host.hubSide }]) {
          run("tc", ["-n", end.ns, "qdisc", "add", "dev", end.dev, "root", "tbf", "rate", tbf.rate, "burst", tbf.burst, "latency", tbf.latency]);
          shaped.push(end);
        }
    },
    unshape() {
      for (const end of shaped.splice(0)) run("tc", ["-n", end.ns, "qdisc", "del", "dev", end.dev, "root"]);
    },
    readShapedBytes(name) {
      const host = find(name);
      const qdiscs = JSON.parse(run("tc", ["-n", host.ns, "-s", "-j", "qdisc", "show", "dev", host.inside])) as { kind: string; bytes?: number }[];
      return qdiscs.find((qdisc) => qdisc.kind === "tbf")?.bytes ?? 0;
    },
    async [Symbol.asyncDispose]() {
      destroy();
    },
  };
}
