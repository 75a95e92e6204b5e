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
  if (r.def.nameColumnLast) return [...r.def.columns, { ...NAME_COLUMN, priority: 1 }];
  return [NAME_COLUMN, ...r.def.columns];
}

function rowOf(r: Resource, obj: KObject, include: IncludeObject): unknown {
  const name = r.def.nameCell ? r.def.nameCell(obj) : obj.metadata?.name;
  const row: Record<string, unknown> = { cells: r.def.nameColumnLast ? [...r.def.row(obj), name] : [name, ...r.def.row(obj)] };
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
