// Patch metadata for built-in kinds: how lists and maps merge in strategic merge patch and
// server-side apply (upstream's patchStrategy/patchMergeKey tags and x-kubernetes-list-type).
// Derived from the schemas in src/api/schema (lists.ts holds the metadata itself).
import { fieldAtPath, keyForKind, type FieldMeta } from '../../api/schema/index.js';

export interface ListInfo {
  /** 'map': items keyed by keys; 'set': scalar items merged as a set; 'atomic': replaced whole. */
  type: 'map' | 'set' | 'atomic';
  keys?: string[];
  /** Strategic merge patch: 'merge' merges by mergeKey, 'replace' (default) replaces. */
  patchStrategy?: 'merge' | 'replace' | 'merge,retainKeys' | 'retainKeys';
  mergeKey?: string;
}

const cache = new Map<string, ListInfo | null>();

/**
 * Metadata of the list at path (field names from the object root, list indices skipped),
 * e.g. listInfo('', 'Pod', ['spec', 'containers']) -> { type: 'map', keys: ['name'], patchStrategy: 'merge', mergeKey: 'name' }.
 * undefined: not a known list (treat as atomic for SMP replace semantics).
 */
export function listInfo(group: string, kind: string, path: readonly string[]): ListInfo | undefined {
  const id = group + '/' + kind + '/' + path.join('.');
  let info = cache.get(id);
  if (info === undefined) {
    info = compute(group, kind, path);
    cache.set(id, info);
  }
  return info ?? undefined;
}

function compute(group: string, kind: string, path: readonly string[]): ListInfo | null {
  const key = keyForKind(group, 'v1', kind);
  if (!key) return null;
  const field = fieldAtPath(key, path);
  if (!field || field.type.t !== 'array') return null;
  return toListInfo(field.meta);
}

export function toListInfo(meta: FieldMeta | undefined): ListInfo {
  const info: ListInfo = { type: meta?.listType ?? 'atomic' };
  if (meta?.mapKeys) info.keys = meta.mapKeys;
  if (meta?.patchStrategy) info.patchStrategy = meta.patchStrategy as ListInfo['patchStrategy'];
  if (meta?.mergeKey) info.mergeKey = meta.mergeKey;
  return info;
}
