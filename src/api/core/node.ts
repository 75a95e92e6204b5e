// core/v1 Node (cluster-scoped).
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { duplicate, forbidden, invalid, jsonEqual, labelValueErrors, notSupported, qualifiedNameErrors, required } from '../validation.js';

const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const ROLE_PREFIX = 'node-role.kubernetes.io/';

function isCIDR(v: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
  if (!m) return false;
  const bits = Number(m[2]);
  if (/^\d+\.\d+\.\d+\.\d+$/.test(m[1])) return m[1].split('.').every((o) => Number(o) <= 255) && bits <= 32;
  return m[1].includes(':') && bits <= 128;
}

function validateTaints(taints: any[], out: FieldError[]): void {
  const seen = new Set<string>();
  taints.forEach((t: any, i: number) => {
    const f = `spec.taints[${i}]`;
    if (!t?.key) out.push(required(`${f}.key`));
    else for (const e of qualifiedNameErrors(t.key)) out.push(invalid(`${f}.key`, t.key, e));
    if (t?.value) for (const e of labelValueErrors(t.value)) out.push(invalid(`${f}.value`, t.value, e));
    if (!t?.effect) out.push(required(`${f}.effect`));
    else if (!TAINT_EFFECTS.includes(t.effect)) out.push(notSupported(`${f}.effect`, t.effect, TAINT_EFFECTS));
    const k = `${t?.key}:${t?.effect}`;
    if (seen.has(k)) out.push(duplicate(f, t));
    seen.add(k);
  });
}

function validateNode(node: KObject, old?: KObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = node.spec ?? {};
  validateTaints(spec.taints ?? [], out);
  (spec.podCIDRs ?? []).forEach((c: string, i: number) => {
    if (!isCIDR(String(c))) out.push(invalid(`spec.podCIDRs[${i}]`, c, 'must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'));
  });
  if (spec.podCIDR && spec.podCIDRs?.length && spec.podCIDR !== spec.podCIDRs[0])
    out.push(invalid('spec.podCIDRs', spec.podCIDRs, 'first value must match `spec.podCIDR`'));
  if (old) {
    const oldSpec = old.spec ?? {};
    if (oldSpec.podCIDR && spec.podCIDR !== oldSpec.podCIDR)
      out.push(forbidden('spec.podCIDR', 'node updates may not change podCIDR except from "" to valid'));
    if (oldSpec.providerID && spec.providerID !== oldSpec.providerID)
      out.push(forbidden('spec.providerID', 'node updates may not change providerID except from "" to valid'));
    // Everything else in spec is fixed, except the fields below.
    const a = { ...spec };
    const b = { ...oldSpec };
    for (const k of ['unschedulable', 'taints', 'podCIDR', 'podCIDRs', 'providerID', 'configSource', 'externalID']) {
      delete a[k];
      delete b[k];
    }
    if (!jsonEqual(a, b))
      out.push(forbidden('', 'node updates may only change labels, taints, or capacity (or configSource, if the DynamicKubeletConfig feature gate is enabled)'));
  }
  return out;
}

/** STATUS: Ready/NotReady/Unknown plus SchedulingDisabled when cordoned. */
export function nodeStatus(node: KObject): string {
  const status: string[] = [];
  const ready = (node.status?.conditions ?? []).find((c: any) => c.type === 'Ready');
  if (ready) status.push(ready.status === 'True' ? 'Ready' : 'NotReady');
  else status.push('Unknown');
  if (node.spec?.unschedulable) status.push('SchedulingDisabled');
  return status.join(',');
}

/** ROLES from node-role.kubernetes.io/<role> and kubernetes.io/role labels. */
export function nodeRoles(node: KObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX) && k.length > ROLE_PREFIX.length) roles.add(k.slice(ROLE_PREFIX.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function address(node: KObject, type: string): string {
  return (node.status?.addresses ?? []).find((a: any) => a.type === type)?.address ?? '<none>';
}

export const nodes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  namespaced: false,
  shortNames: ['no'],
  subresources: { status: true },
  defaults(node) {
    node.spec ??= {};
    // SetDefaults_NodeStatus: allocatable defaults to capacity.
    if (node.status?.capacity && node.status.allocatable == null) node.status.allocatable = { ...node.status.capacity };
    if (node.spec.podCIDR && !node.spec.podCIDRs?.length) node.spec.podCIDRs = [node.spec.podCIDR];
  },
  prepareForCreate(node) {
    // The kubelet registers with its status; only the dynamic config report is dropped.
    if (node.status) delete node.status.config;
  },
  prepareForUpdate(node, old) {
    node.status = old.status;
  },
  validate: validateNode,
  columns: [
    { name: 'Status', type: 'string', description: 'The status of the node', priority: 0 },
    { name: 'Roles', type: 'string', description: 'The roles of the node', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
    { name: 'Version', type: 'string', description: 'Kubelet Version reported by the node.', priority: 0 },
    { name: 'Internal-IP', type: 'string', description: 'List of addresses reachable to the node.', priority: 1 },
    { name: 'External-IP', type: 'string', description: 'List of addresses reachable to the node.', priority: 1 },
    { name: 'OS-Image', type: 'string', description: 'OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).', priority: 1 },
    { name: 'Kernel-Version', type: 'string', description: "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", priority: 1 },
    { name: 'Container-Runtime', type: 'string', description: 'ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).', priority: 1 },
  ],
  row(node) {
    const info = node.status?.nodeInfo ?? {};
    return [
      nodeStatus(node),
      nodeRoles(node),
      age(node.metadata?.creationTimestamp),
      info.kubeletVersion ?? '',
      address(node, 'InternalIP'),
      address(node, 'ExternalIP'),
      info.osImage || '<unknown>',
      info.kernelVersion || '<unknown>',
      info.containerRuntimeVersion || '<unknown>',
    ];
  },
  fieldSelectors: {
    'spec.unschedulable': (n) => String(n.spec?.unschedulable === true),
  },
};
