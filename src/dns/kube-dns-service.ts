// The kube-system/kube-dns Service that fronts cluster DNS, as kubeadm and k3s create it for
// CoreDNS: the 10th address of the service range, ports 53/UDP, 53/TCP and 9153/TCP (metrics).
import type { KObject } from '../api/types.js';
import { isAlreadyExists, isNotFound, type Client } from '../client/index.js';
import { ipToString, parseCidr } from '../apiserver/service-allocator.js';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_NAME = 'kube-dns';
export const KUBE_DNS_LABELS: Record<string, string> = {
  'k8s-app': 'kube-dns',
  'kubernetes.io/cluster-service': 'true',
  'kubernetes.io/name': 'CoreDNS',
};

/** The cluster DNS address for a service range: its 10th address (10.96.0.10 for 10.96.0.0/12). */
export function kubeDnsServiceIP(serviceCidr = '10.96.0.0/12'): string {
  return ipToString(parseCidr(serviceCidr).base + 10);
}

export function kubeDnsService(clusterIP: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: KUBE_DNS_NAME,
      namespace: KUBE_DNS_NAMESPACE,
      labels: { ...KUBE_DNS_LABELS },
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      selector: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: 9153 },
      ],
    },
  };
}

/**
 * Creates kube-system/kube-dns if it is missing (creating the kube-system namespace first when
 * needed) and returns the service. An existing service is left as it is, even with another IP:
 * a cluster IP cannot be changed in place, and pods already point at the old one.
 */
export async function ensureKubeDnsService(client: Client, clusterIP: string): Promise<KObject> {
  try {
    return await client.services.get(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  try {
    await client.namespaces.create(null, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: KUBE_DNS_NAMESPACE } });
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
  try {
    return await client.services.create(KUBE_DNS_NAMESPACE, kubeDnsService(clusterIP));
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    return client.services.get(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME);
  }
}
