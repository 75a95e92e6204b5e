// A pod's resolver configuration, decided the way the kubelet does (pkg/kubelet/network/dns):
//   dnsPolicy ClusterFirst (not hostNetwork) or ClusterFirstWithHostNet: the cluster DNS servers,
//     search "<ns>.svc.<domain> svc.<domain> <domain>" followed by the host's searches, ndots:5;
//   Default (and ClusterFirst on hostNetwork): the host's resolv.conf as is;
//   None: nothing but the pod's dnsConfig.
// spec.dnsConfig is then merged in (nameservers and searches appended without duplicates,
// options by name with the pod's winning), and the result cut to resolver limits.

/** The kubelet's limits (ExpandedDNSConfig, GA since 1.28). */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
const MAX_SEARCH_DOMAIN_LEN = 253;
const DEFAULT_DNS_OPTIONS = ['ndots:5'];

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface PodDnsOptions {
  /** The kubelet's --cluster-dns addresses (the kube-dns Service IP). */
  clusterDns: string[];
  /** The kubelet's --cluster-domain, e.g. cluster.local ("" disables the cluster searches). */
  clusterDomain: string;
  /**
   * The text of the host resolv.conf the kubelet bases pods on (--resolv-conf). null stands for
   * --resolv-conf="": host-policy pods then get 127.0.0.1 (or ::1) and search ".".
   */
  hostResolvConf: string | null;
  /** Node IPs, used only when hostResolvConf is null (an IPv6 node IP gives ::1). */
  nodeIPs?: string[];
  /** Called with the kubelet's warning texts (DNSConfigForming, MissingClusterDNS). */
  warn?: (reason: string, message: string) => void;
}

interface PodLike {
  metadata?: { namespace?: string };
  spec?: {
    dnsPolicy?: string;
    hostNetwork?: boolean;
    dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: Array<{ name?: string; value?: string }> };
  };
}

/** Parses resolv.conf text: nameservers accumulate; the last search and options lines win. */
export function parseResolvConf(text: string): DnsConfig {
  const out: DnsConfig = { servers: [], searches: [], options: [] };
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('#') || t.startsWith(';')) continue;
    const f = t.split(/\s+/).filter(Boolean);
    if (f.length === 0) continue;
    if (f[0] === 'nameserver' && f.length >= 2) out.servers.push(f[1]);
    else if (f[0] === 'search') out.searches = f.slice(1).map((s) => s.replace(/\.$/, ''));
    else if (f[0] === 'options') out.options = f.slice(1);
  }
  return out;
}

/** resolv.conf text for a config, in the order the container runtimes write it. */
export function formatResolvConf(c: DnsConfig): string {
  let s = '';
  if (c.searches.length) s += `search ${c.searches.join(' ')}\n`;
  for (const ns of c.servers) s += `nameserver ${ns}\n`;
  if (c.options.length) s += `options ${c.options.join(' ')}\n`;
  return s;
}

/** The cluster searches for a namespace: "<ns>.svc.<domain> svc.<domain> <domain>". */
export function clusterSearches(namespace: string, clusterDomain: string): string[] {
  return [`${namespace}.svc.${clusterDomain}`, `svc.${clusterDomain}`, clusterDomain];
}

/** The resolv.conf of a ClusterFirst pod in namespace (no host searches). */
export function resolvConf(o: { nameserver: string | string[]; namespace: string; clusterDomain?: string; options?: string[] }): string {
  const domain = o.clusterDomain ?? 'cluster.local';
  return formatResolvConf({
    servers: Array.isArray(o.nameserver) ? o.nameserver : [o.nameserver],
    searches: domain ? clusterSearches(o.namespace, domain) : [],
    options: o.options ?? DEFAULT_DNS_OPTIONS,
  });
}

type PodDnsType = 'cluster' | 'host' | 'none';

