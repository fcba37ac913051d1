// An emulated fleet on one machine: each local agent in its own network namespace, joined by a veth pair to a bridge, its link's rate enforced by the kernel's tbf.
import { FleetError } from "../agent/errors";
import { parseRate } from "../agent/impair/rate";

/** One agent's place in the fleet: its namespace, the host end of its veth pair, its address. */
interface Member {
  namespace: string;
  hostInterface: string;
  address: string;
}

/** Time a tbf queue may hold a packet before dropping it (ms): tc-tbf(8)'s `latency`. */
const TBF_LATENCY_MS = 100;

/**
 * tbf's bucket for `bitsPerSecond`: 10 ms of the rate, at least 16 KiB, so that a timer
 * tick's worth of bytes always fits (tc-tbf(8): burst must exceed rate / HZ).
 */
function toBurstBytes(bitsPerSecond: number): number {
  return Math.max(16 * 1024, Math.ceil(bitsPerSecond / 8 / 100));
}

/** Runs `ip`/`tc` with `args`; answers stdout. @throws FleetError NETNS_FAILED naming the command and its error output. */
function run(args: string[]): string {
  const result = Bun.spawnSync(args, { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  if (result.exitCode !== 0) throw new FleetError("NETNS_FAILED", `${args.join(" ")}: ${result.stderr.toString().trim() || `exit ${result.exitCode}`}`, 500);
  return result.stdout.toString();
}

/**
 * A fleet of network namespaces, one per agent name, on a private /24 (10.77.K.0/24, K from
 * this process's id): the bridge holds .1 in the root namespace (where the controller talks
 * to the agents), agents get .2 upwards on `eth0` with no default route, so no packet of
 * theirs can leave the machine. Every name carries this process's tag, so concurrent runs
 * never collide. `destroy()` removes all of it (also called on exit and on Ctrl-C by the
 * controller).
 */
export class NetnsFleet {
  private readonly members = new Map<string, Member>();
  private destroyed = false;

  private constructor(
    private readonly tag: string,
    private readonly bridge: string,
  ) {}

  /**
   * Creates the bridge and one namespace with a veth pair per name.
   * @throws FleetError NETNS_NEEDS_ROOT when not root, NETNS_UNAVAILABLE when `ip` or `tc` (Debian package iproute2) is missing, NETNS_FAILED when a step fails (what was made is removed).
   */
  static create(names: string[]): NetnsFleet {
    if (process.getuid?.() !== 0) throw new FleetError("NETNS_NEEDS_ROOT", "--netns creates network namespaces, veth pairs and a bridge: run the controller as root", 403);
    for (const tool of ["ip", "tc"]) if (!Bun.which(tool)) throw new FleetError("NETNS_UNAVAILABLE", `--netns needs \`${tool}\`: install the Debian package iproute2`, 500);
    if (names.length > 250) throw new FleetError("NETNS_FAILED", `--netns: ${names.length} agents, at most 250 fit one /24`, 422);
    const tag = (process.pid % 46656).toString(36);
    const fleet = new NetnsFleet(tag, `ff${tag}br`);
    const subnet = `10.77.${process.pid % 250}`;
    try {
      run(["ip", "link", "add", fleet.bridge, "type", "bridge"]);
      run(["ip", "addr", "add", `${subnet}.1/24`, "dev", fleet.bridge]);
      run(["ip", "link", "set", fleet.bridge, "up"]);
      names.forEach((name, index) => {
        const member = { namespace: `ff-${tag}-${index}`, hostInterface: `ff${tag}h${index}`, address: `${subnet}.${index + 2}` };
        const peer = `ff${tag}p${index}`;
        run(["ip", "netns", "add", member.namespace]);
        fleet.members.set(name, member);
        run(["ip", "link", "add", member.hostInterface, "type", "veth", "peer", "name", peer]);
        run(["ip", "link", "set", member.hostInterface, "master", fleet.bridge, "up"]);
        run(["ip", "link", "set", peer, "netns", member.namespace]);
        const inside = ["ip", "netns", "exec", member.namespace];
        run([...inside, "ip", "link", "set", peer, "name", "eth0"]);
        run([...inside, "ip", "addr", "add", `${member.address}/24`, "dev", "eth0"]);
        run([...inside, "ip", "link", "set", "eth0", "up"]);
        run([...inside, "ip", "link", "set", "lo", "up"]);
      });
    } catch (error) {
      fleet.destroy();
      throw error;
    }
    return fleet;
  }

  /** The address agent `name` listens on (on its namespace's eth0). */
  addressOf(name: string): string {
    return this.member(name).address;
  }

  /** `command` run inside agent `name`'s namespace. */
  wrap(name: string, command: string[]): string[] {
    return ["ip", "netns", "exec", this.member(name).namespace, ...command];
  }

  /**
   * Sets agent `name`'s link to `rate` (`100Mbit`) both ways with tbf: on its eth0 (what it
   * sends) and on the bridge's end of its pair (what it receives); undefined removes the cap.
   */
  shape(name: string, rate: string | undefined): void {
    const member = this.member(name);
    const inside = ["ip", "netns", "exec", member.namespace];
    for (const [prefix, device] of [[inside, "eth0"], [[], member.hostInterface]] as const) {
      if (rate === undefined) {
        Bun.spawnSync([...prefix, "tc", "qdisc", "del", "dev", device, "root"], { stdout: "ignore", stderr: "ignore" });
        continue;
      }
      const bitsPerSecond = parseRate(rate, "medium rate");
      run([...prefix, "tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate", `${bitsPerSecond}bit`, "burst", String(toBurstBytes(bitsPerSecond)), "latency", `${TBF_LATENCY_MS}ms`]);
    }
  }

  /** Namespaces and interfaces of this fleet that exist now (for checks that nothing is left). */
  static leftovers(tag: string): string[] {
    const namespaces = run(["ip", "netns", "list"]).split("\n").map((line) => line.split(" ")[0]!).filter((name) => name.startsWith(`ff-${tag}-`));
    const links = run(["ip", "-o", "link", "show"]).split("\n").map((line) => line.split(": ")[1]?.split("@")[0] ?? "").filter((name) => name.startsWith(`ff${tag}`));
    return [...namespaces, ...links];
  }

  /** This fleet's tag: every namespace is `ff-TAG-N`, every interface starts `ffTAG`. */
  get id(): string {
    return this.tag;
  }

  /** Removes every namespace (their veth pairs go with them) and the bridge; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const member of this.members.values()) {
      Bun.spawnSync(["ip", "netns", "delete", member.namespace], { stdout: "ignore", stderr: "ignore" });
      Bun.spawnSync(["ip", "link", "delete", member.hostInterface], { stdout: "ignore", stderr: "ignore" });
    }
    Bun.spawnSync(["ip", "link", "delete", this.bridge], { stdout: "ignore", stderr: "ignore" });
  }

  private member(name: string): Member {
    const member = this.members.get(name);
    if (!member) throw new FleetError("NETNS_FAILED", `no namespace for agent ${name}`, 500);
    return member;
  }
}
