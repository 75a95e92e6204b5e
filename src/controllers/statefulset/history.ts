// ControllerRevision history shared by the StatefulSet and DaemonSet controllers (upstream
// pkg/controller/history): each distinct pod template is snapshotted as a ControllerRevision
// whose data is the strategic-merge patch `{"spec":{"template":{...,"$patch":"replace"}}}`, so
// `kubectl rollout history/undo` can apply it back onto the owner.
import type { KObject, OwnerReference } from '../../api/types.js';
import { isAlreadyExists, isNotFound, type ResourceClient } from '../../client/index.js';
import { canonicalJson, computeHash } from '../common/hash.js';

/** Label on a ControllerRevision holding its hash (upstream ControllerRevisionHashLabel). */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';
/** Label on pods (and DaemonSet revisions) naming the revision they were made from. */
export const POD_REVISION_LABEL = 'controller-revision-hash';

/** `<prefix>-<hash>`, the prefix cut so the name stays within 253 characters. */
export function revisionName(prefix: string, hash: string): string {
  return `${prefix.length > 223 ? prefix.slice(0, 223) : prefix}-${hash}`;
}

/** The revision data for owner: its pod template as a replace patch of spec.template. */
export function templatePatch(owner: KObject): any {
  return { spec: { template: { ...structuredClone(owner.spec?.template ?? {}), $patch: 'replace' } } };
}

/** The pod template stored in a revision's data. */
export function templateOf(revision: KObject): any {
  const t = { ...(revision.data?.spec?.template ?? {}) };
  delete t.$patch;
  return t;
}

/** A copy of owner with the revision's template (upstream ApplyRevision for template-only patches). */
export function applyRevision(owner: KObject, revision: KObject): KObject {
  return { ...owner, spec: { ...owner.spec, template: templateOf(revision) } };
}

/** Hash of a revision's data plus the collision count (upstream HashControllerRevision). */
export function hashRevision(data: unknown, collisionCount?: number | null): string {
  return computeHash(data, collisionCount);
}

/** Sorted by revision number, then creation time, then name (upstream SortControllerRevisions). */
export function sortRevisions(revisions: KObject[]): KObject[] {
  return revisions.sort((a, b) => {
    const d = (a.revision ?? 0) - (b.revision ?? 0);
    if (d !== 0) return d;
    const ta = a.metadata?.creationTimestamp ?? '';
    const tb = b.metadata?.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : 1;
  });
}

/** One more than the highest revision number (1 for an empty history). */
export function nextRevisionNumber(revisions: KObject[]): number {
  let max = 0;
  for (const r of revisions) max = Math.max(max, r.revision ?? 0);
  return max + 1;
}

/**
 * Same data. (Upstream also compares the hash labels, but only when they parse as integers,
 * which safe-encoded hashes never do: in effect the data decides.)
 */
export function equalRevision(a: KObject | undefined, b: KObject | undefined): boolean {
  if (!a || !b) return a === b;
  return canonicalJson(a.data) === canonicalJson(b.data);
}

/**
 * An unsaved revision of owner's current template (upstream NewControllerRevision): labels are
 * the template's plus the hash label, annotations the owner's, controlled by the owner.
 */
export function newRevision(
  owner: KObject,
  ownerRef: OwnerReference,
  revision: number,
  collisionCount: number,
  extraLabels: Record<string, string> = {},
): KObject {
  const data = templatePatch(owner);
  const hash = hashRevision(data, collisionCount);
  const meta = owner.metadata!;
  const cr: KObject = {
    apiVersion: 'apps/v1',
    kind: 'ControllerRevision',
    metadata: {
      name: revisionName(meta.name!, hash),
      namespace: meta.namespace,
      labels: { ...(owner.spec?.template?.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash, ...extraLabels },
      ownerReferences: [ownerRef],
    },
    data,
    revision,
  };
  if (meta.annotations && Object.keys(meta.annotations).length) cr.metadata!.annotations = { ...meta.annotations };
  return cr;
}

/**
 * Creates revision for owner, renaming it with a new hash while a different revision holds the
 * name (each clash bumps collision.count, which the caller stores in status.collisionCount).
 * Returns the existing revision when an identical one already has the name.
 */
export async function createRevision(client: ResourceClient, owner: KObject, revision: KObject, collision: { count: number }): Promise<KObject> {
  const ns = owner.metadata!.namespace;
  for (;;) {
    const hash = hashRevision(revision.data, collision.count);
    const clone: KObject = { ...revision, metadata: { ...revision.metadata, name: revisionName(owner.metadata!.name!, hash), labels: { ...revision.metadata?.labels, [REVISION_HASH_LABEL]: hash } } };
    try {
      return await client.create(ns, clone);
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      const existing = await client.get(ns, clone.metadata!.name!);
      if (canonicalJson(existing.data) === canonicalJson(clone.data)) return existing;
      collision.count++;
    }
  }
}

/** Sets a revision's number (rolling back to an older template reuses its revision). */
export async function updateRevisionNumber(client: ResourceClient, revision: KObject, n: number): Promise<KObject> {
  if (revision.revision === n) return revision;
  return client.patch(revision.metadata!.namespace, revision.metadata!.name!, { revision: n }, 'merge');
}

/**
 * Deletes the oldest revisions not in `live` so at most `limit` non-live ones remain
 * (revisions must be sorted oldest first).
 */
export async function truncateHistory(client: ResourceClient, revisions: KObject[], live: Set<string>, limit: number): Promise<void> {
  const old = revisions.filter((r) => !live.has(r.metadata!.name!));
  if (old.length <= limit) return;
  for (const r of old.slice(0, old.length - limit)) {
    try {
      await client.delete(r.metadata!.namespace, r.metadata!.name!);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
}
