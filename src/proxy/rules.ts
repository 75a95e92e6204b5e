// Rule generation: services + endpoints -> one iptables-restore input (filter and nat tables).
// Pure, so unit tests compare text. The top-level chains are always rewritten whole; a
// service's own chains (SVC/XLB/EXT/FW/SEP) are written only on a full sync or when that
// service or its endpoints changed. Chains that existed and are no longer wanted are flushed
// and deleted in the same transaction.
//
// The nat table is one transaction by default. With SyncPlan.maxChainsPerTransaction (used for
// iptables-nft) it is split into several: the service chains in batches first, then the
// top-level chains that reference them, then the stale chains' deletion. iptables-nft 1.8.x
// keeps the chain names a transaction mentions in a sorted linked list, so one huge
// transaction costs time quadratic in its chain count (minutes at 10,000 services); batches
// of ~1,000 chains keep that small, and every intermediate state is consistent (a chain is
// filled before anything jumps to it, and deleted only once nothing does).
import {
  EXTERNAL_SERVICES_CHAIN,
  FILTER_TOP_CHAINS,
  FIREWALL_CHAIN,
  FORWARD_CHAIN,
  MARK_MASQ_CHAIN,
  NAT_TOP_CHAINS,
  NODEPORTS_CHAIN,
  POSTROUTING_CHAIN,
  SERVICES_CHAIN,
  isServiceChain,
} from './chains.js';
import type { EndpointInfo, ServiceEndpoints } from './endpoints.js';
import { externallyAccessible, usesClusterEndpoints, usesLocalEndpoints, type ServicePortInfo } from './service-port.js';
import { categorizeEndpoints } from './topology.js';

/** Above this many endpoints, per-endpoint comments are dropped (as upstream) to keep restores small. */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

export interface RulesConfig {
  nodeName: string;
  /** The node's topology.kubernetes.io/zone label (zone hints). */
  zone?: string;
  /** Pod CIDR of the whole cluster: traffic from outside it to a cluster IP is masqueraded. "" disables. */
  clusterCIDR: string;
  /** Masquerade all traffic to cluster IPs. */
  masqueradeAll?: boolean;
  /** The fwmark bit meaning "masquerade me" (default 0x4000, as upstream). */
  masqueradeMark?: string;
  /** MASQUERADE --random-fully (default true). */
  randomFully?: boolean;
  /**
   * Node ports answer on 127.0.0.1 too (upstream's default; needs route_localnet=1, which the
   * proxier sets). Off: loopback destinations never reach SKIFF-NODEPORTS.
   */
  localhostNodePorts?: boolean;
}

export interface ProxyState {
  /** "namespace/name" -> the service's ports. */
  services: ReadonlyMap<string, ServicePortInfo[]>;
  /** "namespace/name" -> endpoints per service port key. */
  endpoints: ReadonlyMap<string, ServiceEndpoints>;
}

export interface JumpRule {
  table: 'nat' | 'filter';
  /** Built-in chain that jumps. */
  from: string;
  to: string;
  comment: string;
  extra: string[];
}

