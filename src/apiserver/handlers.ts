// Resource request handlers: one function per verb, from the parsed request to the registry,
// including the status, scale and binding subresources and the four patch types.
import type { IncomingMessage, ServerResponse } from 'node:http';
import fastJsonPatch from 'fast-json-patch';
import type { KObject } from '../api/types.js';
import { ApiError, badRequest, conflict, methodNotAllowed, notFound } from './errors.js';
import { decodeObject, mediaType, readBody, sendJson, successStatus } from './http.js';
import { handleList, handleWatch, buildFilter, matches } from './list-watch.js';
import { mergePatch } from './patch/merge.js';
import type { applyPatch, formatConflicts } from './patch/apply.js';
import { writeTimings, type DeleteOptions, type Registry } from './registry.js';
import type { Resource } from './resource.js';
import type { RequestContext } from './context.js';
import type { ResourceRequest } from './request-info.js';
import { parseIncludeObject, toTable, wantsTable } from './table.js';
import type { WatchCache } from './watch-cache.js';
import type { ServiceAccountTokens } from './service-account-tokens.js';
import { handleEviction } from './eviction.js';
import { handlePodSubresource, type KubeletConnection } from './pod-proxy.js';
import { labelSelectorFromObject } from './selectors.js';
import { formatLabelSelector } from '../api/printers.js';

/** The schema-aware parts (see patch-support.ts). */
export interface PatchSupport {
  strategicMergePatch(original: any, patch: any, group: string, kind: string): any;
  applyPatch: typeof applyPatch;
  formatConflicts: typeof formatConflicts;
  unknownFields(group: string, version: string, kind: string, obj: any, prune?: boolean): string[];
}

export interface HandlerEnv {
  registry: Registry;
  cache: WatchCache;
  patch: PatchSupport;
  tokens: ServiceAccountTokens;
  /** How the API server reaches kubelets (logs, exec, port-forward, proxy). */
  kubelet?: KubeletConnection;
}

/** Subresources served by the node's kubelet, proxied by the API server. */
const KUBELET_SUBRESOURCES: Record<string, string[]> = {
  pods: ['log', 'exec', 'attach', 'portforward', 'proxy'],
  nodes: ['proxy'],
};

const PATCH_TYPES = [
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
];

export async function handleResource(
  env: HandlerEnv,
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  info: ResourceRequest,
  q: URLSearchParams,
): Promise<void> {
  const { registry } = env;
  const method = req.method ?? 'GET';
  const ns = r.namespaced ? info.namespace : undefined;
  const external = (o: KObject) => registry.external(r, o);
  const sub = info.subresource;
  const watch = info.legacyWatch || q.get('watch') === 'true' || q.get('watch') === '1';
  const warnings: string[] = [];

  if (info.name && sub && r.group === '' && (KUBELET_SUBRESOURCES[r.plural] ?? []).includes(sub))
    return handlePodSubresource(env, ctx, req, res, r, ns, info.name, sub);
  if (sub && !isKnownSubresource(r, sub)) throw notFound(r.group, `${r.plural}/${sub}`, info.name ?? '');

  // Collection requests.
  if (!info.name) {
    if (method === 'GET') {
      if (watch) return handleWatch(req, res, env.cache, r, ns, q, external);
      return handleList(req, res, env.cache, r, ns, q, external);
    }
    if (method === 'POST') {
      if (r.namespaced && !ns) throw methodNotAllowed();
      const t0 = writeTimings ? performance.now() : 0;
      const obj = await decodeBody(env, req, r, q, warnings);
      const t1 = writeTimings ? performance.now() : 0;
      const created = await registry.create(ctx, r, ns, obj);
      const t2 = writeTimings ? performance.now() : 0;
      respond(req, res, r, ctx.dryRun ? 201 : 201, created, q, warnings);
      if (writeTimings) {
        writeTimings.add('create.decode', t1 - t0);
        writeTimings.add('create.encode', performance.now() - t2);
        writeTimings.add('create.handler', performance.now() - t0);
      }
      return;
    }
    if (method === 'DELETE') return deleteCollection(env, ctx, req, res, r, ns, q);
    throw methodNotAllowed();
  }

  const name = info.name;
  if (sub === 'scale') return handleScale(env, ctx, req, res, r, ns, name, q);
  if (sub === 'binding') return handleBinding(env, ctx, req, res, r, ns!, name);
  if (sub === 'eviction') return handleEviction(env, ctx, req, res, r, ns!, name);
  if (sub === 'token') {
    if (method !== 'POST') throw methodNotAllowed();
    const request = decodeObject(await readBody(req), req.headers['content-type']);
    return sendJson(res, 201, env.tokens.issue(registry.get(r, ns, name), request));
  }

  switch (method) {
    case 'GET': {
      if (watch) return handleWatch(req, res, env.cache, r, ns, q, external, name);
      return respond(req, res, r, 200, registry.get(r, ns, name), q, warnings);
    }
    case 'PUT': {
      const obj = await decodeBody(env, req, r, q, warnings);
      const updated = await registry.update(ctx, r, ns, name, obj, sub);
      return respond(req, res, r, 200, updated, q, warnings);
    }
    case 'PATCH': {
      const { obj, created } = await patchResource(env, ctx, req, r, ns, name, sub, q, warnings);
      return respond(req, res, r, created ? 201 : 200, obj, q, warnings);
    }
    case 'DELETE': {
      if (sub) throw methodNotAllowed();
      const opts = await deleteOptions(req, q);
      const { obj, gone } = await registry.delete(ctx, r, ns, name, opts);
      return respond(req, res, r, gone || ctx.dryRun ? 200 : 202, obj, q, warnings);
    }
    default:
      throw methodNotAllowed();
  }
}

