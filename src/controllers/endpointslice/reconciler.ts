// Turns a Service's desired endpoints into the fewest EndpointSlice writes (upstream
// pkg/controller/endpointslice reconciler): endpoints are grouped by the port set they serve;
// existing slices keep the endpoints they already hold (updated in place), new endpoints first
// fill slices that are being updated anyway, then one unchanged slice that fits them all, and
// only then go to new slices. A slice about to be deleted is recycled for a slice about to be
// created. A Service without endpoints keeps one empty placeholder slice.
import type { KObject } from '../../api/types.js';
import { sameJson } from '../common/status.js';

export const DEFAULT_MAX_ENDPOINTS_PER_SLICE = 100;

/** The endpoints serving one port set. */
export interface DesiredGroup {
  ports: any[];
  /** By endpointKey. */
  endpoints: Map<string, any>;
}

export interface ReconcileInput {
  addressType: string;
  /** By portsKey(ports). */
  desired: Map<string, DesiredGroup>;
  /** Existing slices of this address type for the Service. */
  existing: KObject[];
  maxEndpointsPerSlice: number;
  /** A fresh slice (metadata, addressType) without endpoints or ports. */
  newSlice(): KObject;
  /** Labels every slice of the Service must carry. */
  labels: Record<string, string>;
}

export interface ReconcilePlan {
  create: KObject[];
  update: KObject[];
  delete: KObject[];
}

/** Identity of an endpoint within a Service: its first address and the pod it points at. */
export function endpointKey(ep: any): string {
  return `${ep.addresses?.[0] ?? ''}/${ep.targetRef?.namespace ?? ''}/${ep.targetRef?.name ?? ''}`;
}

/** Identity of a port set: order-insensitive. */
export function portsKey(ports: any[] | undefined | null): string {
  if (!ports?.length) return '[]';
  const norm = ports.map((p) => [p.name ?? '', p.port ?? 0, p.protocol ?? 'TCP', p.appProtocol ?? '']);
  norm.sort((a, b) => (a.join('\0') < b.join('\0') ? -1 : 1));
  return JSON.stringify(norm);
}

function isPlaceholder(slice: KObject): boolean {
  return !slice.endpoints?.length && !slice.ports?.length;
}

function withLabels(slice: KObject, labels: Record<string, string>): KObject {
  return { ...slice, metadata: { ...slice.metadata, labels: { ...labels } } };
}

export function reconcileSlices(input: ReconcileInput): ReconcilePlan {
  const { desired, maxEndpointsPerSlice: max, labels } = input;
  const plan: ReconcilePlan = { create: [], update: [], delete: [] };
  const byPorts = new Map<string, KObject[]>();
  let placeholder: KObject | undefined;
  for (const slice of input.existing) {
    if (!placeholder && isPlaceholder(slice)) {
      placeholder = slice;
      continue;
    }
    const k = portsKey(slice.ports);
    let list = byPorts.get(k);
    if (!list) byPorts.set(k, (list = []));
    list.push(slice);
  }

  let totalDesired = 0;
  for (const [key, group] of desired) {
    if (group.endpoints.size === 0) continue;
    totalDesired += group.endpoints.size;
    reconcilePortGroup(group, byPorts.get(key) ?? [], max, labels, input.newSlice, plan);
    byPorts.delete(key);
  }
  // Slices for port sets no longer served.
  for (const slices of byPorts.values()) plan.delete.push(...slices);

  if (totalDesired === 0) {
    // Keep (or make) one empty placeholder so the Service visibly has no endpoints.
    if (placeholder) {
      if (!sameJson(placeholder.metadata?.labels ?? {}, labels)) plan.update.push(withLabels(placeholder, labels));
    } else {
      plan.create.push({ ...input.newSlice(), endpoints: [] });
    }
  } else if (placeholder) {
    plan.delete.push(placeholder);
  }

  // Recycle slices about to be deleted for slices about to be created: one update, not two writes.
  while (plan.create.length && plan.delete.length) {
    const fresh = plan.create.pop()!;
    const old = plan.delete.pop()!;
    plan.update.push({ ...old, metadata: { ...old.metadata, labels: { ...labels } }, endpoints: fresh.endpoints, ports: fresh.ports });
  }
  return plan;
}

function reconcilePortGroup(
  group: DesiredGroup,
  existing: KObject[],
  max: number,
  labels: Record<string, string>,
  newSlice: () => KObject,
  plan: ReconcilePlan,
): void {
  const remaining = new Map(group.endpoints);
  const updating: KObject[] = [];
  const unchanged: KObject[] = [];
  for (const slice of existing) {
    let changed = false;
    const kept: any[] = [];
    for (const ep of slice.endpoints ?? []) {
      const key = endpointKey(ep);
      const want = remaining.get(key);
      if (!want) {
        changed = true;
        continue;
      }
      if (!sameJson(want, ep)) changed = true;
      kept.push(want);
      remaining.delete(key);
    }
    if (kept.length === 0) plan.delete.push(slice);
    else if (changed || !sameJson(slice.metadata?.labels ?? {}, labels)) updating.push({ ...withLabels(slice, labels), endpoints: kept, ports: group.ports });
    else unchanged.push(slice);
  }

  const rest = [...remaining.values()];
  // 1. Slices being written anyway take new endpoints first.
  for (const slice of updating) {
    if (!rest.length) break;
    const room = max - slice.endpoints.length;
    if (room > 0) slice.endpoints = slice.endpoints.concat(rest.splice(0, room));
  }
  // 2. The fullest unchanged slice that can take all that is left.
  if (rest.length) {
    const fits = unchanged
      .filter((s) => max - (s.endpoints?.length ?? 0) >= rest.length)
      .sort((a, b) => (b.endpoints?.length ?? 0) - (a.endpoints?.length ?? 0))[0];
    if (fits) {
      unchanged.splice(unchanged.indexOf(fits), 1);
      updating.push({ ...withLabels(fits, labels), endpoints: (fits.endpoints ?? []).concat(rest.splice(0)), ports: group.ports });
    }
  }
  // 3. New slices for the rest.
  while (rest.length) plan.create.push({ ...newSlice(), endpoints: rest.splice(0, max), ports: group.ports });
  plan.update.push(...updating);
}
