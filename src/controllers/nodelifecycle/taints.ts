// The taints the node lifecycle controller owns (upstream pkg/controller/nodelifecycle and
// controller.SwapNodeControllerTaint): NoExecute taints for unreachable/not-ready nodes, and the
// NoSchedule taints mirroring node conditions (TaintNodesByCondition).
import type { KObject } from '../../api/types.js';
import { isConflict, isNotFound, type ResourceClient } from '../../client/index.js';
import { rfc3339 } from '../../client/index.js';
import { TAINT_EFFECT_NO_EXECUTE, TAINT_EFFECT_NO_SCHEDULE, type Taint } from '../../scheduler/plugins/helpers/taints.js';

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const TAINT_MEMORY_PRESSURE = 'node.kubernetes.io/memory-pressure';
export const TAINT_DISK_PRESSURE = 'node.kubernetes.io/disk-pressure';
export const TAINT_PID_PRESSURE = 'node.kubernetes.io/pid-pressure';
export const TAINT_NETWORK_UNAVAILABLE = 'node.kubernetes.io/network-unavailable';

export const NOT_READY_NO_EXECUTE: Taint = { key: TAINT_NOT_READY, effect: TAINT_EFFECT_NO_EXECUTE };
export const UNREACHABLE_NO_EXECUTE: Taint = { key: TAINT_UNREACHABLE, effect: TAINT_EFFECT_NO_EXECUTE };

/** Node condition type → condition status → NoSchedule taint key. */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: TAINT_MEMORY_PRESSURE },
  DiskPressure: { True: TAINT_DISK_PRESSURE },
  NetworkUnavailable: { True: TAINT_NETWORK_UNAVAILABLE },
  PIDPressure: { True: TAINT_PID_PRESSURE },
};

/** Every NoSchedule taint key the condition pass manages (others are left alone). */
const CONDITION_TAINT_KEYS = new Set([
  TAINT_NOT_READY,
  TAINT_UNREACHABLE,
  TAINT_MEMORY_PRESSURE,
  TAINT_DISK_PRESSURE,
  TAINT_NETWORK_UNAVAILABLE,
  TAINT_PID_PRESSURE,
  TAINT_UNSCHEDULABLE,
]);

export function nodeCondition(node: KObject, type: string): any {
  for (const c of node.status?.conditions ?? []) if (c.type === type) return c;
  return undefined;
}

export function sameTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

export function hasTaint(node: KObject, t: Taint): boolean {
  return (node.spec?.taints ?? []).some((x: Taint) => sameTaint(x, t));
}

/** The NoSchedule taints the node's conditions and spec.unschedulable call for. */
export function desiredConditionTaints(node: KObject): Taint[] {
  const out: Taint[] = [];
  for (const c of node.status?.conditions ?? []) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) out.push({ key, effect: TAINT_EFFECT_NO_SCHEDULE });
  }
  if (node.spec?.unschedulable) out.push({ key: TAINT_UNSCHEDULABLE, effect: TAINT_EFFECT_NO_SCHEDULE });
  return out;
}

/** The condition-taint changes the node needs: taints to add and (managed) taints to remove. */
export function conditionTaintDiff(node: KObject): { add: Taint[]; remove: Taint[] } {
  const want = desiredConditionTaints(node);
  const have: Taint[] = (node.spec?.taints ?? []).filter((t: Taint) => t.effect === TAINT_EFFECT_NO_SCHEDULE && CONDITION_TAINT_KEYS.has(t.key));
  return {
    add: want.filter((w) => !have.some((h) => sameTaint(h, w))),
    remove: have.filter((h) => !want.some((w) => sameTaint(h, w))),
  };
}

/**
 * Adds and removes taints on the named node (fresh read and retry on conflicts), stamping added
 * taints with timeAdded. Resolves false when the node is gone.
 */
export async function swapNodeTaints(client: ResourceClient, cached: KObject | undefined, name: string, add: Taint[], remove: Taint[]): Promise<boolean> {
  let node = cached;
  for (let attempt = 0; ; attempt++) {
    if (!node) {
      try {
        node = await client.get(null, name);
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    }
    const current: Taint[] = node.spec?.taints ?? [];
    let next = current.filter((t) => !remove.some((r) => sameTaint(r, t)));
    const now = rfc3339();
    for (const t of add) if (!next.some((x) => sameTaint(x, t))) next = [...next, { ...t, timeAdded: now }];
    if (next.length === current.length && next.every((t, i) => t === current[i])) return true;
    const spec = { ...node.spec };
    if (next.length) spec.taints = next;
    else delete spec.taints;
    try {
      await client.update(null, { ...node, spec });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      if (!isConflict(e) || attempt >= 5) throw e;
      node = undefined;
    }
  }
}
