// The node's CNI network config: once the node has a pod CIDR, a conflist in skiff's CNI conf
// dir (which skiff's containerd reads) chains bridge (with host-local IPAM over the pod CIDR,
// the bridge as gateway, masquerade, hairpin), portmap (hostPorts) and loopback.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CNI_CONFLIST_NAME = '10-skiff.conflist';
export const DEFAULT_BRIDGE = 'skiff0';
export const CNI_NETWORK_NAME = 'skiff';

export interface CniConfigOptions {
  podCIDR: string;
  bridge?: string;
  /** MTU of the bridge and veths (default: the plugin's). */
  mtu?: number;
}

/** "10.42.0.0/24" -> { network: "10.42.0.0", prefix: 24 }; throws on anything but an IPv4 CIDR. */
export function parseIPv4Cidr(cidr: string): { network: string; prefix: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr.trim());
  if (!m) throw new Error(`invalid IPv4 CIDR "${cidr}"`);
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 30) throw new Error(`invalid IPv4 pod CIDR "${cidr}"`);
  const ip = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return { network: intToIPv4((ip & mask) >>> 0), prefix };
}

export function intToIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => ((acc << 8) | Number(o)) >>> 0, 0);
}

/** The first host address of the CIDR (the bridge's address and the pods' gateway). */
export function gatewayOf(cidr: string): string {
  const { network } = parseIPv4Cidr(cidr);
  return intToIPv4(ipv4ToInt(network) + 1);
}

/** True when ip lies inside cidr. */
export function cidrContains(cidr: string, ip: string): boolean {
  const { network, prefix } = parseIPv4Cidr(cidr);
  const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
  return ((ipv4ToInt(ip) & mask) >>> 0) === ipv4ToInt(network);
}

export function buildConflist(o: CniConfigOptions): Record<string, unknown> {
  const { network, prefix } = parseIPv4Cidr(o.podCIDR);
  const bridge: Record<string, unknown> = {
    type: 'bridge',
    bridge: o.bridge ?? DEFAULT_BRIDGE,
    isGateway: true,
    ipMasq: true,
    hairpinMode: true,
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: `${network}/${prefix}`, gateway: gatewayOf(o.podCIDR) }]],
      routes: [{ dst: '0.0.0.0/0' }],
    },
  };
  if (o.mtu) bridge.mtu = o.mtu;
  return {
    cniVersion: '1.0.0',
    name: CNI_NETWORK_NAME,
    plugins: [bridge, { type: 'portmap', capabilities: { portMappings: true } }, { type: 'loopback' }],
  };
}

/** Writes the conflist atomically (rename), only when it changed; returns true when written. */
export function writeCniConfig(confDir: string, o: CniConfigOptions): boolean {
  mkdirSync(confDir, { recursive: true });
  const path = join(confDir, CNI_CONFLIST_NAME);
  const text = JSON.stringify(buildConflist(o), null, 2) + '\n';
  try {
    if (readFileSync(path, 'utf8') === text) return false;
  } catch {
    // not there yet
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, path);
  return true;
}
