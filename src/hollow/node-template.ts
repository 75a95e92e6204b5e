// What every hollow node looks like: labels, taints, capacity and nodeInfo shared by all nodes,
// plus the few per-node fields (name, hostname/zone labels, address) derived from the index.
// The shared parts are built once and referenced by every node object, never copied.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { KObject } from '../api/types.js';
import { nodeIP } from './addresses.js';

export const KUBELET_VERSION = 'v1.32.4';
export const CONTAINER_RUNTIME_VERSION = 'hollow://1.0';
export const INSTANCE_TYPE = 'hollow';

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/** The parts of a Node a --template file may set; flags given explicitly win over it. */
export interface NodeTemplate {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: Taint[];
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  nodeInfo?: Record<string, string>;
}

export interface NodeProfileOptions {
  namePrefix?: string;
  cpu?: string;
  memory?: string;
  pods?: string | number;
  ephemeralStorage?: string;
  labels?: Record<string, string>;
  taints?: Taint[];
  /** Nodes spread over zone-0 .. zone-(zones-1) by index (default 3). */
  zones?: number;
  template?: NodeTemplate;
}

/** The shared, immutable description of all nodes of one hollow-nodes run. */
export class NodeProfile {
  readonly namePrefix: string;
  readonly zones: number;
  private readonly labels: Record<string, string>;
  private readonly annotations: Record<string, string>;
  private readonly taints: Taint[];
  private readonly capacity: Record<string, string>;
  private readonly allocatable: Record<string, string>;
  private readonly nodeInfo: Record<string, string>;

  constructor(o: NodeProfileOptions = {}) {
    const t = o.template ?? {};
    this.namePrefix = o.namePrefix ?? 'hollow-node-';
    this.zones = Math.max(1, Math.floor(o.zones ?? 3));
    this.labels = { ...t.labels, ...o.labels };
    this.annotations = { 'node.alpha.kubernetes.io/ttl': '0', ...t.annotations };
    this.taints = o.taints ?? t.taints ?? [];
    const capacity: Record<string, string> = {
      cpu: '32',
      memory: '256Gi',
      pods: '110',
      'ephemeral-storage': '1Ti',
      ...t.capacity,
    };
    if (o.cpu !== undefined) capacity.cpu = o.cpu;
    if (o.memory !== undefined) capacity.memory = o.memory;
    if (o.pods !== undefined) capacity.pods = String(o.pods);
    if (o.ephemeralStorage !== undefined) capacity['ephemeral-storage'] = o.ephemeralStorage;
    this.capacity = capacity;
    // Allocatable follows capacity unless the template reserves something.
    this.allocatable = { ...capacity, ...t.allocatable };
    if (o.cpu !== undefined) this.allocatable.cpu = o.cpu;
    if (o.memory !== undefined) this.allocatable.memory = o.memory;
    if (o.pods !== undefined) this.allocatable.pods = String(o.pods);
    if (o.ephemeralStorage !== undefined) this.allocatable['ephemeral-storage'] = o.ephemeralStorage;
    this.nodeInfo = {
      machineID: '',
      systemUUID: '',
      bootID: '',
      kernelVersion: '6.1.0-hollow',
      osImage: 'Hollow Linux 1.0',
      containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
      ...t.nodeInfo,
    };
  }

  nodeName(index: number): string {
    return `${this.namePrefix}${index}`;
  }

  /** The Node object to register (metadata, spec and a Ready status). */
  node(index: number, name: string, now: Date): KObject {
    const labels: Record<string, string> = {
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'beta.kubernetes.io/os': 'linux',
      'beta.kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': INSTANCE_TYPE,
      'topology.kubernetes.io/zone': `zone-${index % this.zones}`,
      ...this.labels,
    };
    const spec: KObject = {};
    if (this.taints.length) spec.taints = this.taints;
    return {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels, annotations: this.annotations },
      spec,
      status: this.status(index, name, now, now),
    };
  }

  /** The node's full status: Ready since `readySince`, heartbeat `now`. */
  status(index: number, name: string, readySince: Date, now: Date): KObject {
    const hb = rfc3339(now);
    const since = rfc3339(readySince);
    const cond = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      lastHeartbeatTime: hb,
      lastTransitionTime: since,
      reason,
      message,
    });
    return {
      capacity: this.capacity,
      allocatable: this.allocatable,
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      addresses: [
        { type: 'InternalIP', address: nodeIP(index) },
        { type: 'Hostname', address: name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: this.nodeInfo,
    };
  }
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Reads a Node manifest (YAML or JSON) and keeps the parts a template may set. */
export function loadNodeTemplate(path: string): NodeTemplate {
  const doc = parseYaml(readFileSync(path, 'utf8'));
  if (!doc || typeof doc !== 'object') throw new Error(`${path}: not a Node manifest`);
  if (doc.kind && doc.kind !== 'Node') throw new Error(`${path}: kind is ${doc.kind}, want Node`);
  return nodeTemplateFrom(doc);
}

export function nodeTemplateFrom(node: KObject): NodeTemplate {
  const strings = (m: unknown): Record<string, string> | undefined => {
    if (!m || typeof m !== 'object') return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(m)) out[k] = String(v);
    return out;
  };
  const taints = node.spec?.taints;
  return {
    labels: strings(node.metadata?.labels),
    annotations: strings(node.metadata?.annotations),
    taints: Array.isArray(taints) ? taints.map((t: any) => parseTaintObject(t)) : undefined,
    capacity: strings(node.status?.capacity),
    allocatable: strings(node.status?.allocatable),
    nodeInfo: strings(node.status?.nodeInfo),
  };
}

const EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function parseTaintObject(t: any): Taint {
  if (!t?.key || !EFFECTS.includes(t.effect)) throw new Error(`invalid taint ${JSON.stringify(t)}: want key and effect NoSchedule|PreferNoSchedule|NoExecute`);
  return t.value ? { key: String(t.key), value: String(t.value), effect: t.effect } : { key: String(t.key), effect: t.effect };
}

/** "k=v,k2=v2" → { k: 'v', k2: 'v2' }. */
export function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`invalid label "${part}": want key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** "k=v:NoSchedule,k2:NoExecute" (kubectl taint syntax) → taints. */
export function parseTaints(s: string): Taint[] {
  const out: Taint[] = [];
  for (const part of s.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const colon = p.lastIndexOf(':');
    if (colon <= 0) throw new Error(`invalid taint "${p}": want key[=value]:Effect`);
    const kv = p.slice(0, colon);
    const effect = p.slice(colon + 1);
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const value = eq < 0 ? undefined : kv.slice(eq + 1);
    out.push(parseTaintObject({ key, value, effect }));
  }
  return out;
}
