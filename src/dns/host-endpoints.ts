// When cluster DNS runs in the server process (not in a pod), pods reach it on their node's bridge
// gateway — the first address of the node's pod CIDR, which is the host. This publishes that
// address as the kube-dns Service's endpoints, so the proxy sends 10.96.0.10:53 there.
import type { Client, KObject } from '../client/index.js';

const SLICE_NAME = 'kube-dns-host';
const MANAGED_BY = 'skiff-server';

/** First usable address of an IPv4 CIDR ("10.42.0.0/24" → "10.42.0.1"). */
export function gatewayOf(cidr: string): string {
  const [ip] = cidr.split('/');
  const p = ip.split('.').map(Number);
  const n = ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3] + 1;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Waits until node has a pod CIDR, then creates or updates the EndpointSlice that points kube-dns
 * at the node's gateway. Resolves with the address, or undefined when stopped first.
 */
export async function publishHostDnsEndpoints(client: Client, nodeName: string, signal: AbortSignal, port = 53): Promise<string | undefined> {
  let cidr: string | undefined;
  while (!signal.aborted && !cidr) {
    try {
      cidr = (await client.nodes.get(undefined, nodeName)).spec?.podCIDR;
    } catch {
      /* node not registered yet */
    }
    if (!cidr) await new Promise((r) => setTimeout(r, 500));
  }
  if (!cidr) return undefined;
  const address = gatewayOf(cidr);
  const slice: KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: SLICE_NAME,
      namespace: 'kube-system',
      labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': MANAGED_BY },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [address], conditions: { ready: true, serving: true, terminating: false }, nodeName }],
    ports: [
      { name: 'dns', port, protocol: 'UDP' },
      { name: 'dns-tcp', port, protocol: 'TCP' },
    ],
  };
  await client.endpointSlices.patch('kube-system', SLICE_NAME, slice, 'apply', { fieldManager: MANAGED_BY, force: true });
  return address;
}
