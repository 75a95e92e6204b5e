// Deletes everything in a terminating namespace (upstream pkg/controller/namespace/deletion):
// for every namespaced resource discovery lists with "delete", a deletecollection (or a list
// and one delete per object) with background propagation, then a list of what remains. Pods
// still terminating gracefully give an estimate; objects held by finalizers a default one.
import type { KObject } from '../../api/types.js';
import { isNotFound, type Client, type ResourceClient } from '../../client/index.js';
import { discoverResources, supportsVerbs, type DiscoveredResource } from '../garbage-collector/discovery.js';
import { ConditionUpdater } from './conditions.js';

/** Seconds assumed for finalizers on remaining objects to finish (upstream finalizerEstimateSeconds). */
export const FINALIZER_ESTIMATE_SECONDS = 15;

export interface ContentDeletionResult {
  /** Seconds until the remaining content is expected to be gone (0: nothing known to wait for). */
  estimate: number;
  /** Errors of this pass (the namespace is not finalized while there are any). */
  errors: Error[];
  conditions: ConditionUpdater;
}

interface GvrResult {
  estimate: number;
  remaining: number;
  finalizers: Map<string, number>;
  error?: Error;
}

const BACKGROUND = { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' };

export async function deleteAllContent(client: Client, ns: KObject): Promise<ContentDeletionResult> {
  const name = ns.metadata!.name!;
  const deletedAt = Date.parse(ns.metadata!.deletionTimestamp!);
  const conditions = new ConditionUpdater();
  const errors: Error[] = [];
  let resources: DiscoveredResource[] = [];
  try {
    const found = await discoverResources(client.rest);
    resources = found.resources.filter((r) => r.preferred && r.namespaced && supportsVerbs(r, 'delete'));
    if (found.failed.size) {
      conditions.discoveryFailed(found.failed);
      errors.push(new Error(`unable to retrieve the complete list of server APIs: ${[...found.failed.keys()].join(', ')}`));
    }
  } catch (e) {
    // Nothing to work with: report it and retry later.
    conditions.discoveryError(e as Error);
    errors.push(e as Error);
  }

  const results = await Promise.all(resources.map((r) => deleteAllOf(client, r, name, deletedAt)));
  let estimate = 0;
  const byResource = new Map<string, number>();
  const byFinalizer = new Map<string, number>();
  results.forEach((res, i) => {
    if (res.error) {
      errors.push(res.error);
      conditions.contentError(res.error);
    }
    estimate = Math.max(estimate, res.estimate);
    if (res.remaining > 0) {
      const r = resources[i];
      byResource.set(`${r.plural}.${r.group}`, res.remaining);
      for (const [f, n] of res.finalizers) byFinalizer.set(f, (byFinalizer.get(f) ?? 0) + n);
    }
  });
  conditions.contentTotals(byResource, byFinalizer);
  return { estimate, errors, conditions };
}

async function deleteAllOf(client: Client, r: DiscoveredResource, ns: string, deletedAt: number): Promise<GvrResult> {
  const rc = client.resource(r);
  const out: GvrResult = { estimate: 0, remaining: 0, finalizers: new Map() };
  try {
    if (r.group === '' && r.plural === 'pods') out.estimate = await podEstimate(rc, ns, deletedAt);
    if (supportsVerbs(r, 'deletecollection')) {
      await rc.rest.request('DELETE', rc.path(ns), { body: BACKGROUND });
    } else if (supportsVerbs(r, 'list')) {
      const { items } = await rc.listAll(ns);
      for (const item of items) {
        try {
          await rc.delete(ns, item.metadata!.name!, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!isNotFound(e)) throw e;
        }
      }
    }
    if (!supportsVerbs(r, 'list')) return out;
    const { items } = await rc.listAll(ns);
    out.remaining = items.length;
    if (!items.length) {
      out.estimate = 0;
      return out;
    }
    for (const item of items) for (const f of item.metadata?.finalizers ?? []) out.finalizers.set(f, (out.finalizers.get(f) ?? 0) + 1);
    if (out.estimate > 0) return out;
    if (out.finalizers.size) {
      out.estimate = FINALIZER_ESTIMATE_SECONDS;
      return out;
    }
    out.error = new Error(`unexpected items still remain in namespace: ${ns} for gvr: ${gvrString(r)}`);
  } catch (e) {
    out.error = e as Error;
  }
  return out;
}

/** The longest grace period of the namespace's non-terminal pods, unless it has already passed since deletion. */
async function podEstimate(pods: ResourceClient, ns: string, deletedAt: number): Promise<number> {
  const { items } = await pods.listAll(ns);
  let estimate = 0;
  for (const p of items) {
    const phase = p.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const grace = p.spec?.terminationGracePeriodSeconds;
    if (typeof grace === 'number' && grace > estimate) estimate = grace;
  }
  return Date.now() - deletedAt >= estimate * 1000 ? 0 : estimate;
}

/** Go's GroupVersionResource formatting ("/v1, Resource=pods"). */
function gvrString(r: DiscoveredResource): string {
  return `${r.group}/${r.version}, Resource=${r.plural}`;
}
