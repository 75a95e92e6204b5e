// The IPv4 addresses of the node's CNI bridge, read and changed with iproute2. CNI's bridge
// plugin only adds its gateway address and refuses to run when the bridge carries another
// IPv4 address, so a node whose pod CIDR changed must drop the old one itself.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface BridgeOps {
  /** The bridge's IPv4 addresses as "a.b.c.d/len"; undefined when the bridge does not exist. */
  addresses(bridge: string): Promise<string[] | undefined>;
  del(bridge: string, cidr: string): Promise<void>;
  add(bridge: string, cidr: string): Promise<void>;
}

interface IpAddrJson {
  addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
}

export const ipBridgeOps: BridgeOps = {
  async addresses(bridge) {
    let out: string;
    try {
      out = (await run('ip', ['-j', '-4', 'addr', 'show', 'dev', bridge])).stdout;
    } catch (e) {
      // iproute2 says `Device "x" does not exist.` on stderr and exits 1.
      if (/does not exist/.test(String((e as { stderr?: string }).stderr ?? ''))) return undefined;
      throw e;
    }
    const links = JSON.parse(out || '[]') as IpAddrJson[];
    return links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.local).map((a) => `${a.local}/${a.prefixlen}`));
  },
  async del(bridge, cidr) {
    await run('ip', ['-4', 'addr', 'del', cidr, 'dev', bridge]);
  },
  async add(bridge, cidr) {
    await run('ip', ['-4', 'addr', 'replace', cidr, 'dev', bridge]);
  },
};