function podDnsType(pod: PodLike): PodDnsType {
  switch (pod.spec?.dnsPolicy ?? 'ClusterFirst') {
    case 'None':
      return 'none';
    case 'ClusterFirstWithHostNet':
      return 'cluster';
    case 'ClusterFirst':
      return pod.spec?.hostNetwork ? 'host' : 'cluster';
    case 'Default':
      return 'host';
    default:
      // The API server rejects other values; the kubelet falls back to ClusterFirst.
      return 'cluster';
  }
}

/** The pod's DNS configuration: servers, search domains and options for its resolv.conf. */
export function podDnsConfig(pod: PodLike, o: PodDnsOptions): DnsConfig {
  const host = o.hostResolvConf === null ? { servers: [], searches: [], options: [] } : parseResolvConf(o.hostResolvConf);
  let cfg: DnsConfig = { servers: host.servers, searches: host.searches, options: host.options };
  let type = podDnsType(pod);
  if (type === 'none') cfg = { servers: [], searches: [], options: [] };
  if (type === 'cluster') {
    if (o.clusterDns.length > 0) {
      cfg.servers = [...o.clusterDns];
      cfg.searches = o.clusterDomain ? omitDuplicates([...clusterSearches(pod.metadata?.namespace ?? 'default', o.clusterDomain), ...host.searches]) : host.searches;
      cfg.options = [...DEFAULT_DNS_OPTIONS];
    } else {
      o.warn?.('MissingClusterDNS', `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`);
      type = 'host';
    }
  }
  if (type === 'host' && o.hostResolvConf === null) {
    for (const ip of o.nodeIPs ?? []) cfg.servers.push(ip.includes(':') ? '::1' : '127.0.0.1');
    if (cfg.servers.length === 0) cfg.servers.push('127.0.0.1');
    cfg.searches = ['.'];
  }
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    cfg.servers = omitDuplicates([...cfg.servers, ...(extra.nameservers ?? [])]);
    cfg.searches = omitDuplicates([...cfg.searches, ...(extra.searches ?? [])]);
    cfg.options = mergeOptions(cfg.options, extra.options ?? []);
  }
  return fitLimits(cfg, o.warn);
}

function omitDuplicates(list: string[]): string[] {
  return [...new Set(list)];
}

/** Options by name, the pod's overriding the base's; order: base's first, then new names. */
function mergeOptions(base: string[], podOptions: Array<{ name?: string; value?: string }>): string[] {
  const byName = new Map<string, string>();
  for (const op of base) {
    const i = op.indexOf(':');
    if (i >= 0) byName.set(op.slice(0, i), op.slice(i + 1));
    else byName.set(op, '');
  }
  for (const op of podOptions) byName.set(op.name ?? '', op.value ?? '');
  return [...byName].map(([name, value]) => (value ? `${name}:${value}` : name));
}

function fitLimits(cfg: DnsConfig, warn?: (reason: string, message: string) => void): DnsConfig {
  if (cfg.servers.length > MAX_DNS_NAMESERVERS) {
    cfg.servers = cfg.servers.slice(0, MAX_DNS_NAMESERVERS);
    warn?.('DNSConfigForming', `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${cfg.servers.join(' ')}`);
  }
  let exceeded = false;
  let searches = cfg.searches;
  if (searches.length > MAX_DNS_SEARCH_PATHS) {
    searches = searches.slice(0, MAX_DNS_SEARCH_PATHS);
    exceeded = true;
  }
  // Some resolvers abort on a search domain over 253 characters: drop those.
  const kept = searches.filter((s) => s.length <= MAX_SEARCH_DOMAIN_LEN);
  if (kept.length !== searches.length) exceeded = true;
  searches = kept;
  let lineLen = searches.join(' ').length;
  while (lineLen > MAX_DNS_SEARCH_LIST_CHARS && searches.length) {
    lineLen -= searches[searches.length - 1].length + 1;
    searches = searches.slice(0, -1);
    exceeded = true;
  }
  if (exceeded) warn?.('DNSConfigForming', `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${searches.join(' ')}`);
  cfg.searches = searches;
  return cfg;
}