function isKnownSubresource(r: Resource, sub: string): boolean {
  const s = r.def.subresources ?? {};
  if (sub === 'status') return !!s.status || (r.group === '' && r.plural === 'namespaces');
  if (sub === 'scale') return !!s.scale;
  if (sub === 'binding') return !!s.binding;
  if (sub === 'eviction') return r.group === '' && r.plural === 'pods';
  if (sub === 'finalize') return r.group === '' && r.plural === 'namespaces';
  if (sub === 'token') return r.group === '' && r.plural === 'serviceaccounts';
  return false;
}

function respond(
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  code: number,
  obj: KObject,
  q: URLSearchParams,
  warnings: string[],
): void {
  const headers: Record<string, string> = {};
  if (warnings.length) headers['Warning'] = warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', ');
  if (wantsTable(req.headers.accept)) {
    sendJson(res, code, toTable(r, [obj], { resourceVersion: obj.metadata?.resourceVersion }, parseIncludeObject(q.get('includeObject'))), headers);
    return;
  }
  sendJson(res, code, obj, headers);
}

/** Reads and decodes a create/update body, applying fieldValidation (Strict, Warn, Ignore). */
async function decodeBody(env: HandlerEnv, req: IncomingMessage, r: Resource, q: URLSearchParams, warnings: string[]): Promise<KObject> {
  const obj = decodeObject(await readBody(req), req.headers['content-type']);
  checkUnknownFields(env, r, q, obj, warnings);
  return obj;
}

function checkUnknownFields(env: HandlerEnv, r: Resource, q: URLSearchParams, obj: KObject, warnings: string[]): void {
  const mode = q.get('fieldValidation') ?? 'Warn';
  if (mode !== 'Strict' && mode !== 'Warn' && mode !== 'Ignore')
    throw badRequest(`fieldValidation parameter unsupported: ${mode}; valid values are Strict, Warn, Ignore`);
  // Outside Strict mode unknown fields are dropped, as upstream's decoder does.
  const unknown = env.patch.unknownFields(r.group, r.version, r.kind, obj, mode !== 'Strict');
  if (!unknown.length || mode === 'Ignore') return;
  if (mode === 'Strict')
    throw badRequest(`${r.kind} in version "${r.version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.join(', ')}`);
  warnings.push(...unknown);
}

