// Fake addresses for hollow nodes and their pods. Nothing ever dials them: they only have to be
// well-formed, deterministic (the same index gives the same address across restarts) and unique.
//
//   node InternalIP:      172.16.0.0/12, offset index + 1      (about a million nodes)
//   pod IPs without CIDR: 10.<i >> 8>.<i & 255>.0/24 per node  (65,536 nodes, 254 pods each)
//   pod IPs with CIDR:    hosts of the node's spec.podCIDR (IPv4), set by the node IPAM controller

const NODE_BASE = ipv4ToInt('172.16.0.0');
const NODE_SPAN = 1 << 20;
const POD_BASE = ipv4ToInt('10.0.0.0');

export function ipv4ToInt(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** The InternalIP of node `index`. */
export function nodeIP(index: number): string {
  return intToIpv4(NODE_BASE + ((index + 1) % NODE_SPAN));
}

/** A range of pod addresses: `size` usable hosts starting at `first`. */
export interface PodRange {
  first: number;
  size: number;
}

/** The fallback /24 of node `index` (hosts .1 to .254). */
export function fallbackPodRange(index: number): PodRange {
  return { first: POD_BASE + ((index & 0xffff) << 8) + 1, size: 254 };
}

/** The usable hosts of an IPv4 CIDR ("10.244.3.0/24"); undefined for IPv6 or malformed values or ranges too small. */
export function cidrPodRange(cidr: string | undefined): PodRange | undefined {
  const m = cidr ? /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr) : null;
  if (!m) return undefined;
  const bits = Number(m[5]);
  if (bits > 30) return undefined;
  const base = ipv4ToInt(`${m[1]}.${m[2]}.${m[3]}.${m[4]}`);
  const hostBits = 32 - bits;
  const mask = hostBits === 32 ? 0 : (~((1 << hostBits) - 1) >>> 0);
  const network = (base & mask) >>> 0;
  // Without the network and broadcast addresses; capped so the counter arithmetic stays small.
  const size = Math.min(2 ** hostBits - 2, 1 << 24);
  return { first: network + 1, size };
}

/**
 * Picks an address from range starting at the node's counter, skipping addresses in use.
 * Returns the address and the counter to store for the next allocation.
 */
export function allocatePodIP(range: PodRange, counter: number, inUse: ReadonlySet<string>): { ip: string; next: number } {
  for (let tries = 0; tries < range.size; tries++) {
    const offset = (counter + tries) % range.size;
    const ip = intToIpv4(range.first + offset);
    if (!inUse.has(ip)) return { ip, next: (offset + 1) % range.size };
  }
  // Every address is taken (more live pods than the range holds): reuse the next one.
  return { ip: intToIpv4(range.first + (counter % range.size)), next: (counter + 1) % range.size };
}
