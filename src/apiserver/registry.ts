// The generic registry: create/get/list/update/patch/delete for any resource, with upstream's
// semantics (upstream: apiserver/pkg/registry/generic/registry/store.go). Kind-specific behaviour
// comes from the ResourceDef's strategy hooks. Reads come from the watch cache; every write waits
// until the cache reflects it, so a client reads its own writes.
import { randomUUID, randomInt } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { FieldError, KObject } from '../api/types.js';
import { dns1123LabelErrors, dns1123SubdomainErrors, validateAnnotations, validateLabels, invalid as fieldInvalid, required } from '../api/validation.js';
import { StoreError, type Store } from '../storage/store.js';
import {
  ApiError,
  MODIFIED,
  alreadyExists,
  badRequest,
  conflict,
  forbidden,
  internalError,
  invalid,
  notFound,
} from './errors.js';
import type { Resource } from './resource.js';
import { storageKey, storagePrefix } from './resource.js';
import type { CacheEntry, WatchCache } from './watch-cache.js';
import type { RequestContext } from './context.js';
import type { ServiceAllocator } from './service-allocator.js';
import type { AdmissionAttributes } from './admission/types.js';

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: string[];
}

/** Result of a delete: the object, and whether it is gone (200) or only marked (still there). */
export interface DeleteResult {
  obj: KObject;
  gone: boolean;
}

/** Hooks the server installs around writes (admission, managed fields). */
export interface WriteHooks {
  /** Runs before validation on create/update (mutating admission, managedFields tracking). */
  beforeWrite?(ctx: RequestContext, r: Resource, obj: KObject, old: KObject | undefined, subresource?: string): void | Promise<void>;
  /** Mutating admission, after defaulting and before validation. */
  mutate?(a: AdmissionAttributes): Promise<void>;
  /** Validating admission, after validation and before the store write. */
  admit?(a: AdmissionAttributes): Promise<void>;
}

const GENERATE_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * Per-phase write timings for latency probes (bench/write-latency.ts), on only with
 * SKIFF_WRITE_TIMING=1: every 2 s a `write-timing {...}` line with the mean and max of each
 * phase (ms) goes to stderr, and the samples are reset.
 */
class PhaseTimings {
  private readonly sums = new Map<string, { n: number; total: number; max: number }>();

  add(phase: string, ms: number): void {
    let s = this.sums.get(phase);
    if (!s) this.sums.set(phase, (s = { n: 0, total: 0, max: 0 }));
    s.n++;
    s.total += ms;
    if (ms > s.max) s.max = ms;
  }

  flush = (): void => {
    if (this.sums.size === 0) return;
    const out: Record<string, { n: number; mean: number; max: number }> = {};
    for (const [k, s] of this.sums) out[k] = { n: s.n, mean: +(s.total / s.n).toFixed(3), max: +s.max.toFixed(3) };
    this.sums.clear();
    process.stderr.write(`write-timing ${JSON.stringify(out)}\n`);
  };
}

export const writeTimings: PhaseTimings | undefined = process.env.SKIFF_WRITE_TIMING === '1' ? new PhaseTimings() : undefined;
if (writeTimings) setInterval(writeTimings.flush, 2000).unref();

