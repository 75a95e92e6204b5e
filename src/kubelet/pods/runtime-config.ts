// Pod spec -> CRI configs (upstream's kuberuntime_sandbox.go / kuberuntime_container_linux.go):
// the sandbox (hostname, DNS, hostPorts, namespaces, cgroup parent) and each container
// (command, env, mounts, resources as cgroup settings, security context).
import { readFileSync } from 'node:fs';
import type { KObject } from '../../client/index.js';
import { parseQuantity } from '../../api/validation.js';
import { computeQOSClass } from '../../api/core/pod.js';
import type {
  ContainerConfig,
  ContainerSecurityContext,
  DNSConfig,
  KeyValue,
  LinuxContainerResources,
  Mount,
  NamespaceOptions,
  PodSandboxConfig,
  PortMapping,
  Protocol,
} from '../runtime/types.js';
import {
  containerHash,
  containerLabels,
  CONTAINER_HASH_ANNOTATION,
  POD_GRACE_ANNOTATION,
  RESTART_COUNT_ANNOTATION,
  sandboxLabels,
  TERMINATION_MESSAGE_HOST_ANNOTATION,
  TERMINATION_MESSAGE_PATH_ANNOTATION,
  TERMINATION_MESSAGE_POLICY_ANNOTATION,
} from './labels.js';

export const CPU_PERIOD = 100_000;
const MIN_SHARES = 2;
const MIN_QUOTA = 1000;

/** Parses resolv.conf text into nameservers, search domains and options. */
export function parseResolvConf(text: string): DNSConfig {
  const out: DNSConfig = { servers: [], searches: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    if (!line) continue;
    const [key, ...vals] = line.split(/\s+/);
    if (key === 'nameserver' && vals[0]) out.servers.push(vals[0]);
    else if (key === 'search' || key === 'domain') out.searches = vals;
    else if (key === 'options') out.options.push(...vals);
  }
  return out;
}

/** The host's resolver config; a loopback stub resolver (systemd-resolved) is replaced by its upstream file. */
export function hostDNS(path = '/etc/resolv.conf'): DNSConfig {
  const read = (p: string) => {
    try {
      return parseResolvConf(readFileSync(p, 'utf8'));
    } catch {
      return { servers: [], searches: [], options: [] };
    }
  };
  let dns = read(path);
  if (dns.servers.length && dns.servers.every((s) => s.startsWith('127.'))) {
    const resolved = read('/run/systemd/resolve/resolv.conf');
    if (resolved.servers.length) dns = resolved;
  }
  return dns;
}

export interface DnsOptions {
  host: DNSConfig;
  /** Cluster DNS service IPs and domain (none yet: ClusterFirst falls back to the host's). */
  clusterDNS?: string[];
  clusterDomain?: string;
}

/** The pod's resolver config by dnsPolicy, with spec.dnsConfig merged in. */
export function podDNS(pod: KObject, o: DnsOptions): DNSConfig {
  const policy: string = pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const hostNet = !!pod.spec?.hostNetwork;
  let base: DNSConfig;
  const clusterFirst = (policy === 'ClusterFirst' && !hostNet) || policy === 'ClusterFirstWithHostNet';
  if (policy === 'None') base = { servers: [], searches: [], options: [] };
  else if (clusterFirst && o.clusterDNS?.length) {
    const ns = pod.metadata?.namespace ?? 'default';
    const d = o.clusterDomain ?? 'cluster.local';
    base = { servers: [...o.clusterDNS], searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...o.host.searches], options: ['ndots:5'] };
  } else base = { servers: [...o.host.servers], searches: [...o.host.searches], options: [...o.host.options] };
  const extra = pod.spec?.dnsConfig;
  if (extra) {
    for (const s of extra.nameservers ?? []) if (!base.servers.includes(s)) base.servers.push(s);
    for (const s of extra.searches ?? []) if (!base.searches.includes(s)) base.searches.push(s);
    for (const opt of extra.options ?? []) {
      const text = opt.value !== undefined ? `${opt.name}:${opt.value}` : opt.name;
      base.options = base.options.filter((x) => x.split(':')[0] !== opt.name);
      base.options.push(text);
    }
  }
  base.servers = base.servers.slice(0, 3);
  base.searches = base.searches.slice(0, 32);
  return base;
}