/** The jumps from built-in chains into ours (inserted first in their chain, as upstream prepends). */
export const JUMP_RULES: JumpRule[] = [
  { table: 'filter', from: 'INPUT', to: EXTERNAL_SERVICES_CHAIN, comment: 'skiff externally-visible service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', from: 'FORWARD', to: EXTERNAL_SERVICES_CHAIN, comment: 'skiff externally-visible service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', from: 'FORWARD', to: SERVICES_CHAIN, comment: 'skiff service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', from: 'OUTPUT', to: SERVICES_CHAIN, comment: 'skiff service portals', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', from: 'FORWARD', to: FORWARD_CHAIN, comment: 'skiff forwarding rules', extra: [] },
  { table: 'filter', from: 'INPUT', to: FIREWALL_CHAIN, comment: 'skiff load balancer firewall', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', from: 'OUTPUT', to: FIREWALL_CHAIN, comment: 'skiff load balancer firewall', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'filter', from: 'FORWARD', to: FIREWALL_CHAIN, comment: 'skiff load balancer firewall', extra: ['-m', 'conntrack', '--ctstate', 'NEW'] },
  { table: 'nat', from: 'OUTPUT', to: SERVICES_CHAIN, comment: 'skiff service portals', extra: [] },
  { table: 'nat', from: 'PREROUTING', to: SERVICES_CHAIN, comment: 'skiff service portals', extra: [] },
  { table: 'nat', from: 'POSTROUTING', to: POSTROUTING_CHAIN, comment: 'skiff postrouting rules', extra: [] },
];

export interface SyncPlan {
  /** Services whose chains must be rewritten; undefined = all (a full sync). */
  changedServices?: ReadonlySet<string>;
  /** Per-service nat chains that exist now; those no longer active get flushed and deleted. */
  existingChains?: Iterable<string>;
  /** Jump rules missing from the built-in chains (found by the caller in iptables-save output). */
  missingJumps?: JumpRule[];
  /** Split the nat table into transactions of about this many service chains (see above). */
  maxChainsPerTransaction?: number;
}

export interface GeneratedRules {
  text: string;
  /** Every per-service nat chain the ruleset uses (written now or kept from before). */
  activeChains: Set<string>;
  /** Service ports whose chains were written in this sync. */
  writtenChains: number;
  /** COMMITs in the text (2 unless the nat table was split). */
  transactions: number;
  deletedChains: number;
  natRules: number;
  filterRules: number;
}

const q = (s: string) => `"${s}"`;

/** "1/n" as upstream prints it (10 decimals). */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

class Table {
  readonly chains: string[] = [];
  readonly rules: string[] = [];
  chain(name: string): void {
    this.chains.push(`:${name} - [0:0]`);
  }
  add(line: string): void {
    this.rules.push(line);
  }
}

export function generateRules(state: ProxyState, cfg: RulesConfig, plan: SyncPlan = {}): GeneratedRules {
  const mark = cfg.masqueradeMark ?? '0x4000';
  const filter = new Table();
  // nat: the small fixed chains, the service chains (one block per service port), and the
  // top-level chains SKIFF-SERVICES and SKIFF-NODEPORTS that jump into the blocks.
  const nat = new Table();
  const top = new Table();
  const blocks: Table[] = [];
  const active = new Set<string>();
  let written = 0;

  for (const c of FILTER_TOP_CHAINS) filter.chain(c);
  for (const c of NAT_TOP_CHAINS) (c === SERVICES_CHAIN || c === NODEPORTS_CHAIN ? top : nat).chain(c);

  nat.add(`-A ${POSTROUTING_CHAIN} -m mark ! --mark ${mark}/${mark} -j RETURN`);
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  nat.add(`-A ${POSTROUTING_CHAIN} -j MARK --xor-mark ${mark}`);
  nat.add(`-A ${POSTROUTING_CHAIN} -m comment --comment ${q('skiff service traffic requiring SNAT')} -j MASQUERADE${cfg.randomFully === false ? '' : ' --random-fully'}`);
  nat.add(`-A ${MARK_MASQ_CHAIN} -j MARK --or-mark ${mark}`);

  let totalEndpoints = 0;
  for (const eps of state.endpoints.values()) for (const list of eps.values()) totalEndpoints += list.length;
  const comments = totalEndpoints <= LARGE_CLUSTER_ENDPOINTS;
  const localNet = cfg.clusterCIDR;

  for (const [svcName, ports] of state.services) {
    const svcEndpoints = state.endpoints.get(svcName);
    const writeChains = !plan.changedServices || plan.changedServices.has(svcName);
    for (const sp of ports) {
      const proto = sp.protocol;
      const name = sp.nameString;
      const all = svcEndpoints?.get(sp.key) ?? [];
      const { cluster, local, reachable, hasAny } = categorizeEndpoints(all, sp, cfg.zone);
      const usesClusterChain = cluster.length > 0 && usesClusterEndpoints(sp);
      const usesLocalChain = local.length > 0 && usesLocalEndpoints(sp);

      const internalChain = sp.internalPolicyLocal ? sp.localChain : sp.svcChain;
      const hasInternal = hasAny && (!sp.internalPolicyLocal || local.length > 0);
      const externalPolicyChain = sp.externalPolicyLocal ? sp.localChain : sp.svcChain;
      const hasExternal = hasAny && (!sp.externalPolicyLocal || local.length > 0);
      // The EXT chain exists whenever there are endpoints anywhere: with Local policy it still
      // short-circuits pod and node traffic to the cluster chain.
      const usesExtChain = hasAny && externallyAccessible(sp);
      const usesFwChain = hasAny && sp.loadBalancerIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
      const lbChain = usesFwChain ? sp.fwChain : sp.extChain;

      let internalFilterTarget = '';
      let externalFilterTarget = '';
      let internalFilterComment = '';
      let externalFilterComment = '';
      if (!hasAny) {
        // TCP gets a reset: the kernel rate-limits ICMP errors per destination host (a fresh
        // peer's first one is dropped here), which would leave pods waiting for SYN retries.
        internalFilterTarget = externalFilterTarget = `REJECT --reject-with ${proto === 'tcp' ? 'tcp-reset' : 'icmp-port-unreachable'}`;
        internalFilterComment = externalFilterComment = q(`${name} has no endpoints`);
      } else {
        if (!hasInternal) {
          internalFilterTarget = 'DROP';
          internalFilterComment = q(`${name} has no local endpoints`);
        }
        if (!hasExternal) {
          externalFilterTarget = 'DROP';
          externalFilterComment = q(`${name} has no local endpoints`);
        }
      }
      const match = (ip: string, port: number) => `-d ${ip}/32 -p ${proto} -m ${proto} --dport ${port}`;

      // Cluster IP.
      if (hasInternal) top.add(`-A ${SERVICES_CHAIN} ${match(sp.clusterIP, sp.port)} -m comment --comment ${q(`${name} cluster IP`)} -j ${internalChain}`);
      else filter.add(`-A ${SERVICES_CHAIN} ${match(sp.clusterIP, sp.port)} -m comment --comment ${internalFilterComment} -j ${internalFilterTarget}`);

      // External IPs.
      for (const ip of sp.externalIPs) {
        if (hasAny) top.add(`-A ${SERVICES_CHAIN} ${match(ip, sp.port)} -m comment --comment ${q(`${name} external IP`)} -j ${sp.extChain}`);
        if (!hasExternal) filter.add(`-A ${EXTERNAL_SERVICES_CHAIN} ${match(ip, sp.port)} -m comment --comment ${externalFilterComment} -j ${externalFilterTarget}`);
      }

      // Load balancer ingress IPs.
      for (const ip of sp.loadBalancerIPs) {
        if (hasAny) top.add(`-A ${SERVICES_CHAIN} ${match(ip, sp.port)} -m comment --comment ${q(`${name} loadbalancer IP`)} -j ${lbChain}`);
        if (usesFwChain) filter.add(`-A ${FIREWALL_CHAIN} ${match(ip, sp.port)} -m comment --comment ${q(`${name} traffic not accepted by ${sp.fwChain}`)} -j DROP`);
        if (!hasExternal) filter.add(`-A ${EXTERNAL_SERVICES_CHAIN} ${match(ip, sp.port)} -m comment --comment ${externalFilterComment} -j ${externalFilterTarget}`);
      }

      // Node port.
      if (sp.nodePort > 0) {
        if (hasAny) top.add(`-A ${NODEPORTS_CHAIN} -p ${proto} -m comment --comment ${q(name)} -m ${proto} --dport ${sp.nodePort} -j ${sp.extChain}`);
        if (!hasExternal) {
          filter.add(`-A ${EXTERNAL_SERVICES_CHAIN} -p ${proto} -m comment --comment ${externalFilterComment} -m addrtype --dst-type LOCAL -m ${proto} --dport ${sp.nodePort} -j ${externalFilterTarget}`);
        }
      }

      // The service's own chains.
      if (usesClusterChain) active.add(sp.svcChain);
      if (usesLocalChain) active.add(sp.localChain);
      if (usesExtChain) active.add(sp.extChain);
      if (usesFwChain) active.add(sp.fwChain);
      for (const ep of reachable) active.add(ep.chain);
      if (!writeChains) continue;
      const chainsOut = new Table();
      blocks.push(chainsOut);

      if (usesClusterChain) chainsOut.chain(sp.svcChain);
      if (usesLocalChain) chainsOut.chain(sp.localChain);
      if (usesExtChain) chainsOut.chain(sp.extChain);
      if (usesFwChain) chainsOut.chain(sp.fwChain);

      // Masquerade cluster IP traffic from outside the cluster (a node, or a routed client).
      if (hasInternal) {
        const m = `${match(sp.clusterIP, sp.port)} -m comment --comment ${q(`${name} cluster IP`)}`;
        if (cfg.masqueradeAll) chainsOut.add(`-A ${internalChain} ${m} -j ${MARK_MASQ_CHAIN}`);
        else if (localNet) chainsOut.add(`-A ${internalChain} ! -s ${localNet} ${m} -j ${MARK_MASQ_CHAIN}`);
      }

      if (usesExtChain) {
        const ext = sp.extChain;
        if (!sp.externalPolicyLocal) {
          // Endpoints may be on other nodes: masquerade so replies come back through us.
          chainsOut.add(`-A ${ext} -m comment --comment ${q(`masquerade traffic for ${name} external destinations`)} -j ${MARK_MASQ_CHAIN}`);
        } else {
          // Local policy keeps the client's address. Pods and the node itself are not
          // "external": they go to any endpoint, as if via a load balancer and back.
          if (localNet) chainsOut.add(`-A ${ext} -s ${localNet} -m comment --comment ${q(`pod traffic for ${name} external destinations`)} -j ${sp.svcChain}`);
          chainsOut.add(`-A ${ext} -m comment --comment ${q(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${MARK_MASQ_CHAIN}`);
          chainsOut.add(`-A ${ext} -m comment --comment ${q(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${sp.svcChain}`);
        }
        if (hasExternal) chainsOut.add(`-A ${ext} -j ${externalPolicyChain}`);
      }

      if (usesFwChain) {
        for (const cidr of sp.loadBalancerSourceRanges) {
          chainsOut.add(`-A ${sp.fwChain} -s ${cidr} -m comment --comment ${q(`${name} loadbalancer IP`)} -j ${sp.extChain}`);
        }
        // Anything else falls off the end and is dropped by SKIFF-FIREWALL in the filter table.
      }

      if (usesClusterChain) writeServiceToEndpoints(chainsOut, sp, sp.svcChain, cluster, comments);
      if (usesLocalChain) writeServiceToEndpoints(chainsOut, sp, sp.localChain, local, comments);

      for (const ep of reachable) {
        chainsOut.chain(ep.chain);
        const c = comments ? ` -m comment --comment ${q(name)}` : '';
        // Hairpin: a pod reaching itself through the service must be masqueraded, or it would
        // answer itself from its own address.
        chainsOut.add(`-A ${ep.chain} -s ${ep.ip}/32${c} -j ${MARK_MASQ_CHAIN}`);
        const affinity = sp.affinitySeconds > 0 ? ` -m recent --set --name ${ep.chain} --mask 255.255.255.255 --rsource` : '';
        chainsOut.add(`-A ${ep.chain} -p ${proto}${c}${affinity} -m ${proto} -j DNAT --to-destination ${ep.endpoint}`);
      }
      written++;
    }
  }

  // Stale per-service chains: declaring flushes them, then -X deletes them.
  const stale = new Table();
  for (const chain of plan.existingChains ?? []) {
    if (active.has(chain) || !isServiceChain(chain)) continue;
    stale.chain(chain);
    stale.add(`-X ${chain}`);
  }

  // Node ports: the last rule of SKIFF-SERVICES, for any local address (loopback only with
  // localhostNodePorts).
  const loopback = cfg.localhostNodePorts ? '' : ' ! -d 127.0.0.0/8';
  const nodePortsTail = `-A ${SERVICES_CHAIN} -m comment --comment ${q('skiff service nodeports; NOTE: this must be the last rule in this chain')} -m addrtype --dst-type LOCAL${loopback} -j ${NODEPORTS_CHAIN}`;
  if (cfg.localhostNodePorts) {
    // route_localnet lets packets to 127/8 arrive from other interfaces: only our DNATed
    // replies and loopback's own traffic may (as upstream's KUBE-FIREWALL rule).
    filter.add(`-A ${FIREWALL_CHAIN} ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment ${q('block incoming localnet connections')} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`);
  }

  // Forwarding: drop INVALID (avoids spurious resets), accept marked service traffic and its replies.
  filter.add(`-A ${FORWARD_CHAIN} -m conntrack --ctstate INVALID -j DROP`);
  filter.add(`-A ${FORWARD_CHAIN} -m comment --comment ${q('skiff forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`);
  filter.add(`-A ${FORWARD_CHAIN} -m comment --comment ${q('skiff forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  const natJumps: string[] = [];
  for (const j of plan.missingJumps ?? []) {
    const line = `-I ${j.from}${j.extra.length ? ' ' + j.extra.join(' ') : ''} -m comment --comment ${q(j.comment)} -j ${j.to}`;
    (j.table === 'nat' ? natJumps : filter.rules).push(line);
  }

  const parts: string[] = ['*filter', ...filter.chains, ...filter.rules, 'COMMIT'];
  let transactions = 2;
  const maxChains = plan.maxChainsPerTransaction;
  if (!maxChains) {
    parts.push('*nat', ...nat.chains, ...top.chains);
    for (const b of blocks) parts.push(...b.chains);
    parts.push(...stale.chains, ...nat.rules, ...top.rules, nodePortsTail);
    for (const b of blocks) parts.push(...b.rules);
    parts.push(...stale.rules, ...natJumps, 'COMMIT', '');
  } else {
    // Batches of whole blocks (a service port's chains only jump among themselves and to
    // SKIFF-MARK-MASQ, which the first batch creates).
    let batch: Table[] = [];
    let count = nat.chains.length;
    const flush = (first: boolean) => {
      const chains = batch.flatMap((b) => b.chains).sort(descending);
      parts.push('*nat', ...(first ? nat.chains : []), ...chains, ...(first ? nat.rules : []));
      for (const b of batch) parts.push(...b.rules);
      parts.push('COMMIT');
      transactions++;
      batch = [];
      count = 0;
    };
    let first = true;
    for (const b of blocks) {
      if (count > 0 && count + b.chains.length > maxChains) {
        flush(first);
        first = false;
      }
      batch.push(b);
      count += b.chains.length;
    }
    if (first || batch.length > 0) flush(first);
    // Rules in descending order of their target: each new chain name then sorts first in
    // iptables-nft's list, so adding it costs one comparison instead of a walk.
    const byTarget = (a: string, b: string) => descending(targetOf(a), targetOf(b));
    const services = top.rules.filter((r) => r.startsWith(`-A ${SERVICES_CHAIN} `)).sort(byTarget);
    const nodePorts = top.rules.filter((r) => r.startsWith(`-A ${NODEPORTS_CHAIN} `)).sort(byTarget);
    parts.push('*nat', ...top.chains, ...stale.chains, ...services, nodePortsTail, ...nodePorts, ...stale.rules, ...natJumps, 'COMMIT', '');
  }
  return {
    text: parts.join('\n'),
    activeChains: active,
    writtenChains: written,
    deletedChains: stale.chains.length,
    transactions,
    natRules: nat.rules.length + top.rules.length + 1 + blocks.reduce((n, b) => n + b.rules.length, 0),
    filterRules: filter.rules.length,
  };
}

const descending = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

function targetOf(rule: string): string {
  const i = rule.lastIndexOf(' -j ');
  return i < 0 ? '' : rule.slice(i + 4);
}

function writeServiceToEndpoints(t: Table, sp: ServicePortInfo, chain: string, endpoints: EndpointInfo[], comments: boolean): void {
  const c = (ep: EndpointInfo) => (comments ? ` -m comment --comment ${q(`${sp.nameString} -> ${ep.endpoint}`)}` : '');
  // Affinity first: a client seen recently goes back to the same endpoint.
  if (sp.affinitySeconds > 0) {
    for (const ep of endpoints) {
      t.add(`-A ${chain}${c(ep)} -m recent --rcheck --seconds ${sp.affinitySeconds} --reap --name ${ep.chain} --mask 255.255.255.255 --rsource -j ${ep.chain}`);
    }
  }
  // Then an even spread: endpoint i of n is taken with probability 1/(n-i); the last always.
  const n = endpoints.length;
  endpoints.forEach((ep, i) => {
    const stat = i < n - 1 ? ` -m statistic --mode random --probability ${probability(n - i)}` : '';
    t.add(`-A ${chain}${c(ep)}${stat} -j ${ep.chain}`);
  });
}
