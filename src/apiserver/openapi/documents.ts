// The OpenAPI documents: /openapi/v2 (one swagger 2.0 document) and /openapi/v3 (an index of
// per-group-version OpenAPI 3.0 documents, each addressed with a content hash). Built from the
// resource definitions on first use and then kept: schemas of built-in kinds do not change.
import { createHash } from 'node:crypto';
import type { ResourceDef } from '../../api/types.js';
import { collectSchemas, refPrefix, type GVK } from './schemas.js';
import { gvPrefix, resourceKinds, resourcePaths } from './paths.js';

export interface Built {
  body: Buffer;
  etag: string; // upper-case hex sha512, as upstream's hashes
}

export interface OpenAPIDocs {
  v2: Built;
  /** The /openapi/v3 index. */
  v3Index: Built;
  /** Per group version, keyed by "api/v1" or "apis/<group>/<version>". */
  v3: Map<string, Built>;
}

/**
 * A group version whose kinds are not in the built-in schema model (metrics.k8s.io): its
 * definitions come ready-made, under their own upstream names.
 */
export interface ExtraGroupVersion {
  resources: readonly ResourceDef[];
  /** The definitions by name, refs under refPrefix. */
  definitions(refPrefix: string): Record<string, Record<string, unknown>>;
  /** What they refer to that the model provides: definition keys or shared scalar names. */
  dependencies: readonly string[];
  /** The definition name of a kind (or list kind) of these resources. */
  definitionName(kind: string): string | undefined;
}

const META_KINDS = ['meta.v1.Status', 'meta.v1.DeleteOptions', 'meta.v1.WatchEvent', 'meta.v1.APIResourceList'];
const INFO = { title: 'Kubernetes', version: 'v1.32.0' };

function built(doc: unknown): Built {
  const body = Buffer.from(JSON.stringify(doc));
  return { body, etag: createHash('sha512').update(body).digest('hex').toUpperCase() };
}

/** x-kubernetes-group-version-kind of each definition key, for a set of resources. */
function kindIndex(resources: readonly ResourceDef[]): Map<string, GVK[]> {
  const out = new Map<string, GVK[]>();
  const add = (key: string, gvk: GVK) => {
    const list = out.get(key) ?? [];
    if (!list.some((g) => g.group === gvk.group && g.version === gvk.version && g.kind === gvk.kind)) list.push(gvk);
    out.set(key, list);
  };
  const gvs = new Set<string>();
  for (const r of resources) {
    for (const { key, gvk } of resourceKinds(r)) add(key, gvk);
    gvs.add(r.group + '/' + r.version);
  }
  // Status is core/v1; DeleteOptions and WatchEvent are registered in every group version.
  add('meta.v1.Status', { group: '', version: 'v1', kind: 'Status' });
  for (const gv of [...gvs].sort()) {
    const [group, version] = gv.split('/');
    add('meta.v1.DeleteOptions', { group, version, kind: 'DeleteOptions' });
    add('meta.v1.WatchEvent', { group, version, kind: 'WatchEvent' });
  }
  return out;
}

export function buildDocuments(resources: readonly ResourceDef[], extras: readonly ExtraGroupVersion[] = []): OpenAPIDocs {
  const kinds = kindIndex([...resources, ...extras.flatMap((e) => e.resources)]);
  const gvksOf = (key: string) => kinds.get(key);

  // v2: everything in one document.
  const v2Paths: Record<string, unknown> = {};
  for (const r of resources) Object.assign(v2Paths, resourcePaths(r, 'v2'));
  for (const e of extras) for (const r of e.resources) Object.assign(v2Paths, resourcePaths(r, 'v2', (k) => e.definitionName(k)));
  const v2Roots = [...kinds.keys(), ...META_KINDS, ...extras.flatMap((e) => e.dependencies)];
  const v2Defs = collectSchemas(v2Roots, 'v2', gvksOf);
  for (const e of extras) Object.assign(v2Defs, e.definitions(refPrefix('v2')));
  const v2 = built({
    swagger: '2.0',
    info: INFO,
    paths: sortKeys(v2Paths),
    definitions: sortKeys(v2Defs),
    securityDefinitions: { BearerToken: { description: 'Bearer Token authentication', type: 'apiKey', name: 'authorization', in: 'header' } },
    security: [{ BearerToken: [] }],
  });

  // v3: one document per group version.
  const byGV = new Map<string, ResourceDef[]>();
  for (const r of resources) {
    const gv = gvPrefix(r.group, r.version).slice(1);
    byGV.set(gv, [...(byGV.get(gv) ?? []), r]);
  }
  const v3 = new Map<string, Built>();
  for (const e of extras) {
    const paths: Record<string, unknown> = {};
    for (const r of e.resources) Object.assign(paths, resourcePaths(r, 'v3', (k) => e.definitionName(k)));
    const schemas = collectSchemas([...META_KINDS, ...e.dependencies], 'v3', gvksOf);
    Object.assign(schemas, e.definitions(refPrefix('v3')));
    const gv = gvPrefix(e.resources[0].group, e.resources[0].version).slice(1);
    v3.set(gv, built(v3Document(paths, schemas)));
  }
  for (const [gv, rs] of byGV) {
    const paths: Record<string, unknown> = {};
    const roots = new Set<string>(META_KINDS);
    for (const r of rs) {
      Object.assign(paths, resourcePaths(r, 'v3'));
      for (const { key } of resourceKinds(r)) roots.add(key);
    }
    v3.set(gv, built(v3Document(paths, collectSchemas(roots, 'v3', gvksOf))));
  }
  const index = { paths: Object.fromEntries([...v3.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([gv, b]) => [gv, { serverRelativeURL: `/openapi/v3/${gv}?hash=${b.etag}` }])) };
  return { v2, v3Index: built(index), v3 };
}

function v3Document(paths: Record<string, unknown>, schemas: Record<string, unknown>): unknown {
  return {
    openapi: '3.0.0',
    info: INFO,
    paths: sortKeys(paths),
    components: {
      schemas: sortKeys(schemas),
      securitySchemes: { BearerToken: { type: 'apiKey', description: 'Bearer Token authentication', name: 'authorization', in: 'header' } },
    },
  };
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
