/**
 * A second host for network tests: a network namespace joined to this one
 * by a veth pair on a /30, loopback up inside. Needs root and iproute2.
 */

export interface NetworkNamespace {
  /** The namespace's name, for `ip netns exec`. */
  name: string;
  /** This side's address on the pair. */
  hostAddress: string;
  /** The namespace's address on the pair. */
  peerAddress: string;
  remove(): void;
}

/**
 * Creates the namespace; `subnet` is the first two octets (`10.231`), and the
 * third comes from the pid so parallel runs do not collide. Returns the failing
 * step's output where it cannot be made.
 */
export function makeNetworkNamespace(label: string, subnet: string): NetworkNamespace | string {
  const id = (process.pid % 200) + 20;
  const name = `akv-${label}-${process.pid}`;
  const suffix = `${label.slice(0, 3)}${process.pid % 10000}`;
  const [hostIf, peerIf] = [`h${suffix}`, `p${suffix}`];
  const hostAddress = `${subnet}.${id}.1`;
  const peerAddress = `${subnet}.${id}.2`;
  const remove = () => {
    Bun.spawnSync(["ip", "link", "del", hostIf], { stderr: "ignore" });
    Bun.spawnSync(["ip", "netns", "del", name], { stderr: "ignore" });
  };
  const steps = [
    ["ip", "netns", "add", name],
    ["ip", "link", "add", hostIf, "type", "veth", "peer", "name", peerIf],
    ["ip", "link", "set", peerIf, "netns", name],
    ["ip", "addr", "add", `${hostAddress}/30`, "dev", hostIf],
    ["ip", "link", "set", hostIf, "up"],
    ["ip", "netns", "exec", name, "ip", "addr", "add", `${peerAddress}/30`, "dev", peerIf],
    ["ip", "netns", "exec", name, "ip", "link", "set", peerIf, "up"],
    ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"],
  ];
  for (const step of steps) {
    const result = Bun.spawnSync(step, { stdout: "pipe", stderr: "pipe" });
    if (result.exitCode !== 0) {
      remove();
      return `${step.join(" ")}: ${(result.stdout.toString() + result.stderr.toString()).trim() || `exit ${result.exitCode}`}`;
    }
  }
  return { name, hostAddress, peerAddress, remove };
}
