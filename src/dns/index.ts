// Cluster DNS: the server `skiff server` runs in-process (or `skiff dns` alone), the kube-dns
// Service it sits behind, and the pod resolv.conf rules the kubelet applies.
export { startDns, type DnsOptions, type DnsServerHandle, type DnsStats } from './server.js';
export { ensureKubeDnsService, kubeDnsService, kubeDnsServiceIP, KUBE_DNS_LABELS, KUBE_DNS_NAME, KUBE_DNS_NAMESPACE } from './kube-dns-service.js';
export {
  podDnsConfig,
  resolvConf,
  formatResolvConf,
  parseResolvConf,
  clusterSearches,
  type DnsConfig,
  type PodDnsOptions,
  MAX_DNS_NAMESERVERS,
  MAX_DNS_SEARCH_PATHS,
  MAX_DNS_SEARCH_LIST_CHARS,
} from './resolv-conf.js';
export { parseUpstream, resolvConfNameservers } from './forwarder.js';
export { DNS_SCHEMA_VERSION } from './cluster-zone.js';