export function hostPortMappings(pod: KObject): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      out.push({ protocol: (p.protocol ?? 'TCP') as Protocol, containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP || undefined });
    }
  }
  return out;
}

export function namespaceOptions(pod: KObject): NamespaceOptions {
  const s = pod.spec ?? {};
  return {
    network: s.hostNetwork ? 'NODE' : 'POD',
    pid: s.hostPID ? 'NODE' : s.shareProcessNamespace ? 'POD' : 'CONTAINER',
    ipc: s.hostIPC ? 'NODE' : 'POD',
  };
}

/** The pod's hostname: spec.hostname (else the pod name), truncated to 63 characters. */
export function podHostname(pod: KObject): string {
  if (pod.spec?.hostNetwork) return '';
  const name: string = pod.spec?.hostname || pod.metadata?.name || '';
  return name.slice(0, 63).replace(/[-.]+$/, '');
}

export function podLogDirectory(logRoot: string, pod: KObject): string {
  return `${logRoot}/${pod.metadata?.namespace}_${pod.metadata?.name}_${pod.metadata?.uid}`;
}

export function cgroupParent(pod: KObject): string {
  return `/skiff-pods/pod${pod.metadata?.uid}`;
}

export function sandboxConfig(pod: KObject, attempt: number, o: { logRoot: string; dns: DnsOptions }): PodSandboxConfig {
  const md = pod.metadata ?? {};
  const psc = pod.spec?.securityContext ?? {};
  const sysctls: Record<string, string> = {};
  for (const s of psc.sysctls ?? []) sysctls[s.name] = s.value;
  const cfg: PodSandboxConfig = {
    metadata: { name: md.name ?? '', namespace: md.namespace ?? '', uid: md.uid ?? '', attempt },
    hostname: podHostname(pod),
    logDirectory: podLogDirectory(o.logRoot, pod),
    dnsConfig: podDNS(pod, o.dns),
    portMappings: hostPortMappings(pod),
    labels: sandboxLabels(pod),
    annotations: { ...(md.annotations ?? {}) },
    linux: {
      cgroupParent: cgroupParent(pod),
      securityContext: {
        namespaceOptions: namespaceOptions(pod),
        ...(psc.runAsUser !== undefined ? { runAsUser: { value: psc.runAsUser } } : {}),
        ...(psc.runAsGroup !== undefined ? { runAsGroup: { value: psc.runAsGroup } } : {}),
        supplementalGroups: supplementalGroups(psc),
        privileged: [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].some((c: KObject) => c.securityContext?.privileged),
      },
      sysctls,
    },
  };
  if (pod.spec?.hostNetwork) cfg.hostname = undefined;
  return cfg;
}

function supplementalGroups(psc: KObject): number[] {
  const groups: number[] = [...(psc.supplementalGroups ?? [])];
  if (psc.fsGroup !== undefined && !groups.includes(psc.fsGroup)) groups.push(psc.fsGroup);
  return groups;
}

function milli(q: unknown): number {
  const v = parseQuantity(q);
  return Number.isNaN(v) ? 0 : Math.round(v * 1000);
}