async function patchResource(
  env: HandlerEnv,
  ctx: RequestContext,
  req: IncomingMessage,
  r: Resource,
  ns: string | undefined,
  name: string,
  sub: string | undefined,
  q: URLSearchParams,
  warnings: string[],
): Promise<{ obj: KObject; created: boolean }> {
  const type = mediaType(req.headers['content-type']);
  if (!PATCH_TYPES.includes(type))
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${PATCH_TYPES.join(', ')}`);
  const body = await readBody(req);
  if (type === 'application/apply-patch+yaml') {
    const applied = decodeObject(body, type);
    checkUnknownFields(env, r, q, applied, warnings);
    const manager = q.get('fieldManager');
    if (!manager) throw badRequest('PATCH, application/apply-patch+yaml requests require fieldManager to be explicitly set');
    const apply = env.patch.applyPatch;
    const force = q.get('force') === 'true';
    return env.registry.guaranteedUpdate(
      { ...ctx, applying: true },
      r,
      ns,
      name,
      (cur) => {
        if (applied.metadata?.name && applied.metadata.name !== name)
          throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
        const result = apply(cur, applied, {
          manager,
          force,
          group: r.group,
          version: r.version,
          kind: r.kind,
          subresource: sub,
          statusSubresource: !!r.def.subresources?.status,
          now: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        });
        if ('conflicts' in result) {
          const { message, causes } = env.patch.formatConflicts(result.conflicts);
          throw new ApiError(409, 'Conflict', message, { causes });
        }
        const obj = result.object;
        (obj.metadata ??= {}).name = name;
        if (!cur && r.namespaced) obj.metadata.namespace = ns;
        return obj;
      },
      { subresource: sub, createIfMissing: true },
    );
  }

  let patch: any;
  try {
    patch = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw badRequest(`error decoding patch: ${(e as Error).message}`);
  }
  return env.registry.guaranteedUpdate(
    ctx,
    r,
    ns,
    name,
    (cur) => {
      const patched = applyNonApplyPatch(env, type, cur!, patch, r);
      if (patched === null || typeof patched !== 'object' || Array.isArray(patched)) throw badRequest('the patch did not produce an object');
      checkUnknownFields(env, r, q, patched, warnings);
      // A resourceVersion in the patch is a precondition; otherwise the registry uses the current one.
      if (patched.metadata && patched.metadata.resourceVersion === cur!.metadata?.resourceVersion) delete patched.metadata.resourceVersion;
      return patched;
    },
    { subresource: sub },
  );
}

function applyNonApplyPatch(env: HandlerEnv, type: string, cur: KObject, patch: any, r: Resource): KObject {
  switch (type) {
    case 'application/json-patch+json': {
      if (!Array.isArray(patch)) throw badRequest('json patch must be an array of operations');
      try {
        return fastJsonPatch.applyPatch(cur, patch, true, true).newDocument;
      } catch (e) {
        throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    case 'application/merge-patch+json':
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('merge patch must be a JSON object');
      return mergePatch(cur, patch);
    case 'application/strategic-merge-patch+json': {
      if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw badRequest('strategic merge patch must be a JSON object');
      try {
        return env.patch.strategicMergePatch(cur, patch, r.group, r.kind);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw badRequest((e as Error).message);
      }
    }
  }
  throw badRequest(`unsupported patch type ${type}`);
}

async function deleteOptions(req: IncomingMessage, q: URLSearchParams): Promise<DeleteOptions> {
  let opts: DeleteOptions = {};
  const body = await readBody(req);
  if (body.length && body.toString('utf8').trim()) {
    const o = decodeObject(body, req.headers['content-type'] || 'application/json');
    if (o.kind && o.kind !== 'DeleteOptions') throw badRequest(`expected DeleteOptions, got ${o.kind}`);
    opts = o;
  }
  const grace = q.get('gracePeriodSeconds');
  if (grace !== null) {
    if (!/^-?\d+$/.test(grace)) throw badRequest(`invalid gracePeriodSeconds: ${grace}`);
    opts.gracePeriodSeconds = Number(grace);
  }
  const policy = q.get('propagationPolicy');
  if (policy !== null) {
    if (policy !== 'Orphan' && policy !== 'Background' && policy !== 'Foreground')
      throw new ApiError(422, 'Invalid', `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "${policy}": supported values: "Foreground", "Background", "Orphan"`);
    opts.propagationPolicy = policy;
  }
  if (q.get('orphanDependents') !== null) opts.orphanDependents = q.get('orphanDependents') === 'true';
  return opts;
}

async function deleteCollection(
  env: HandlerEnv,
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  ns: string | undefined,
  q: URLSearchParams,
): Promise<void> {
  const opts = await deleteOptions(req, q);
  const filter = buildFilter(r, ns, q);
  const targets = env.cache.resource(r.storage).sortedEntries().filter((e) => matches(filter, e));
  const items: KObject[] = [];
  for (const e of targets) {
    try {
      const { obj } = await env.registry.delete(ctx, r, e.obj.metadata?.namespace, e.obj.metadata!.name!, opts);
      items.push(obj);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 404)) throw err;
    }
  }
  sendJson(res, 200, { kind: r.listKind, apiVersion: r.apiVersion, metadata: { resourceVersion: String(env.cache.rev) }, items });
}

/** GET/PUT/PATCH of autoscaling/v1 Scale for resources with a scale subresource. */
async function handleScale(
  env: HandlerEnv,
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  ns: string | undefined,
  name: string,
  q: URLSearchParams,
): Promise<void> {
  const spec = r.def.subresources!.scale!;
  const toScale = (o: KObject): KObject => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata!.name,
      namespace: o.metadata!.namespace,
      uid: o.metadata!.uid,
      resourceVersion: o.metadata!.resourceVersion,
      creationTimestamp: o.metadata!.creationTimestamp,
    },
    spec: { replicas: getPath(o, spec.specReplicasPath) ?? 0 },
    status: {
      replicas: getPath(o, spec.statusReplicasPath) ?? 0,
      ...(spec.selectorPath && getPath(o, spec.selectorPath) ? { selector: selectorString(getPath(o, spec.selectorPath)) } : {}),
    },
  });
  const method = req.method;
  if (method === 'GET') return sendJson(res, 200, toScale(env.registry.get(r, ns, name)));
  if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed();
  let scaleBody: any;
  let patchType = '';
  if (method === 'PUT') scaleBody = decodeObject(await readBody(req), req.headers['content-type']);
  else {
    patchType = mediaType(req.headers['content-type']);
    scaleBody = JSON.parse((await readBody(req)).toString('utf8') || 'null');
  }
  const { obj } = await env.registry.guaranteedUpdate(ctx, r, ns, name, (cur) => {
    const scale = toScale(cur!);
    let desired: KObject;
    if (method === 'PUT') {
      if (scaleBody.metadata?.resourceVersion && scaleBody.metadata.resourceVersion !== cur!.metadata!.resourceVersion)
        throw conflict(r.group, r.plural, name, 'the object has been modified; please apply your changes to the latest version and try again');
      desired = scaleBody;
    } else desired = applyNonApplyPatch(env, patchType, scale, scaleBody, { ...r, group: 'autoscaling', kind: 'Scale' } as Resource);
    const replicas = desired.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0)
      throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`);
    setPath(cur!, spec.specReplicasPath, replicas);
    return cur!;
  }, { subresource: 'scale' });
  sendJson(res, 200, toScale(obj));
}

