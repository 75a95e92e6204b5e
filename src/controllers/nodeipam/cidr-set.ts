// A set of equal-sized IPv4 subnets carved out of a cluster CIDR (upstream
// pkg/controller/nodeipam/ipam/cidrset): a bitmap of which /mask blocks are taken, handed out
// round-robin from where the last allocation ended.

function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses "a.b.c.d/len" into its (masked) base address and prefix length. */
export function parseCIDR(cidr: string): { base: number; prefix: number } | undefined {
  const [ip, len] = cidr.trim().split('/');
  const addr = parseIPv4(ip ?? '');
  const prefix = Number(len);
  if (addr === undefined || !/^\d+$/.test(len ?? '') || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (addr & mask) >>> 0, prefix };
}

export class CIDRRangeFullError extends Error {
  constructor(cidr: string) {
    super(`CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range ${cidr}`);
  }
}

export class CIDRSet {
  private readonly base: number;
  private readonly prefix: number;
  private readonly size: number;
  private readonly used: Uint8Array;
  private next = 0;
  private count = 0;

  constructor(
    readonly clusterCIDR: string,
    readonly maskSize: number,
  ) {
    const p = parseCIDR(clusterCIDR);
    if (!p) throw new Error(`invalid cluster CIDR ${JSON.stringify(clusterCIDR)} (IPv4 only)`);
    if (maskSize < p.prefix || maskSize > 32) throw new Error(`node CIDR mask size ${maskSize} does not fit cluster CIDR ${clusterCIDR}`);
    if (maskSize - p.prefix > 24) throw new Error(`node CIDR mask size ${maskSize} is too big for cluster CIDR ${clusterCIDR}`);
    this.base = p.base;
    this.prefix = p.prefix;
    this.size = 2 ** (maskSize - p.prefix);
    this.used = new Uint8Array(this.size);
  }

  get allocated(): number {
    return this.count;
  }

  get capacity(): number {
    return this.size;
  }

  private cidrAt(i: number): string {
    return `${formatIPv4((this.base + i * 2 ** (32 - this.maskSize)) >>> 0)}/${this.maskSize}`;
  }

  /** Index of cidr in this set, or undefined when it is not one of its blocks. */
  private indexOf(cidr: string): number | undefined {
    const p = parseCIDR(cidr);
    if (!p || p.prefix !== this.maskSize) return undefined;
    const off = p.base - this.base;
    const block = 2 ** (32 - this.maskSize);
    if (off < 0 || off % block !== 0) return undefined;
    const i = off / block;
    return i < this.size ? i : undefined;
  }

  /** Takes the next free block. Throws CIDRRangeFullError when none is left. */
  allocateNext(): string {
    if (this.count >= this.size) throw new CIDRRangeFullError(this.clusterCIDR);
    for (let k = 0; k < this.size; k++) {
      const i = (this.next + k) % this.size;
      if (this.used[i]) continue;
      this.used[i] = 1;
      this.count++;
      this.next = (i + 1) % this.size;
      return this.cidrAt(i);
    }
    throw new CIDRRangeFullError(this.clusterCIDR);
  }

  /** Marks cidr taken (a node already has it). False when it is not a block of this set. */
  occupy(cidr: string): boolean {
    const i = this.indexOf(cidr);
    if (i === undefined) return false;
    if (!this.used[i]) {
      this.used[i] = 1;
      this.count++;
    }
    return true;
  }

  release(cidr: string): void {
    const i = this.indexOf(cidr);
    if (i === undefined || !this.used[i]) return;
    this.used[i] = 0;
    this.count--;
  }

  isUsed(cidr: string): boolean {
    const i = this.indexOf(cidr);
    return i !== undefined && this.used[i] === 1;
  }
}