/** Container resources as cgroup settings: cpu shares from the request, quota from the limit, memory limit. */
export function linuxResources(container: KObject, qos: string, memoryCapacity = 0): LinuxContainerResources {
  const req = container.resources?.requests ?? {};
  const lim = container.resources?.limits ?? {};
  const cpuReq = req.cpu !== undefined ? milli(req.cpu) : lim.cpu !== undefined ? milli(lim.cpu) : 0;
  const r: LinuxContainerResources = { cpuShares: Math.max(MIN_SHARES, Math.floor((cpuReq * 1024) / 1000)) };
  if (lim.cpu !== undefined) {
    r.cpuPeriod = CPU_PERIOD;
    r.cpuQuota = Math.max(MIN_QUOTA, Math.floor((milli(lim.cpu) * CPU_PERIOD) / 1000));
  }
  if (lim.memory !== undefined) r.memoryLimitInBytes = Math.floor(parseQuantity(lim.memory));
  // OOM score like upstream's qos policy: guaranteed pods last, best effort first.
  if (qos === 'Guaranteed') r.oomScoreAdj = -997;
  else if (qos === 'BestEffort') r.oomScoreAdj = 1000;
  else {
    const memReq = req.memory !== undefined ? parseQuantity(req.memory) : 0;
    const adj = memoryCapacity > 0 ? 1000 - Math.floor((1000 * memReq) / memoryCapacity) : 999;
    r.oomScoreAdj = Math.min(999, Math.max(2, adj));
  }
  return r;
}

/** Upstream's QoS class (status.qosClass when the API server did not set it): the API's rules. */
export function qosClass(pod: KObject): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  return computeQOSClass(pod);
}

export function containerSecurity(pod: KObject, container: KObject): ContainerSecurityContext {
  const psc = pod.spec?.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const out: ContainerSecurityContext = { namespaceOptions: namespaceOptions(pod) };
  const user = sc.runAsUser ?? psc.runAsUser;
  const group = sc.runAsGroup ?? psc.runAsGroup;
  if (user !== undefined) out.runAsUser = { value: user };
  if (group !== undefined) out.runAsGroup = { value: group };
  if (sc.privileged) out.privileged = true;
  if (sc.readOnlyRootFilesystem) out.readonlyRootfs = true;
  if (sc.allowPrivilegeEscalation === false) out.noNewPrivs = true;
  const groups = supplementalGroups(psc);
  if (groups.length) out.supplementalGroups = groups;
  const caps = sc.capabilities;
  if (caps?.add?.length || caps?.drop?.length) {
    out.capabilities = {
      addCapabilities: (caps.add ?? []).map((c: string) => c.toUpperCase()),
      dropCapabilities: (caps.drop ?? []).map((c: string) => c.toUpperCase()),
    };
  }
  return out;
}

export interface ContainerConfigInputs {
  restartCount: number;
  env: KeyValue[];
  command?: string[];
  args?: string[];
  mounts: Mount[];
  init: boolean;
  qos: string;
  memoryCapacity?: number;
  terminationMessageHostPath?: string;
}

export function containerConfig(pod: KObject, c: KObject, i: ContainerConfigInputs): ContainerConfig {
  const annotations: Record<string, string> = {
    [RESTART_COUNT_ANNOTATION]: String(i.restartCount),
    [CONTAINER_HASH_ANNOTATION]: containerHash(c),
    [TERMINATION_MESSAGE_PATH_ANNOTATION]: c.terminationMessagePath ?? '/dev/termination-log',
    [TERMINATION_MESSAGE_POLICY_ANNOTATION]: c.terminationMessagePolicy ?? 'File',
    [POD_GRACE_ANNOTATION]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
  };
  if (i.terminationMessageHostPath) annotations[TERMINATION_MESSAGE_HOST_ANNOTATION] = i.terminationMessageHostPath;
  const cfg: ContainerConfig = {
    metadata: { name: c.name, attempt: i.restartCount },
    image: { image: c.image },
    envs: i.env,
    mounts: i.mounts,
    labels: containerLabels(pod, c.name, i.init),
    annotations,
    logPath: `${c.name}/${i.restartCount}.log`,
    stdin: !!c.stdin,
    tty: !!c.tty,
    linux: { resources: linuxResources(c, i.qos, i.memoryCapacity), securityContext: containerSecurity(pod, c) },
  };
  if (i.command?.length) cfg.command = i.command;
  if (i.args?.length) cfg.args = i.args;
  if (c.workingDir) cfg.workingDir = c.workingDir;
  return cfg;
}