/** POST pods/<name>/binding: assigns the pod to a node (only the scheduler's path). */
async function handleBinding(
  env: HandlerEnv,
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
  r: Resource,
  ns: string,
  name: string,
): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed();
  const t0 = writeTimings ? performance.now() : 0;
  const binding = decodeObject(await readBody(req), req.headers['content-type']);
  const node = binding.target?.name;
  if (!node) throw new ApiError(422, 'Invalid', `Binding "${name}" is invalid: target.name: Required value`);
  await env.registry.bind(ctx, r, ns, name, node, binding.metadata?.uid);
  sendJson(res, 201, successStatus());
  if (writeTimings) writeTimings.add('binding.handler', performance.now() - t0);
}

export function getPath(o: any, path: string): any {
  let v = o;
  for (const p of path.split('.')) v = v?.[p];
  return v;
}

function setPath(o: any, path: string, value: unknown): void {
  const parts = path.split('.');
  let v = o;
  for (const p of parts.slice(0, -1)) v = v[p] ??= {};
  v[parts[parts.length - 1]] = value;
}

function selectorString(sel: any): string {
  if (typeof sel === 'string') return sel;
  // ReplicationControllers use a plain label map as their selector.
  if (sel && !sel.matchLabels && !sel.matchExpressions) sel = { matchLabels: sel };
  labelSelectorFromObject(sel); // validates shape
  const s = formatLabelSelector(sel);
  return s === '<none>' ? '' : s;
}

