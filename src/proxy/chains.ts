// Chain names. Fixed top-level chains hang off the built-in chains through jump rules; every
// service port and endpoint gets its own chain, named by a hash like upstream's (base32 of
// sha256 over the service port name and protocol, 16 characters) so names stay under
// iptables' 28-character limit and are stable across restarts.
import { createHash } from 'node:crypto';

export const CHAIN_PREFIX = 'SKIFF-';

// nat table
export const SERVICES_CHAIN = 'SKIFF-SERVICES';
export const NODEPORTS_CHAIN = 'SKIFF-NODEPORTS';
export const POSTROUTING_CHAIN = 'SKIFF-POSTROUTING';
export const MARK_MASQ_CHAIN = 'SKIFF-MARK-MASQ';
// filter table (SKIFF-SERVICES exists there too, holding REJECTs for cluster IPs without endpoints)
export const EXTERNAL_SERVICES_CHAIN = 'SKIFF-EXTERNAL-SERVICES';
export const FORWARD_CHAIN = 'SKIFF-FORWARD';
export const FIREWALL_CHAIN = 'SKIFF-FIREWALL';

export const NAT_TOP_CHAINS = [SERVICES_CHAIN, NODEPORTS_CHAIN, POSTROUTING_CHAIN, MARK_MASQ_CHAIN] as const;
export const FILTER_TOP_CHAINS = [SERVICES_CHAIN, EXTERNAL_SERVICES_CHAIN, FORWARD_CHAIN, FIREWALL_CHAIN] as const;

/** Per service port: endpoints for Cluster traffic policy. */
export const SVC_PREFIX = 'SKIFF-SVC-';
/** Per service port: local endpoints only (Local internal or external traffic policy). */
export const XLB_PREFIX = 'SKIFF-XLB-';
/** Per service port: entry for external traffic (NodePort, external IPs, load balancer IPs). */
export const EXT_PREFIX = 'SKIFF-EXT-';
/** Per service port: loadBalancerSourceRanges filtering. */
export const FW_PREFIX = 'SKIFF-FW-';
/** Per endpoint of a service port: masquerade hairpin traffic and DNAT. */
export const SEP_PREFIX = 'SKIFF-SEP-';

const SERVICE_CHAIN_PREFIXES = [SVC_PREFIX, XLB_PREFIX, EXT_PREFIX, FW_PREFIX, SEP_PREFIX];

/** True for the per-service chains that syncs create and delete. */
export function isServiceChain(name: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => name.startsWith(p));
}

/** True for every chain the proxy owns (what cleanup removes). */
export function isProxyChain(name: string): boolean {
  return isServiceChain(name) || (NAT_TOP_CHAINS as readonly string[]).includes(name) || (FILTER_TOP_CHAINS as readonly string[]).includes(name);
}

function hash16(s: string): string {
  // base32 (RFC 4648 alphabet, as Go's StdEncoding) of the digest, first 16 characters = 80 bits.
  const digest = createHash('sha256').update(s).digest();
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (let i = 0; i < digest.length && out.length < 16; i++) {
    value = (value << 8) | digest[i];
    bits += 8;
    while (bits >= 5 && out.length < 16) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

/** The hash part shared by a service port's SVC/XLB/EXT/FW chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

export function endpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return SEP_PREFIX + hash16(servicePortName + protocol + endpoint);
}
