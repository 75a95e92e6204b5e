// Bringing the node's pod network in line with its spec.podCIDR: the CNI conflist and the
// bridge's gateway address. A node that joins again with another pod CIDR finds the old
// config and, on its bridge, the old gateway address (with which CNI's bridge plugin refuses to
// set up any new pod). Both are switched to the new range, but only once no running pod holds
// an address of the old one: until then nothing changes and the caller is told who blocks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeletRuntime } from '../runtime/types.js';
import { ipBridgeOps, type BridgeOps } from './bridge-address.js';
import { cidrContains, CNI_CONFLIST_NAME, gatewayOf, parseIPv4Cidr, writeCniConfig } from './cni-config.js';

export interface PodNetworkOptions {
  podCIDR: string;
  bridge: string;
  cniConfDir: string;
  runtime: KubeletRuntime;
  ops?: BridgeOps;
}

export type PodNetworkResult =
  /** Config and bridge agree with podCIDR (written says whether the config file changed). */
  | { state: 'ok'; written: boolean; previous?: string[]; bridgeFixed: string[] }
  /** Another range is in use and pods of it still run: nothing was changed. */
  | { state: 'blocked'; previous: string[]; pods: string[] };

/** The subnet of the conflist in confDir (the bridge plugin's first IPAM range), if any. */
export function writtenSubnet(confDir: string): string | undefined {
  try {
    const conf = JSON.parse(readFileSync(join(confDir, CNI_CONFLIST_NAME), 'utf8'));
    const bridge = (conf.plugins ?? []).find((p: { type?: string }) => p.type === 'bridge');
    const subnet: unknown = bridge?.ipam?.ranges?.[0]?.[0]?.subnet;
    return typeof subnet === 'string' ? subnet : undefined;
  } catch {
    return undefined;
  }
}

function normalize(cidr: string): string {
  const { network, prefix } = parseIPv4Cidr(cidr);
  return `${network}/${prefix}`;
}

/** "10.42.1.1/24" -> "10.42.1.0/24"; undefined for what is not an IPv4 CIDR. */
function networkOf(addr: string): string | undefined {
  try {
    return normalize(addr);
  } catch {
    return undefined;
  }
}

/** Running sandboxes with an address in one of ranges but not in keep: "namespace/name (ip)". */
async function podsInRanges(runtime: KubeletRuntime, ranges: string[], keep: string): Promise<string[]> {
  const out: string[] = [];
  for (const sb of await runtime.listPodSandboxes({ state: 'SANDBOX_READY' })) {
    const ip = (await runtime.podSandboxStatus(sb.id))?.network?.ip;
    if (!ip || !/^\d+\.\d+\.\d+\.\d+$/.test(ip) || cidrContains(keep, ip)) continue;
    if (ranges.some((r) => cidrContains(r, ip))) out.push(`${sb.metadata.namespace}/${sb.metadata.name} (${ip})`);
  }
  return out;
}

export async function reconcilePodNetwork(o: PodNetworkOptions): Promise<PodNetworkResult> {
  const ops = o.ops ?? ipBridgeOps;
  const want = normalize(o.podCIDR);
  const gateway = `${gatewayOf(want)}/${parseIPv4Cidr(want).prefix}`;
  const subnet = writtenSubnet(o.cniConfDir);
  const onBridge = (await ops.addresses(o.bridge)) ?? [];
  const staleAddrs = onBridge.filter((a) => a !== gateway);
  const previous = [...new Set([...(subnet && networkOf(subnet) !== want ? [subnet] : []), ...staleAddrs.map(networkOf).filter((n): n is string => !!n)])].filter((r) => r !== want);
  if (previous.length) {
    const pods = await podsInRanges(o.runtime, previous, want);
    if (pods.length) return { state: 'blocked', previous, pods };
  }
  const written = writeCniConfig(o.cniConfDir, { podCIDR: o.podCIDR, bridge: o.bridge });
  const bridgeFixed: string[] = [];
  for (const a of staleAddrs) {
    await ops.del(o.bridge, a);
    bridgeFixed.push(a);
  }
  // The plugin would add the gateway with the next pod; adding it now keeps the host's route right meanwhile.
  if (bridgeFixed.length) await ops.add(o.bridge, gateway);
  return { state: 'ok', written, previous: previous.length ? previous : undefined, bridgeFixed };
}
