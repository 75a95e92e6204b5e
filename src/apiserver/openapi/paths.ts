// The REST paths and operations of a resource, as upstream's OpenAPI documents describe them.
// kubectl reads these: QueryParamVerifierV3 looks for the fieldValidation query parameter on the
// PATCH operation whose x-kubernetes-group-version-kind is the resource's kind.
import type { ResourceDef } from '../../api/types.js';
import { keyForKind, openapiName } from '../../api/schema/index.js';
import { refPrefix, type Flavor, type GVK } from './schemas.js';

const DEFAULT_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

type Param = { name: string; in: 'query' | 'path'; type: 'string' | 'integer' | 'boolean'; required?: boolean };
const q = (name: string, type: Param['type'] = 'string'): Param => ({ name, in: 'query', type });

const LIST_PARAMS = [q('allowWatchBookmarks', 'boolean'), q('continue'), q('fieldSelector'), q('labelSelector'),
  q('limit', 'integer'), q('resourceVersion'), q('resourceVersionMatch'), q('sendInitialEvents', 'boolean'),
  q('timeoutSeconds', 'integer'), q('watch', 'boolean')];
const WRITE_PARAMS = [q('dryRun'), q('fieldManager'), q('fieldValidation')];
const PATCH_PARAMS = [...WRITE_PARAMS, q('force', 'boolean')];
const DELETE_PARAMS = [q('dryRun'), q('gracePeriodSeconds', 'integer'),
  q('ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean'), q('orphanDependents', 'boolean'), q('propagationPolicy')];
const DELETECOLLECTION_PARAMS = [q('continue'), q('dryRun'), q('fieldSelector'), q('gracePeriodSeconds', 'integer'),
  q('ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean'), q('labelSelector'), q('limit', 'integer'),
  q('orphanDependents', 'boolean'), q('propagationPolicy'), q('resourceVersion'), q('resourceVersionMatch'),
  q('sendInitialEvents', 'boolean'), q('timeoutSeconds', 'integer')];
const PATCH_TYPES = ['application/apply-patch+yaml', 'application/json-patch+json', 'application/merge-patch+json',
  'application/strategic-merge-patch+json'];

/** "rbac.authorization.k8s.io" -> "RbacAuthorization"; "" -> "Core" (operationId segment). */
export function groupIdent(group: string): string {
  if (!group) return 'Core';
  const parts = group.replace(/\.k8s\.io$/, '').split('.');
  return parts.map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}

/** "rbacAuthorization_v1", "core_v1" (operation tag). */
export function tag(group: string, version: string): string {
  const g = groupIdent(group);
  return g[0].toLowerCase() + g.slice(1) + '_' + version;
}

export function gvPrefix(group: string, version: string): string {
  return group ? `/apis/${group}/${version}` : `/api/${version}`;
}

/** Kinds a resource's paths name, keyed by definition key (for x-kubernetes-group-version-kind on schemas). */
export function resourceKinds(r: ResourceDef): { key: string; gvk: GVK }[] {
  const out: { key: string; gvk: GVK }[] = [];
  const add = (group: string, version: string, kind: string) => {
    const key = keyForKind(group, version, kind);
    if (key && !key.startsWith('meta.')) out.push({ key, gvk: { group, version, kind } });
  };
  add(r.group, r.version, r.kind);
  add(r.group, r.version, r.listKind ?? r.kind + 'List');
  if (r.subresources?.scale) add('autoscaling', 'v1', 'Scale');
  if (r.subresources?.binding) add('', 'v1', 'Binding');
  return out;
}

/**
 * Paths of one resource, with operations in the given flavor. definitionName names the
 * definitions of kinds outside the built-in schema model (default: the model's).
 */
