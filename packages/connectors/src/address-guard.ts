import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { CaretflowError } from "@caretflow/contracts";

/**
 * Which outbound addresses connectors may reach. By default only public addresses: loopback,
 * private (RFC 1918, unique-local, carrier-grade NAT), link-local and the cloud metadata address are
 * refused. A site admin may allow private networks (loopback and private ranges, not link-local) or
 * list CIDR ranges that are allowed whatever they are (e.g. "169.254.0.0/16").
 */
export interface AddressPolicy {
  allowPrivateNetworks: boolean;
  allowList?: readonly string[];
}

export const PUBLIC_ONLY: AddressPolicy = { allowPrivateNetworks: false };

const privateRanges = new BlockList();
privateRanges.addSubnet("127.0.0.0", 8, "ipv4");
privateRanges.addSubnet("10.0.0.0", 8, "ipv4");
privateRanges.addSubnet("172.16.0.0", 12, "ipv4");
privateRanges.addSubnet("192.168.0.0", 16, "ipv4");
privateRanges.addSubnet("100.64.0.0", 10, "ipv4");
privateRanges.addSubnet("0.0.0.0", 8, "ipv4");
privateRanges.addAddress("::1", "ipv6");
privateRanges.addAddress("::", "ipv6");
privateRanges.addSubnet("fc00::", 7, "ipv6");

const linkLocal = new BlockList();
linkLocal.addSubnet("169.254.0.0", 16, "ipv4");
linkLocal.addSubnet("fe80::", 10, "ipv6");

const otherReserved = new BlockList();
otherReserved.addSubnet("224.0.0.0", 4, "ipv4"); // multicast
otherReserved.addSubnet("240.0.0.0", 4, "ipv4"); // reserved, broadcast
otherReserved.addSubnet("ff00::", 8, "ipv6");

/** Why an address is refused under `policy`, or null when it may be reached. */
export function addressRefusal(address: string, policy: AddressPolicy): string | null {
  let ip = address;
  let family: "ipv4" | "ipv6" = isIP(ip) === 6 ? "ipv6" : "ipv4";
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) {
    ip = mapped[1];
    family = "ipv4";
  }
  if (policy.allowList?.some((cidr) => inCidr(ip, family, cidr))) return null;
  if (linkLocal.check(ip, family)) return ip === "169.254.169.254" ? "the cloud metadata address" : "a link-local address";
  if (otherReserved.check(ip, family)) return "a multicast or reserved address";
  if (privateRanges.check(ip, family) && !policy.allowPrivateNetworks) {
    return ip.startsWith("127.") || ip === "::1" ? "a loopback address" : "a private network address";
  }
  return null;
}

function inCidr(ip: string, family: "ipv4" | "ipv6", cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  if (!base) return false;
  const baseFamily = isIP(base) === 6 ? "ipv6" : isIP(base) === 4 ? "ipv4" : null;
  if (!baseFamily || baseFamily !== family) return false;
  const list = new BlockList();
  if (bits === undefined) list.addAddress(base, baseFamily);
  else list.addSubnet(base, Number(bits), baseFamily);
  return list.check(ip, family);
}

/**
 * Resolve `host` (every address DNS gives) and return one that the policy allows, to connect to that
 * very address (a later lookup cannot swap it: no DNS rebinding between check and connect). Any refused
 * address among the answers refuses the host, so a name cannot mix a public and an internal address.
 */
export async function checkedAddress(host: string, policy: AddressPolicy): Promise<string> {
  if (host.startsWith("/")) {
    if (policy.allowPrivateNetworks) return host;
    throw refused(host, "a local socket");
  }
  let addresses: string[];
  if (isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      throw new CaretflowError({
        code: "connection_unreachable",
        kind: "user",
        status: 400,
        message: `The host name '${host}' could not be resolved`,
        hint: "Check the host name (and that this server can resolve it).",
      });
    }
  }
  for (const address of addresses) {
    const why = addressRefusal(address, policy);
    if (why) throw refused(host === address ? host : `${host} (${address})`, why);
  }
  const first = addresses[0];
  if (!first) throw refused(host, "no address");
  return first;
}

function refused(what: string, why: string): CaretflowError {
  return new CaretflowError({
    code: "address_refused",
    kind: "user",
    status: 403,
    message: `caretflow does not connect to ${what}: it is ${why}`,
    hint: "Outbound connections to internal addresses are refused. A site admin can allow private networks (caretflow start --allow-private-networks) or list allowed ranges (--allow-network CIDR).",
  });
}
