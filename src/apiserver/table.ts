// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` renders.
import type { KObject } from '../api/types.js';
import type { Resource } from './resource.js';

const NAME_COLUMN = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Cannot be updated.',
  priority: 0,
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

/** Parses the Accept header: true when the client asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /;\s*as=Table/.test(accept) && /g=meta\.k8s\.io/.test(accept);
}

export function columnDefinitions(r: Resource): unknown[] {
  return [NAME_COLUMN, ...r.def.columns.map((c) => ({ ...c, name: c.name }))];
}

function rowOf(r: Resource, obj: KObject, include: IncludeObject): unknown {
  const row: Record<string, unknown> = { cells: [obj.metadata?.name, ...r.def.row(obj)] };
  if (include === 'Object') row.object = obj;
  else if (include === 'Metadata')
    row.object = { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
  return row;
}

export function toTable(
  r: Resource,
  objs: KObject[],
  listMeta: Record<string, unknown>,
  include: IncludeObject,
  withColumns = true,
): Record<string, unknown> {
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns ? { columnDefinitions: columnDefinitions(r) } : { columnDefinitions: null }),
    rows: objs.map((o) => rowOf(r, o, include)),
  };
}

export function parseIncludeObject(v: string | null): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}
