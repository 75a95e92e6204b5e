// VolumeBinding, lite (upstream plugins/volumebinding): PreFilter checks that the pod's PVCs exist
// and that none waits for Immediate binding; Filter checks bound PVs' node affinity and, for
// WaitForFirstConsumer claims, that the node can get a volume (a matching available PV, or
// dynamic provisioning allowed by the class's allowedTopologies); PreBind records the choice
// (selected-node annotation / PV claimRef) through optional handle hooks and waits for binding.
import { parseQuantity } from '../../api/validation.js';
import type { KObject } from '../../api/types.js';
import { labelSelectorFromObject } from '../../apiserver/selectors.js';
import { Code, Status, type Handle, type Listers, type Node, type NodeInfo, type Plugin, type PluginFactory, type Pod } from '../framework/types.js';
import { compileNodeSelector, matchTopologySelectorTerms } from './helpers/node-selector.js';

export const VOLUME_BINDING = 'VolumeBinding';
const STATE_KEY = 'PreFilter' + VOLUME_BINDING;

export const ERR_REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind";
export const ERR_REASON_NODE_CONFLICT = 'node(s) had volume node affinity conflict';
export const ERR_REASON_PV_NOT_EXIST = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
export const ERR_REASON_UNBOUND_IMMEDIATE = 'pod has unbound immediate PersistentVolumeClaims';

export const ANN_SELECTED_NODE = 'volume.kubernetes.io/selected-node';
export const ANN_BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
export const ANN_STORAGE_CLASS_BETA = 'volume.beta.kubernetes.io/storage-class';
export const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

/** Informer views this plugin uses beyond the framework's Listers (optional: see report). */
export interface VolumeListers extends Listers {
  storageClass?(name: string): KObject | undefined;
  /** All PersistentVolumes, for matching WaitForFirstConsumer claims to existing volumes. */
  pvs?(): KObject[];
}

/** API writes PreBind needs (optional: without them delayed binding is left to other controllers). */
export interface VolumeHandle extends Handle {
  /** Sets metadata.annotations[key]=value on the PVC. */
  annotatePVC?(namespace: string, name: string, key: string, value: string): Promise<void>;
  /**
   * Pre-binds the PV to the claim (spec.claimRef, annotated ANN_BOUND_BY_CONTROLLER as upstream's
   * binder does); the PV controller completes the binding.
   */
  bindPV?(pv: KObject, pvc: KObject): Promise<void>;
}

/** Marks a PV whose claimRef the control plane (not the user) set. */
export const ANN_BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';

/** KubeSchedulerConfiguration's VolumeBindingArgs (shape points for capacity scoring are ignored). */
export interface VolumeBindingArgs {
  bindTimeoutSeconds?: number;
}

interface ClaimState {
  bound: KObject[];
  delayed: KObject[];
  /** Per node: what PreBind must do for the delayed claims. */
  decisions: Map<string, { provision: KObject[]; bind: Array<{ pv: KObject; pvc: KObject }> }>;
}

export function pvcStorageClass(pvc: KObject): string {
  return pvc.spec?.storageClassName ?? pvc.metadata?.annotations?.[ANN_STORAGE_CLASS_BETA] ?? '';
}

export function pvStorageClass(pv: KObject): string {
  return pv.spec?.storageClassName ?? pv.metadata?.annotations?.[ANN_STORAGE_CLASS_BETA] ?? '';
}

/** A claim counts as bound once it names its volume and binding completed. */
export function isPVCBound(pvc: KObject): boolean {
  return !!pvc.spec?.volumeName && (pvc.metadata?.annotations?.[ANN_BIND_COMPLETED] !== undefined || pvc.status?.phase === 'Bound');
}

/** True when the PV's spec.nodeAffinity.required allows the node (no affinity: any node). */
export function pvNodeAffinityMatches(pv: KObject, node: Node): boolean {
  const required = pv.spec?.nodeAffinity?.required;
  if (!required) return true;
  return compileNodeSelector(required).matches(node);
}

/** The pod's claims, in volume order: {claim name, ephemeral}. */
function podClaimRefs(pod: Pod): Array<{ name: string; ephemeral: boolean }> {
  const out: Array<{ name: string; ephemeral: boolean }> = [];
  for (const v of pod.spec?.volumes ?? []) {
    if (v.persistentVolumeClaim?.claimName) out.push({ name: v.persistentVolumeClaim.claimName, ephemeral: false });
    else if (v.ephemeral) out.push({ name: `${pod.metadata?.name}-${v.name}`, ephemeral: true });
  }
  return out;
}

