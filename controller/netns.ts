// An emulated fleet on one machine: each agent in its own network namespace, joined by a veth pair to a bridge in a hub namespace, its link's rate enforced by the kernel's tbf.
import { FleetError } from "../agent/errors";
import { parseRate } from "../agent/impair/rate";

/** One agent's place in the fleet: its namespace, its address, and the two ends of its veth pair. */
export interface NetnsHost {
  name: string;
  /** The host's namespace (`ip netns exec NS ...`). */
  ns: string;
  address: string;
  /** The host's end of its link, inside `ns`. */
  inside: string;
  /** The other end of its link, a port of the bridge inside the hub namespace. */
  hubSide: string;
}

/**
 * tbf's queue bound (tc-tbf(8) `latency`) and bucket: 5 ms of the rate, at least 64 KiB. A
 * bucket of a few frames loses tokens whenever the qdisc's timer fires late on a busy 2-core
 * box (measured: 180-184 Mbit/s through two 100 Mbit/s links with 4 KB, the expected 191
 * with 64 KB); a bigger one lets bursts past the rate.
 */
const TBF_LATENCY = "50ms";
function toBurstBytes(bitsPerSecond: number): number {
  return Math.max(64 * 1024, Math.ceil((bitsPerSecond / 8) * 0.005));
}

