// DaemonSet template history (upstream daemon/update.go constructHistory, dedupCurHistories,
// snapshot, cleanupHistory). A DaemonSet revision is named <ds>-<hash>, where hash is of the pod
// template and the collision count, and carries controller-revision-hash=<hash>; pods made from
// it carry the same label.
import type { KObject } from '../../api/types.js';
import { isAlreadyExists, isNotFound, type ResourceClient } from '../../client/index.js';
import { newControllerRef } from '../common/controller-ref.js';
import { canonicalJson, computeHash } from '../common/hash.js';
import { POD_REVISION_LABEL, revisionName, templatePatch } from '../statefulset/history.js';

export interface DaemonHistory {
  /** The revision of the current template. */
  cur: KObject;
  /** Every other revision the DaemonSet owns. */
  old: KObject[];
}

export interface HistoryClients {
  dsClient: ResourceClient;
  revisionClient: ResourceClient;
  podClient: ResourceClient;
}

/** Whether the revision holds ds's current template (upstream Match). */
export function matchesTemplate(ds: KObject, revision: KObject, patch = canonicalJson(templatePatch(ds))): boolean {
  return canonicalJson(revision.data) === patch;
}

/**
 * Splits owned revisions into the current one and the rest, creating the current revision
 * (snapshot) or raising its revision number when the template went back to an older one.
 */
export async function constructHistory(c: HistoryClients, ds: KObject, revisions: KObject[], pods: KObject[]): Promise<DaemonHistory> {
  const patch = canonicalJson(templatePatch(ds));
  const current: KObject[] = [];
  const old: KObject[] = [];
  for (let r of revisions) {
    if (r.metadata?.labels?.[POD_REVISION_LABEL] === undefined) {
      // Older revisions without the label use their name as the hash.
      r = await c.revisionClient.patch(r.metadata!.namespace, r.metadata!.name!, { metadata: { labels: { [POD_REVISION_LABEL]: r.metadata!.name } } }, 'merge');
    }
    (matchesTemplate(ds, r, patch) ? current : old).push(r);
  }
  let maxOld = 0;
  for (const r of old) maxOld = Math.max(maxOld, r.revision ?? 0);
  const next = maxOld + 1;
  let cur: KObject;
  if (current.length === 0) cur = await snapshot(c, ds, next);
  else {
    cur = await dedup(c, ds, current, pods);
    if ((cur.revision ?? 0) < next) cur = await c.revisionClient.patch(cur.metadata!.namespace, cur.metadata!.name!, { revision: next }, 'merge');
  }
  return { cur, old };
}

/** Keeps the highest-revision duplicate, relabels pods of the others to it, deletes the others. */
async function dedup(c: HistoryClients, ds: KObject, dups: KObject[], pods: KObject[]): Promise<KObject> {
  if (dups.length === 1) return dups[0];
  let keep = dups[0];
  for (const r of dups) if ((r.revision ?? 0) > (keep.revision ?? 0)) keep = r;
  const keepHash = keep.metadata!.labels![POD_REVISION_LABEL];
  for (const r of dups) {
    if (r === keep) continue;
    const hash = r.metadata?.labels?.[POD_REVISION_LABEL];
    for (const p of pods) {
      if (p.metadata?.labels?.[POD_REVISION_LABEL] !== hash) continue;
      await c.podClient.patch(p.metadata!.namespace, p.metadata!.name!, { metadata: { labels: { [POD_REVISION_LABEL]: keepHash } } }, 'merge').catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
    await c.revisionClient.delete(r.metadata!.namespace, r.metadata!.name!).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
  }
  return keep;
}

/**
 * Creates the revision of ds's current template. A different revision already holding the name
 * bumps status.collisionCount and fails the sync, which retries with the new hash.
 */
async function snapshot(c: HistoryClients, ds: KObject, revision: number): Promise<KObject> {
  const meta = ds.metadata!;
  const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
  const cr: KObject = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(meta.name!, hash),
      namespace: meta.namespace,
      labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [POD_REVISION_LABEL]: hash },
      ownerReferences: [newControllerRef(ds, 'apps/v1', 'DaemonSet')],
    },
    data: templatePatch(ds),
    revision,
  };
  if (meta.annotations && Object.keys(meta.annotations).length) cr.metadata!.annotations = { ...meta.annotations };
  try {
    return await c.revisionClient.create(meta.namespace, cr);
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
    const existing = await c.revisionClient.get(meta.namespace, cr.metadata!.name!);
    if (matchesTemplate(ds, existing)) return existing;
    const fresh = await c.dsClient.get(meta.namespace, meta.name!);
    if ((fresh.status?.collisionCount ?? null) !== (ds.status?.collisionCount ?? null)) {
      throw new Error(`found a stale collision count (${ds.status?.collisionCount}, expected ${fresh.status?.collisionCount}) of DaemonSet "${meta.name}" while processing; will retry until it is updated`);
    }
    await c.dsClient.updateStatus(meta.namespace, { ...fresh, status: { ...fresh.status, collisionCount: (fresh.status?.collisionCount ?? 0) + 1 } });
    throw e;
  }
}

/** Deletes the oldest revisions beyond revisionHistoryLimit that no live pod uses. */
export async function cleanupHistory(c: HistoryClients, ds: KObject, old: KObject[], pods: KObject[]): Promise<void> {
  let toKill = old.length - (ds.spec?.revisionHistoryLimit ?? 10);
  if (toKill <= 0) return;
  const live = new Set<string>();
  for (const p of pods) {
    const h = p.metadata?.labels?.[POD_REVISION_LABEL];
    if (h) live.add(h);
  }
  const sorted = [...old].sort((a, b) => (a.revision ?? 0) - (b.revision ?? 0));
  for (const r of sorted) {
    if (toKill <= 0) break;
    if (live.has(r.metadata?.labels?.[POD_REVISION_LABEL] ?? '')) continue;
    await c.revisionClient.delete(r.metadata!.namespace, r.metadata!.name!).catch((e) => {
      if (!isNotFound(e)) throw e;
    });
    toKill--;
  }
}