function isDelayBinding(pvc: KObject, listers: VolumeListers): boolean {
  const className = pvcStorageClass(pvc);
  if (!className) return false;
  const sc = listers.storageClass?.(className);
  return sc?.volumeBindingMode === 'WaitForFirstConsumer';
}

const accessModesContain = (have: string[] | undefined, want: string[] | undefined) => (want ?? []).every((m) => (have ?? []).includes(m));

/** The smallest available PV that satisfies the claim on this node (pre-bound PVs first). */
function findMatchingPV(pvc: KObject, pvs: KObject[], node: Node, taken: Set<string>): KObject | undefined {
  const want = parseQuantity(pvc.spec?.resources?.requests?.storage ?? 0);
  const className = pvcStorageClass(pvc);
  const mode = pvc.spec?.volumeMode ?? 'Filesystem';
  const selector = pvc.spec?.selector ? labelSelectorFromObject(pvc.spec.selector) : undefined;
  let best: KObject | undefined;
  let bestSize = Infinity;
  for (const pv of pvs) {
    const name = pv.metadata?.name ?? '';
    if (taken.has(name) || pv.metadata?.deletionTimestamp) continue;
    const ref = pv.spec?.claimRef;
    const preBound = !!ref && ref.name === pvc.metadata?.name && (ref.namespace ?? '') === (pvc.metadata?.namespace ?? '') && (!ref.uid || ref.uid === pvc.metadata?.uid);
    if (ref && !preBound) continue;
    if (pvStorageClass(pv) !== className) continue;
    if ((pv.spec?.volumeMode ?? 'Filesystem') !== mode) continue;
    if (!accessModesContain(pv.spec?.accessModes, pvc.spec?.accessModes)) continue;
    const size = parseQuantity(pv.spec?.capacity?.storage ?? 0);
    if (!(size >= want)) continue;
    if (!preBound && selector && !selector.matches(pv.metadata?.labels)) continue;
    if (!pvNodeAffinityMatches(pv, node)) continue;
    if (preBound) return pv;
    if (size < bestSize) {
      best = pv;
      bestSize = size;
    }
  }
  return best;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const newVolumeBinding: PluginFactory = (rawArgs, rawHandle) => {
  const args = (rawArgs ?? {}) as VolumeBindingArgs;
  const handle = rawHandle as VolumeHandle;
  const listers = handle.listers as VolumeListers;
  const bindTimeoutMs = (args.bindTimeoutSeconds ?? 600) * 1000;

  /** Classifies the pod's claims; a Status when the pod cannot be scheduled at all. */
  function claimsFor(pod: Pod): ClaimState | Status | undefined {
    const refs = podClaimRefs(pod);
    if (refs.length === 0) return undefined;
    const ns = pod.metadata?.namespace ?? 'default';
    const state: ClaimState = { bound: [], delayed: [], decisions: new Map() };
    let immediate = false;
    for (const ref of refs) {
      const pvc = listers.pvc(ns, ref.name);
      if (!pvc) return Status.unresolvable(`persistentvolumeclaim "${ref.name}" not found`);
      if (pvc.metadata?.deletionTimestamp) return Status.error(`persistentvolumeclaim "${ref.name}" is being deleted`);
      if (ref.ephemeral) {
        const owner = (pvc.metadata?.ownerReferences ?? []).find((o) => o.controller);
        if (!owner || owner.uid !== pod.metadata?.uid)
          return Status.error(`PVC ${ns}/${ref.name} was not created for pod ${ns}/${pod.metadata?.name} (pod is not owner)`);
      }
      if (isPVCBound(pvc)) state.bound.push(pvc);
      else if (isDelayBinding(pvc, listers)) state.delayed.push(pvc);
      else immediate = true;
    }
    if (immediate) return Status.unresolvable(ERR_REASON_UNBOUND_IMMEDIATE);
    return state;
  }

  const read = (s: { read<T>(k: string): T | undefined }, pod: Pod): ClaimState | undefined => {
    const got = s.read<ClaimState>(STATE_KEY);
    if (got) return got;
    const c = claimsFor(pod);
    return c instanceof Status ? undefined : c;
  };

  function filterNode(claims: ClaimState, ni: NodeInfo): Status {
    const node = ni.node;
    const reasons = new Set<string>();
    for (const pvc of claims.bound) {
      const pv = listers.pv(pvc.spec.volumeName);
      if (!pv) reasons.add(ERR_REASON_PV_NOT_EXIST);
      else if (!pvNodeAffinityMatches(pv, node)) reasons.add(ERR_REASON_NODE_CONFLICT);
    }
    const decision = { provision: [] as KObject[], bind: [] as Array<{ pv: KObject; pvc: KObject }> };
    if (claims.delayed.length > 0) {
      const pvs = listers.pvs?.() ?? [];
      const taken = new Set<string>();
      for (const pvc of claims.delayed) {
        const selected = pvc.metadata?.annotations?.[ANN_SELECTED_NODE];
        if (selected !== undefined && selected !== ni.name) {
          reasons.add(ERR_REASON_BIND_CONFLICT);
          break;
        }
        const pv = selected === undefined ? findMatchingPV(pvc, pvs, node, taken) : undefined;
        if (pv) {
          taken.add(pv.metadata?.name ?? '');
          decision.bind.push({ pv, pvc });
          continue;
        }
        const sc = listers.storageClass?.(pvcStorageClass(pvc));
        if (!sc || sc.provisioner === NO_PROVISIONER || !matchTopologySelectorTerms(sc.allowedTopologies, node.metadata?.labels)) {
          reasons.add(ERR_REASON_BIND_CONFLICT);
          continue;
        }
        decision.provision.push(pvc);
      }
    }
    if (reasons.size > 0) return new Status(Code.UnschedulableAndUnresolvable, [...reasons]);
    if (claims.delayed.length > 0) claims.decisions.set(ni.name, decision);
    return Status.success();
  }

  const plugin: Plugin = {
    name: VOLUME_BINDING,
    preFilter(state, pod) {
      const c = claimsFor(pod);
      if (c === undefined) return { status: Status.skip() };
      if (c instanceof Status) return { status: c };
      state.write(STATE_KEY, c);
      return { status: Status.success() };
    },
    filter(state, pod, node) {
      const claims = read(state, pod);
      if (!claims) return Status.success();
      return filterNode(claims, node);
    },
    async preBind(state, pod, nodeName) {
      const claims = read(state, pod);
      if (!claims || claims.delayed.length === 0) return Status.success();
      let decision = claims.decisions.get(nodeName);
      if (!decision) {
        const ni = handle.snapshot.get(nodeName);
        if (!ni) return Status.error(`node "${nodeName}" not found`);
        const st = filterNode(claims, ni);
        if (!st.isSuccess()) return st;
        decision = claims.decisions.get(nodeName)!;
      }
      try {
        for (const { pv, pvc } of decision.bind) if (handle.bindPV) await handle.bindPV(pv, pvc);
        for (const pvc of decision.provision)
          if (handle.annotatePVC) await handle.annotatePVC(pvc.metadata?.namespace ?? '', pvc.metadata?.name ?? '', ANN_SELECTED_NODE, nodeName);
      } catch (e) {
        return Status.error(`binding volumes: ${(e as Error).message}`);
      }
      if (!handle.annotatePVC && !handle.bindPV) return Status.success();
      // Wait (on the informer view) until the PV controller / provisioner has bound every claim.
      const deadline = Date.now() + bindTimeoutMs;
      for (;;) {
        const pending = claims.delayed.filter((c) => {
          const cur = listers.pvc(c.metadata?.namespace ?? '', c.metadata?.name ?? '');
          return !cur || !isPVCBound(cur);
        });
        if (pending.length === 0) return Status.success();
        if (Date.now() >= deadline) return Status.error('binding volumes: context deadline exceeded');
        await sleep(Math.min(200, Math.max(1, deadline - Date.now())));
      }
    },
    eventsToRegister() {
      return [
        { resource: 'PersistentVolumeClaim', action: 'Add' },
        { resource: 'PersistentVolumeClaim', action: 'Update' },
        { resource: 'PersistentVolume', action: 'Add' },
        { resource: 'PersistentVolume', action: 'Update' },
        { resource: 'StorageClass', action: 'Add' },
        { resource: 'StorageClass', action: 'Update' },
        { resource: 'Node', action: 'Add' },
        { resource: 'Node', action: 'UpdateNodeLabel' },
        { resource: 'Node', action: 'UpdateNodeTaint' },
      ];
    },
  };
  return plugin;
};