/** Runs `ip` or `tc` with `args`; answers stdout. @throws FleetError NETNS_FAILED naming the command and its error output. */
function run(command: "ip" | "tc", args: string[]): string {
  const result = Bun.spawnSync([command, ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (result.exitCode !== 0) throw new FleetError("NETNS_FAILED", `${command} ${args.join(" ")}: ${result.stderr.toString().trim() || `exit ${result.exitCode}`}`, 500);
  return result.stdout.toString();
}

/** A third octet for 10.213.X.0/24 that no route of the root namespace uses yet, starting from one derived from the pid. */
function pickSubnet(): number {
  const routes = run("ip", ["-4", "route", "show", "table", "all"]);
  for (let step = 0; step < 254; step += 1) {
    const octet = 1 + ((process.pid + step) % 254);
    if (!routes.includes(`10.213.${octet}.`)) return octet;
  }
  throw new FleetError("NETNS_FAILED", "no free /24 in 10.213.0.0/16", 500);
}

/**
 * A fleet of network namespaces, one per agent name, on a private 10.213.X.0/24 that no
 * route uses: each joined by a veth pair to a bridge in a hub namespace, and one more pair
 * from the hub to the root namespace (address .1), where the controller reaches every host
 * (.10, .11, ... in order). No namespace has a default route, so nothing leaves the
 * subnet. Names carry the pid, so parallel or leftover runs never collide. `destroy()`
 * removes it all (the controller also calls it on Ctrl-C and on exit).
 */
export class NetnsFleet implements AsyncDisposable {
  readonly hosts = new Map<string, NetnsHost>();
  private readonly namespaces: string[] = [];
  private readonly tag = `f${process.pid}`;
  private readonly hub = `${this.tag}-hub`;
  private readonly rootSide = `${this.tag}-r`;
  /** The /24 the addresses come from, e.g. `10.213.42.0/24`. */
  readonly subnet: string;

  private constructor(octet: number) {
    this.subnet = `10.213.${octet}.0/24`;
  }

  /**
   * Whether this process may create network namespaces (root with CAP_NET_ADMIN): tries
   * `ip netns add` once and removes the probe; answers the reason when not.
   */
  static probe(): { ok: true } | { ok: false; reason: string } {
    if (!Bun.which("ip") || !Bun.which("tc")) return { ok: false, reason: "ip or tc not found: install the Debian package iproute2" };
    const name = `ffprobe-${process.pid}`;
    const result = Bun.spawnSync(["ip", "netns", "add", name], { stdout: "ignore", stderr: "pipe" });
    if (result.exitCode !== 0) return { ok: false, reason: result.stderr.toString().trim() || `ip netns add: exit ${result.exitCode}` };
    Bun.spawnSync(["ip", "netns", "del", name]);
    return { ok: true };
  }

  /**
   * Creates the hub, the root link and one namespace per name.
   * @throws FleetError NETNS_NEEDS_ROOT (403) when not root, NETNS_UNAVAILABLE (500) when iproute2 is missing, NETNS_FAILED (500) when a step fails (what was made is removed).
   */
  static create(names: string[]): NetnsFleet {
    if (process.getuid?.() !== 0) throw new FleetError("NETNS_NEEDS_ROOT", "--netns creates network namespaces, veth pairs and a bridge: run the controller as root", 403);
    if (!Bun.which("ip") || !Bun.which("tc")) throw new FleetError("NETNS_UNAVAILABLE", "--netns needs ip and tc: install the Debian package iproute2", 500);
    if (names.length > 200) throw new FleetError("NETNS_FAILED", `--netns: ${names.length} agents, at most 200 fit the /24`, 422);
    const fleet = new NetnsFleet(pickSubnet());
    const prefix = fleet.subnet.slice(0, -"0/24".length);
    const { tag, hub, rootSide } = fleet;
    const bridge = `${tag}-br`;
    try {
      fleet.addNamespace(hub);
      run("ip", ["-n", hub, "link", "add", bridge, "type", "bridge"]);
      run("ip", ["-n", hub, "link", "set", bridge, "up"]);
      run("ip", ["link", "add", rootSide, "type", "veth", "peer", "name", `${tag}-rh`, "netns", hub]);
      run("ip", ["addr", "add", `${prefix}1/24`, "dev", rootSide]);
      run("ip", ["link", "set", rootSide, "up"]);
      run("ip", ["-n", hub, "link", "set", `${tag}-rh`, "master", bridge, "up"]);
      names.forEach((name, index) => {
        const host: NetnsHost = { name, ns: `${tag}-${index}`, address: `${prefix}${10 + index}`, inside: `${tag}-a${index}`, hubSide: `${tag}-a${index}h` };
        fleet.addNamespace(host.ns);
        run("ip", ["-n", host.ns, "link", "add", host.inside, "type", "veth", "peer", "name", host.hubSide, "netns", hub]);
        run("ip", ["-n", host.ns, "addr", "add", `${host.address}/24`, "dev", host.inside]);
        run("ip", ["-n", host.ns, "link", "set", host.inside, "up"]);
        run("ip", ["-n", hub, "link", "set", host.hubSide, "master", bridge, "up"]);
        fleet.hosts.set(name, host);
      });
    } catch (error) {
      fleet.destroy();
      throw error;
    }
    return fleet;
  }

  /** The address agent `name` listens on. */
  addressOf(name: string): string {
    return this.find(name).address;
  }

  /** `command` run inside agent `name`'s namespace. */
  wrap(name: string, command: string[]): string[] {
    return ["ip", "netns", "exec", this.find(name).ns, ...command];
  }

  /**
   * Sets agent `name`'s link to `rate` (`100Mbit`) both ways with tbf: its own end (what it
   * sends) and the hub's end (what it receives); undefined removes the cap.
   */
  shape(name: string, rate: string | undefined): void {
    const host = this.find(name);
    for (const [ns, dev] of [[host.ns, host.inside], [this.hub, host.hubSide]] as const) {
      if (rate === undefined) {
        Bun.spawnSync(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], { stdout: "ignore", stderr: "ignore" });
        continue;
      }
      const bitsPerSecond = parseRate(rate, "medium rate");
      run("tc", ["-n", ns, "qdisc", "replace", "dev", dev, "root", "tbf", "rate", `${bitsPerSecond}bit`, "burst", String(toBurstBytes(bitsPerSecond)), "latency", TBF_LATENCY]);
    }
  }

  /**
   * The tbf on agent `name`'s own end (what it sends): bytes it has sent and its overlimits,
   * the times it held a packet back for the rate (tc-tbf(8)); zeros when unshaped.
   */
  readShaper(name: string): { bytes: number; overlimits: number } {
    const host = this.find(name);
    const qdiscs = JSON.parse(run("tc", ["-n", host.ns, "-s", "-j", "qdisc", "show", "dev", host.inside])) as { kind: string; bytes?: number; overlimits?: number }[];
    const tbf = qdiscs.find((qdisc) => qdisc.kind === "tbf");
    return { bytes: tbf?.bytes ?? 0, overlimits: tbf?.overlimits ?? 0 };
  }

  /** Namespaces and root-namespace interfaces of this fleet that exist now (empty once destroyed). */
  leftovers(): string[] {
    const namespaces = run("ip", ["netns", "list"]).split("\n").map((line) => line.split(" ")[0]!).filter((name) => name.startsWith(`${this.tag}-`));
    const links = run("ip", ["-o", "link", "show"]).split("\n").map((line) => line.split(": ")[1]?.split("@")[0] ?? "").filter((name) => name.startsWith(`${this.tag}-`));
    return [...namespaces, ...links];
  }

  /** Removes every namespace (their veth pairs go with them) and the root link; safe to call twice. */
  destroy(): void {
    for (const ns of this.namespaces.splice(0).reverse()) Bun.spawnSync(["ip", "netns", "del", ns], { stdout: "ignore", stderr: "ignore" });
    // The root end goes with its peer in the hub; delete it in case the hub was never made.
    Bun.spawnSync(["ip", "link", "del", this.rootSide], { stdout: "ignore", stderr: "ignore" });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.destroy();
  }

  private addNamespace(ns: string): void {
    run("ip", ["netns", "add", ns]);
    this.namespaces.push(ns);
    run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }

  private find(name: string): NetnsHost {
    const host = this.hosts.get(name);
    if (!host) throw new FleetError("NETNS_FAILED", `no namespace for agent ${name} (have ${[...this.hosts.keys()].join(", ")})`, 500);
    return host;
  }
}
