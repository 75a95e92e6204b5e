// A served resource: its definition plus what the server derives from it once.
import type { ResourceDef } from '../api/types.js';

export interface Resource {
  def: ResourceDef;
  group: string;
  version: string;
  /** "v1" or "apps/v1". */
  apiVersion: string;
  kind: string;
  listKind: string;
  plural: string;
  namespaced: boolean;
  /** Storage key segment: objects live under /registry/<storage>/. */
  storage: string;
  verbs: string[];
}

export const DEFAULT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function toResource(def: ResourceDef): Resource {
  return {
    def,
    group: def.group,
    version: def.version,
    apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
    kind: def.kind,
    listKind: def.listKind ?? `${def.kind}List`,
    plural: def.plural,
    namespaced: def.namespaced,
    storage: def.storage ?? (def.group ? `${def.group}/${def.plural}` : def.plural),
    verbs: def.verbs ?? DEFAULT_VERBS,
  };
}

export function storageKey(r: Resource, namespace: string | undefined, name: string): string {
  return r.namespaced ? `/registry/${r.storage}/${namespace}/${name}` : `/registry/${r.storage}/${name}`;
}

/** Prefix of all keys of r (in one namespace when given). */
export function storagePrefix(r: Resource, namespace?: string): string {
  return r.namespaced && namespace ? `/registry/${r.storage}/${namespace}/` : `/registry/${r.storage}/`;
}
