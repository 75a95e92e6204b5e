// The kubelet's serving certificate, signed by the cluster's server CA so the API server can
// verify it: names the node and loopback (the API server reaches a local kubelet over
// 127.0.0.1) and the node's addresses.
import { issueServingCert, type ServerPki } from '../../pki/index.js';

export function kubeletServingCert(pki: ServerPki, nodeName: string, ips: string[]): Promise<{ certPem: string; keyPem: string }> {
  const names = [...new Set([nodeName, 'localhost'])];
  const addrs = [...new Set(['127.0.0.1', '::1', ...ips])];
  return issueServingCert(pki, `${nodeName}@kubelet`, { dnsNames: names, ips: addrs });
}