export function resourcePaths(r: ResourceDef, flavor: Flavor, definitionName?: (kind: string) => string | undefined): Record<string, Record<string, unknown>> {
  const verbs = new Set(r.verbs ?? DEFAULT_VERBS);
  const gvk: GVK = { group: r.group, version: r.version, kind: r.kind };
  const nameOf = definitionName ?? ((kind: string) => {
    const key = keyForKind(r.group, r.version, kind);
    return key && openapiName(key);
  });
  const kindRef = nameOf(r.kind) ?? META + 'Status';
  const listRef = nameOf(r.listKind ?? r.kind + 'List') ?? META + 'Status';
  const ns = r.namespaced ? 'Namespaced' : '';
  const base = gvPrefix(r.group, r.version) + (r.namespaced ? '/namespaces/{namespace}' : '') + '/' + r.plural;
  const id = groupIdent(r.group) + r.version[0].toUpperCase() + r.version.slice(1);
  const nsParam: Param[] = r.namespaced ? [{ name: 'namespace', in: 'path', type: 'string', required: true }] : [];
  const nameParam: Param = { name: 'name', in: 'path', type: 'string', required: true };
  const pretty = q('pretty');
  const op = (o: OpSpec) => operation(o, flavor, tag(r.group, r.version));
  const paths: Record<string, Record<string, unknown>> = {};

  const collection: Record<string, unknown> = {};
  if (verbs.has('list')) collection.get = op({ id: `list${id}${ns}${r.kind}`, action: 'list', gvk, params: LIST_PARAMS, response: listRef, desc: `list or watch objects of kind ${r.kind}`, watchable: true });
  if (verbs.has('create')) collection.post = op({ id: `create${id}${ns}${r.kind}`, action: 'post', gvk, params: WRITE_PARAMS, body: kindRef, response: kindRef, desc: `create a ${r.kind}` });
  if (verbs.has('deletecollection')) collection.delete = op({ id: `deleteCollection${id}${ns}${r.kind}`, action: 'deletecollection', gvk, params: DELETECOLLECTION_PARAMS, body: META + 'DeleteOptions', response: META + 'Status', desc: `delete collection of ${r.kind}` });
  if (Object.keys(collection).length) paths[base] = { ...collection, parameters: params([...nsParam, pretty], flavor) };

  const item: Record<string, unknown> = {};
  if (verbs.has('get')) item.get = op({ id: `read${id}${ns}${r.kind}`, action: 'get', gvk, params: [], response: kindRef, desc: `read the specified ${r.kind}` });
  if (verbs.has('update')) item.put = op({ id: `replace${id}${ns}${r.kind}`, action: 'put', gvk, params: WRITE_PARAMS, body: kindRef, response: kindRef, desc: `replace the specified ${r.kind}` });
  if (verbs.has('patch')) item.patch = op({ id: `patch${id}${ns}${r.kind}`, action: 'patch', gvk, params: PATCH_PARAMS, patchBody: true, response: kindRef, desc: `partially update the specified ${r.kind}` });
  if (verbs.has('delete')) item.delete = op({ id: `delete${id}${ns}${r.kind}`, action: 'delete', gvk, params: DELETE_PARAMS, body: META + 'DeleteOptions', response: META + 'Status', desc: `delete a ${r.kind}` });
  if (Object.keys(item).length) paths[base + '/{name}'] = { ...item, parameters: params([nameParam, ...nsParam, pretty], flavor) };

  const sub = (name: string, ref: string, subGvk: GVK, suffix: string) => {
    paths[`${base}/{name}/${name}`] = {
      get: op({ id: `read${id}${ns}${r.kind}${suffix}`, action: 'get', gvk: subGvk, params: [], response: ref, desc: `read ${name} of the specified ${r.kind}` }),
      put: op({ id: `replace${id}${ns}${r.kind}${suffix}`, action: 'put', gvk: subGvk, params: WRITE_PARAMS, body: ref, response: ref, desc: `replace ${name} of the specified ${r.kind}` }),
      patch: op({ id: `patch${id}${ns}${r.kind}${suffix}`, action: 'patch', gvk: subGvk, params: PATCH_PARAMS, patchBody: true, response: ref, desc: `partially update ${name} of the specified ${r.kind}` }),
      parameters: params([nameParam, ...nsParam, pretty], flavor),
    };
  };
  if (r.subresources?.status) sub('status', kindRef, gvk, 'Status');
  if (r.subresources?.scale) sub('scale', 'io.k8s.api.autoscaling.v1.Scale', { group: 'autoscaling', version: 'v1', kind: 'Scale' }, 'Scale');
  if (r.subresources?.binding) {
    paths[`${base}/{name}/binding`] = {
      post: op({ id: `create${id}${ns}${r.kind}Binding`, action: 'post', gvk: { group: '', version: 'v1', kind: 'Binding' }, params: WRITE_PARAMS, body: 'io.k8s.api.core.v1.Binding', response: 'io.k8s.api.core.v1.Binding', desc: `create binding of a ${r.kind}` }),
      parameters: params([nameParam, ...nsParam, pretty], flavor),
    };
  }
  if (r.namespaced && verbs.has('list')) {
    paths[`${gvPrefix(r.group, r.version)}/${r.plural}`] = {
      get: op({ id: `list${id}${r.kind}ForAllNamespaces`, action: 'list', gvk, params: [], response: listRef, desc: `list or watch objects of kind ${r.kind}`, watchable: true }),
      parameters: params([...LIST_PARAMS, pretty], flavor),
    };
  }
  return paths;
}

interface OpSpec {
  id: string;
  action: string;
  gvk: GVK;
  params: Param[];
  body?: string;
  patchBody?: boolean;
  response: string;
  desc: string;
  watchable?: boolean;
}

function operation(o: OpSpec, flavor: Flavor, opTag: string): Record<string, unknown> {
  const ref = (name: string) => ({ $ref: refPrefix(flavor) + name });
  const out: Record<string, unknown> = { description: o.desc, operationId: o.id, tags: [opTag] };
  const produces = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
  if (o.watchable) produces.push('application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch');
  if (flavor === 'v2') {
    const ps: unknown[] = params(o.params, flavor);
    if (o.body || o.patchBody) ps.unshift({ name: 'body', in: 'body', required: !!o.patchBody, schema: ref(o.body ?? 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch') });
    if (o.patchBody) out.consumes = PATCH_TYPES;
    else out.consumes = ['*/*'];
    out.produces = produces;
    out.schemes = ['https'];
    if (ps.length) out.parameters = ps;
    out.responses = { '200': { description: 'OK', schema: ref(o.response) }, '401': { description: 'Unauthorized' } };
  } else {
    if (o.params.length) out.parameters = params(o.params, flavor);
    const body = o.patchBody ? 'io.k8s.apimachinery.pkg.apis.meta.v1.Patch' : o.body;
    if (body) {
      const types = o.patchBody ? PATCH_TYPES : ['*/*'];
      out.requestBody = { content: Object.fromEntries(types.map((t) => [t, { schema: ref(body) }])), required: !!o.patchBody };
    }
    out.responses = {
      '200': { description: 'OK', content: Object.fromEntries(produces.map((t) => [t, { schema: ref(o.response) }])) },
      '401': { description: 'Unauthorized' },
    };
  }
  out['x-kubernetes-action'] = o.action;
  out['x-kubernetes-group-version-kind'] = o.gvk;
  return out;
}

function params(ps: Param[], flavor: Flavor): Record<string, unknown>[] {
  return ps.map((p) => {
    const base: Record<string, unknown> = { name: p.name, in: p.in, description: '' };
    if (p.required) base.required = true;
    if (flavor === 'v2') return { ...base, type: p.type, uniqueItems: true };
    return { ...base, schema: { type: p.type, uniqueItems: true } };
  });
}