export function nowRFC3339(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class Registry {
  /** Cluster IPs and node ports for Services (set by the server). */
  services?: ServiceAllocator;

  constructor(
    private readonly store: Store,
    private readonly cache: WatchCache,
    readonly hooks: WriteHooks = {},
  ) {}

  private isServices(r: Resource): boolean {
    return r.group === '' && r.plural === 'services' && !!this.services;
  }

  /** The cached entry of an object, if any (objects are shared: clone before mutating). */
  entry(r: Resource, namespace: string | undefined, name: string): CacheEntry | undefined {
    return this.cache.resource(r.storage).items.get(storageKey(r, namespace, name));
  }

  /** Every object of r (in namespace ns when given), from the cache; shared: clone before mutating. */
  list(r: Resource, namespace?: string): KObject[] {
    const prefix = storagePrefix(r, namespace);
    const out: KObject[] = [];
    for (const [key, e] of this.cache.resource(r.storage).items) if (key.startsWith(prefix)) out.push(this.external(r, e.obj));
    return out;
  }

  /** The current object; shared with the cache, so callers must clone before mutating. */
  get(r: Resource, namespace: string | undefined, name: string): KObject {
    const e = this.entry(r, namespace, name);
    if (!e) throw notFound(r.group, r.plural, name);
    return this.external(r, e.obj);
  }

  /** The object in r's version (converted when r views another resource's storage). */
  external(r: Resource, stored: KObject): KObject {
    return r.def.convert ? r.def.convert.fromStorage(stored) : stored;
  }

  async create(ctx: RequestContext, r: Resource, namespace: string | undefined, obj: KObject): Promise<KObject> {
    const t0 = writeTimings ? performance.now() : 0;
    checkTypeMeta(r, obj);
    const meta = (obj.metadata ??= {});
    if (r.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      meta.namespace = namespace ?? meta.namespace;
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    meta.uid = randomUUID();
    meta.creationTimestamp = nowRFC3339();
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    r.def.defaults?.(obj);
    r.def.prepareForCreate?.(obj);
    dropEmptyMetadata(obj);
    await this.hooks.mutate?.({ ctx, resource: r, operation: 'CREATE', namespace: meta.namespace, obj });
    await this.hooks.beforeWrite?.(ctx, r, obj, undefined);
    this.validate(r, obj, undefined);
    await this.hooks.admit?.({ ctx, resource: r, operation: 'CREATE', namespace: meta.namespace, obj });
    if (r.namespaced) this.admitNamespace(meta.namespace!);
    const key = storageKey(r, meta.namespace, meta.name!);
    if (this.isServices(r) && this.cache.resource(r.storage).items.has(key)) throw alreadyExists(r.group, r.plural, meta.name!);
    const rollback = this.isServices(r) ? await this.services!.allocate(obj, undefined, ctx.dryRun) : undefined;
    if (ctx.dryRun) return obj;

    let rev: number;
    const t1 = writeTimings ? performance.now() : 0;
    if (writeTimings) writeTimings.add('create.prepare', t1 - t0);
    try {
      rev = (await this.store.create(key, this.storedJson(r, obj))).modRevision;
      if (writeTimings) writeTimings.add('store.commit', performance.now() - t1);
    } catch (e) {
      await rollback?.();
      if (e instanceof StoreError && e.code === 'AlreadyExists') throw alreadyExists(r.group, r.plural, meta.name!);
      throw storeFailure(e);
    }
    return this.afterWrite(r, key, rev, obj);
  }

  /**
   * Replaces an object (PUT, and the final step of every patch). A resourceVersion in obj is a
   * precondition; without one the update is unconditional, as upstream allows for built-in kinds.
   */
  async update(
    ctx: RequestContext,
    r: Resource,
    namespace: string | undefined,
    name: string,
    obj: KObject,
    subresource?: string,
  ): Promise<KObject> {
    checkTypeMeta(r, obj);
    const meta = (obj.metadata ??= {});
    if (meta.name && meta.name !== name)
      throw badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    if (r.namespaced && meta.namespace && meta.namespace !== namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    meta.name = name;
    if (r.namespaced) meta.namespace = namespace;
    const key = storageKey(r, namespace, name);
    const cur = this.cache.resource(r.storage).items.get(key);
    if (!cur) throw notFound(r.group, r.plural, name);
    if (meta.resourceVersion && meta.resourceVersion !== cur.obj.metadata!.resourceVersion)
      throw conflict(r.group, r.plural, name, MODIFIED);
    const old = this.external(r, cur.obj);

    let next: KObject;
    if (subresource === 'status') {
      // Only status changes through /status (upstream ResetObjectMetaForStatus + spec reset).
      // Annotations pass through, as upstream's status strategies allow (controllers record
      // e.g. deployment.kubernetes.io/revision with their status write).
      next = structuredClone(old);
      next.status = obj.status;
      if (meta.annotations !== undefined) next.metadata!.annotations = meta.annotations;
      // A server-side apply to /status brings its own managedFields (Update writes are tracked after).
      if (ctx.applying && meta.managedFields !== undefined) next.metadata!.managedFields = meta.managedFields;
      next.metadata!.resourceVersion = meta.resourceVersion;
    } else if (subresource === 'finalize') {
      // namespaces/finalize: only spec.finalizers changes (the namespace controller's last step).
      next = structuredClone(old);
      next.spec = { ...(next.spec ?? {}), finalizers: obj.spec?.finalizers ?? [] };
      if (!next.spec.finalizers.length) delete next.spec.finalizers;
      next.metadata!.resourceVersion = meta.resourceVersion;
    } else {
      next = obj;
      const om = old.metadata!;
      meta.uid = om.uid;
      meta.creationTimestamp = om.creationTimestamp;
      if (om.deletionTimestamp) meta.deletionTimestamp = om.deletionTimestamp;
      else delete meta.deletionTimestamp;
      if (om.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = om.deletionGracePeriodSeconds;
      else delete meta.deletionGracePeriodSeconds;
      if (om.generation !== undefined) meta.generation = om.generation;
      else delete meta.generation;
      if (r.def.subresources?.status && subresource !== 'scale') {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
      r.def.defaults?.(next);
      r.def.prepareForUpdate?.(next, old); // bumps metadata.generation where the kind has one
    }
    dropEmptyMetadata(next);
    await this.hooks.beforeWrite?.(ctx, r, next, old, subresource);
    this.validate(r, next, old);
    await this.hooks.admit?.({ ctx, resource: r, subresource, operation: 'UPDATE', namespace: namespace, obj: next, old });

    if (unchanged(next, old)) return old;
    if (!ctx.dryRun && finishesDeletion(r, next, old)) {
      // The update removed the last finalizer of an object being deleted: it goes away now
      // (upstream's shouldDeleteDuringUpdate). Other writes to a terminating object, such as a
      // kubelet's status updates during graceful deletion, are ordinary updates.
      return this.remove(r, key, cur.rev, next);
    }
    const rollback = this.isServices(r) ? await this.services!.allocate(next, old, ctx.dryRun) : undefined;
    if (ctx.dryRun) return next;
    let rev: number;
    try {
      rev = (await this.store.update(key, this.storedJson(r, next), cur.rev)).modRevision;
    } catch (e) {
      await rollback?.();
      throw this.translateWriteError(e, r, name);
    }
    if (this.isServices(r)) await this.services!.release(old, next);
    return this.afterWrite(r, key, rev, next);
  }

  /**
   * Read-modify-write with retries: mutate gets a private copy of the current object (or throws).
   * Used by patch and by internal writers; a precondition resourceVersion disables retries.
   */
  async guaranteedUpdate(
    ctx: RequestContext,
    r: Resource,
    namespace: string | undefined,
    name: string,
    mutate: (cur: KObject | undefined) => KObject | Promise<KObject>,
    opts: { subresource?: string; createIfMissing?: boolean } = {},
  ): Promise<{ obj: KObject; created: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const e = this.entry(r, namespace, name);
      if (!e && !opts.createIfMissing) throw notFound(r.group, r.plural, name);
      const cur = e ? structuredClone(this.external(r, e.obj)) : undefined;
      const next = await mutate(cur);
      try {
        if (!e) return { obj: await this.create(ctx, r, namespace, next), created: true };
        const hadRv = next.metadata?.resourceVersion !== undefined && next.metadata.resourceVersion !== e.obj.metadata!.resourceVersion;
        if (!hadRv) (next.metadata ??= {}).resourceVersion = e.obj.metadata!.resourceVersion;
        return { obj: await this.update(ctx, r, namespace, name, next, opts.subresource), created: false };
      } catch (err) {
        const retryable = err instanceof ApiError && (err.reason === 'Conflict' || err.reason === 'AlreadyExists');
        if (!retryable || attempt >= 5) throw err;
        await this.catchUp();
      }
    }
  }

  /**
   * pods/binding: sets spec.nodeName and the PodScheduled condition without the update
   * validation (which forbids changing nodeName), as upstream's binding REST does.
   */
  async bind(ctx: RequestContext, r: Resource, namespace: string, name: string, node: string, uid?: string): Promise<void> {
    const key = storageKey(r, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const cur = this.cache.resource(r.storage).items.get(key);
      if (!cur) throw notFound(r.group, r.plural, name);
      const pod = structuredClone(cur.obj);
      if (uid && pod.metadata!.uid !== uid)
        throw conflict(r.group, 'pods/binding', name, `Precondition failed: UID in precondition: ${uid}, UID in object meta: ${pod.metadata!.uid}`);
      if (pod.metadata!.deletionTimestamp) throw conflict(r.group, 'pods/binding', name, `pod ${name} is being deleted, cannot be assigned to a host`);
      if (pod.spec?.nodeName) throw conflict(r.group, 'pods/binding', name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec = { ...(pod.spec ?? {}), nodeName: node };
      const status = (pod.status ??= {});
      const conds = (status.conditions ??= []).filter((c: any) => c.type !== 'PodScheduled');
      conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: nowRFC3339() });
      status.conditions = conds;
      if (ctx.dryRun) return;
      let rev: number;
      const t1 = writeTimings ? performance.now() : 0;
      try {
        rev = (await this.store.update(key, this.storedJson(r, pod), cur.rev)).modRevision;
        if (writeTimings) writeTimings.add('store.commit', performance.now() - t1);
      } catch (e) {
        if (e instanceof StoreError && e.code === 'Conflict' && attempt < 5) {
          // Our cached copy was behind: decide again on what the store has committed.
          await this.catchUp();
          continue;
        }
        throw this.translateWriteError(e, r, name);
      }
      await this.waitForCache(rev);
      return;
    }
  }

  /** After a conflict: wait until the cache reflects everything the store has committed. */
  private async catchUp(): Promise<void> {
    await this.cache.waitFor(await this.store.currentRevision(), 5000).catch(() => undefined);
  }

  /**
   * Waits until the cache reflects an acknowledged write, so the writer reads its own write. A
   * write the store acknowledged has happened: if the cache is late, it is logged and the
   * write still succeeds (an error would invite a retry of something already done).
   */
  private async waitForCache(rev: number): Promise<void> {
    const t = writeTimings ? performance.now() : 0;
    try {
      await this.cache.waitFor(rev);
    } catch (err) {
      process.emitWarning(`registry: write at revision ${rev} acknowledged, but ${(err as Error).message}`);
    }
    if (writeTimings) writeTimings.add('cache.wait', performance.now() - t);
  }

  async delete(ctx: RequestContext, r: Resource, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<DeleteResult> {
    // Without a resourceVersion precondition a delete is unconditional: a conflict only means our
    // cached copy was behind another writer, so catch up and decide again.
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.deleteOnce(ctx, r, namespace, name, opts);
      } catch (err) {
        const retry =
          err instanceof ApiError && err.reason === 'Conflict' && !err.message.includes('Precondition failed') && !opts.preconditions?.resourceVersion && attempt < 5;
        if (!retry) throw err;
        await this.catchUp();
      }
    }
  }

  private async deleteOnce(ctx: RequestContext, r: Resource, namespace: string | undefined, name: string, opts: DeleteOptions): Promise<DeleteResult> {
    const key = storageKey(r, namespace, name);
    const cur = this.cache.resource(r.storage).items.get(key);
    if (!cur) throw notFound(r.group, r.plural, name);
    const old = this.external(r, cur.obj);
    const om = old.metadata!;
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== om.uid)
      throw conflict(r.group, r.plural, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${om.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== om.resourceVersion)
      throw conflict(r.group, r.plural, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in meta: ${om.resourceVersion}`);
    if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0)
      throw badRequest('gracePeriodSeconds must be non-negative');

    // Graceful deletion (pods): mark now, the kubelet deletes with grace 0 once containers stop.
    let grace = 0;
    if (r.def.gracefulDelete) {
      grace = opts.gracePeriodSeconds ?? old.spec?.terminationGracePeriodSeconds ?? 30;
      const phase = old.status?.phase;
      if (!old.spec?.nodeName || phase === 'Succeeded' || phase === 'Failed') grace = 0;
    }

    const finalizers = new Set(om.finalizers ?? []);
    const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : undefined);
    if (policy === 'Orphan') finalizers.add('orphan');
    if (policy === 'Foreground') finalizers.add('foregroundDeletion');
    if (policy === 'Background') {
      finalizers.delete('orphan');
      finalizers.delete('foregroundDeletion');
    }
    const mustWait = finalizers.size > 0 || grace > 0 || (isNamespace(r) && (old.spec?.finalizers?.length ?? 0) > 0);
    if (mustWait) {
      if (om.deletionTimestamp && (om.deletionGracePeriodSeconds ?? 0) <= grace && sameSet(finalizers, om.finalizers)) {
        return { obj: old, gone: false }; // already being deleted
      }
      const next = structuredClone(old);
      const nm = next.metadata!;
      const ts = Date.now() + grace * 1000;
      if (!nm.deletionTimestamp || grace < (nm.deletionGracePeriodSeconds ?? Infinity)) {
        nm.deletionTimestamp = new Date(ts).toISOString().replace(/\.\d{3}Z$/, 'Z');
        nm.deletionGracePeriodSeconds = grace;
      }
      if (finalizers.size) nm.finalizers = [...finalizers];
      if (isNamespace(r)) next.status = { ...(next.status ?? {}), phase: 'Terminating' };
      if (ctx.dryRun) return { obj: next, gone: false };
      let rev: number;
      try {
        rev = (await this.store.update(key, this.storedJson(r, next), cur.rev)).modRevision;
      } catch (e) {
        throw this.translateWriteError(e, r, name);
      }
      return { obj: await this.afterWrite(r, key, rev, next), gone: false };
    }
    if (ctx.dryRun) return { obj: old, gone: true };
    return { obj: await this.remove(r, key, cur.rev, old), gone: true };
  }

  private async remove(r: Resource, key: string, rev: number, obj: KObject): Promise<KObject> {
    let deleted;
    try {
      deleted = await this.store.delete(key, rev);
    } catch (e) {
      throw this.translateWriteError(e, r, obj.metadata!.name!);
    }
    if (this.isServices(r)) await this.services!.release(obj, undefined);
    await this.waitForCache(deleted.modRevision);
    return obj;
  }

  private async afterWrite(r: Resource, key: string, rev: number, obj: KObject): Promise<KObject> {
    await this.waitForCache(rev);
    const e = this.cache.resource(r.storage).items.get(key);
    if (e && e.rev === rev) return this.external(r, e.obj);
    obj.metadata!.resourceVersion = String(rev);
    return obj;
  }

  private storedJson(r: Resource, obj: KObject): string {
    const stored = r.def.convert ? r.def.convert.toStorage(obj) : obj;
    const meta = stored.metadata!;
    const rv = meta.resourceVersion;
    delete meta.resourceVersion;
    const json = JSON.stringify(stored);
    if (rv !== undefined) meta.resourceVersion = rv;
    return json;
  }

  private translateWriteError(e: unknown, r: Resource, name: string): ApiError {
    if (e instanceof StoreError) {
      if (e.code === 'Conflict') return conflict(r.group, r.plural, name, MODIFIED);
      if (e.code === 'NotFound') return notFound(r.group, r.plural, name);
    }
    return storeFailure(e);
  }

  private validate(r: Resource, obj: KObject, old: KObject | undefined): void {
    const meta = obj.metadata!;
    const errs: FieldError[] = [];
    if (!meta.name) {
      errs.push(required('metadata.name', 'name or generateName is required'));
    } else {
      const rule = r.def.nameRule ?? 'dns1123-subdomain';
      const nameErrs =
        rule === 'dns1123-label'
          ? dns1123LabelErrors(meta.name)
          : rule === 'path-segment'
            ? pathSegmentErrors(meta.name)
            : dns1123SubdomainErrors(meta.name);
      for (const m of nameErrs) errs.push(fieldInvalid('metadata.name', meta.name, m));
    }
    if (r.namespaced && !meta.namespace) errs.push(required('metadata.namespace'));
    errs.push(...validateLabels(meta.labels, 'metadata.labels'));
    errs.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
    if (old) {
      if (old.metadata?.uid !== meta.uid) errs.push(fieldInvalid('metadata.uid', meta.uid, 'field is immutable'));
    }
    if (errs.length === 0 && r.def.validate) errs.push(...r.def.validate(obj, old));
    if (errs.length) throw invalid(r.group, r.kind, meta.name ?? '', errs);
  }

  private admitNamespace(ns: string): void {
    const e = this.cache.resource('namespaces').items.get(`/registry/namespaces/${ns}`);
    if (!e) throw notFound('', 'namespaces', ns);
    if (e.obj.status?.phase === 'Terminating')
      throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`);
  }
}

function finishesDeletion(r: Resource, next: KObject, old: KObject): boolean {
  const om = old.metadata!;
  if (!om.deletionTimestamp || (om.deletionGracePeriodSeconds ?? 0) !== 0 || next.metadata!.finalizers?.length) return false;
  const removedLastFinalizer = (om.finalizers?.length ?? 0) > 0;
  const namespaceFinalized = isNamespace(r) && (old.spec?.finalizers?.length ?? 0) > 0 && !next.spec?.finalizers?.length;
  return removedLastFinalizer || namespaceFinalized;
}

/** Empty metadata maps and lists are omitted, as Go's omitempty does (e.g. after removing the last label). */
function dropEmptyMetadata(obj: KObject): void {
  const m = obj.metadata!;
  for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences'] as const) {
    const v = m[k];
    if (v && (Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0)) delete m[k];
  }
}

function isNamespace(r: Resource): boolean {
  return r.group === '' && r.plural === 'namespaces';
}

function pathSegmentErrors(name: string): string[] {
  if (name === '.' || name === '..') return [`may not be '${name}'`];
  if (name.includes('/')) return [`may not contain '/'`];
  if (name.includes('%')) return [`may not contain '%'`];
  return [];
}

function checkTypeMeta(r: Resource, obj: KObject): void {
  if (obj.apiVersion !== undefined && obj.apiVersion !== r.apiVersion)
    throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${r.apiVersion})`);
  if (obj.kind !== undefined && obj.kind !== r.kind)
    throw badRequest(`the kind in the data (${obj.kind}) does not match the expected kind (${r.kind})`);
  obj.apiVersion = r.apiVersion;
  obj.kind = r.kind;
}

function randomSuffix(): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += GENERATE_CHARS[randomInt(GENERATE_CHARS.length)];
  return s;
}

/** An update that changes nothing but bookkeeping is not written (upstream skips no-op writes). */
function unchanged(next: KObject, old: KObject): boolean {
  const { resourceVersion: _a, managedFields: mfA, ...ma } = next.metadata ?? {};
  const { resourceVersion: _b, managedFields: mfB, ...mb } = old.metadata ?? {};
  if (!isDeepStrictEqual(ma, mb)) return false;
  if (!sameManagers(mfA, mfB)) return false;
  for (const k of new Set([...Object.keys(next), ...Object.keys(old)])) {
    if (k === 'metadata') continue;
    if (!isDeepStrictEqual(next[k], old[k])) return false;
  }
  return true;
}

/** managedFields equal apart from timestamps. */
function sameManagers(a: any[] | undefined, b: any[] | undefined): boolean {
  if (!a?.length && !b?.length) return true;
  if (!a || !b || a.length !== b.length) return false;
  return a.every((x, i) => {
    const { time: _t1, ...xa } = x;
    const { time: _t2, ...xb } = b[i];
    return isDeepStrictEqual(xa, xb);
  });
}

function sameSet(s: Set<string>, list: string[] | undefined): boolean {
  const l = list ?? [];
  return l.length === s.size && l.every((x) => s.has(x));
}

function storeFailure(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof StoreError && e.code === 'Unavailable') return new ApiError(503, 'ServiceUnavailable', e.message);
  return internalError(e);
}
