// ResourceClient: the verbs of one resource (list/get/create/update/updateStatus/patch/delete/
// watch, plus scale) as a thin facade over RestClient that builds paths and query parameters.
import type { KObject } from '../api/types.js';
import { apiVersionOf, resourcePath, type GroupVersionResource } from './gvr.js';
import type { QueryParams, RestClient, WatchEventType, WatchHandle } from './rest.js';

export interface ObjectList<T extends KObject = KObject> {
  apiVersion?: string;
  kind?: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  timeoutSeconds?: number;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
}

export interface WriteOptions {
  /** true: dryRun=All. */
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  /** "status", "scale", ... */
  subresource?: string;
}

export interface DeleteOptions {
  dryRun?: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Short names for the four patch content types; a full content type is accepted too. */
export type PatchType = 'merge' | 'strategic' | 'json' | 'apply' | (string & {});

const PATCH_CONTENT_TYPES: Record<string, string> = {
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface WatchHandlers<T extends KObject = KObject> {
  onEvent(type: WatchEventType, object: T): void;
  onClose?(err?: Error): void;
}

/** autoscaling/v1 Scale. */
export interface Scale extends KObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

type Ns = string | undefined | null;

export class ResourceClient<T extends KObject = KObject> {
  readonly apiVersion: string;

  constructor(
    readonly rest: RestClient,
    readonly gvr: GroupVersionResource,
  ) {
    this.apiVersion = apiVersionOf(gvr);
  }

  /** The URL path of the collection (namespace omitted: all namespaces) or of one object. */
  path(ns?: Ns, name?: string, subresource?: string): string {
    return resourcePath(this.gvr, ns, name, subresource);
  }

  list(ns?: Ns, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.rest.request('GET', this.path(ns), { query: listQuery(opts) });
  }

  /** Lists every page (limit per page, default 500) and returns the items with the first page's resourceVersion. */
  async listAll(ns?: Ns, opts: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const items: T[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.list(ns, { ...opts, limit: opts.limit ?? 500, continue: cont });
      if (!resourceVersion) resourceVersion = page.metadata?.resourceVersion ?? '';
      for (const it of page.items ?? []) items.push(it);
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  get(ns: Ns, name: string, opts: { resourceVersion?: string } = {}): Promise<T> {
    return this.rest.request('GET', this.path(ns, name), { query: { resourceVersion: opts.resourceVersion } });
  }

  create(ns: Ns, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.rest.request('POST', this.path(ns), { query: writeQuery(opts), body: this.withType(obj) });
  }

  /** PUT; metadata.resourceVersion, when set, is the optimistic-concurrency precondition. */
  update(ns: Ns, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.rest.request('PUT', this.path(ns, nameOf(obj)), { query: writeQuery(opts), body: this.withType(obj) });
  }

  updateStatus(ns: Ns, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.rest.request('PUT', this.path(ns, nameOf(obj), 'status'), { query: writeQuery(opts), body: this.withType(obj) });
  }

  patch(ns: Ns, name: string, patch: unknown, type: PatchType = 'merge', opts: PatchOptions = {}): Promise<T> {
    const contentType = PATCH_CONTENT_TYPES[type] ?? type;
    const query: QueryParams = writeQuery(opts);
    if (opts.force !== undefined) query.force = opts.force;
    const body = typeof patch === 'string' || Buffer.isBuffer(patch) ? patch : JSON.stringify(patch);
    return this.rest.request('PATCH', this.path(ns, name, opts.subresource), { query, body, contentType });
  }

  /** DELETE; resolves with what the server returns (the object, or a Status). */
  delete(ns: Ns, name: string, opts: DeleteOptions = {}): Promise<T | KObject> {
    const body: KObject = { kind: 'DeleteOptions', apiVersion: 'v1' };
    if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
    if (opts.propagationPolicy) body.propagationPolicy = opts.propagationPolicy;
    if (opts.preconditions) body.preconditions = opts.preconditions;
    return this.rest.request('DELETE', this.path(ns, name), { query: { dryRun: opts.dryRun ? 'All' : undefined }, body });
  }

  /** Starts a watch; see RestClient.watchStream for the close semantics. */
  watch(ns: Ns, opts: WatchOptions, handlers: WatchHandlers<T>): WatchHandle {
    const query: QueryParams = {
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
      resourceVersion: opts.resourceVersion,
      allowWatchBookmarks: opts.allowWatchBookmarks ? 'true' : undefined,
      sendInitialEvents: opts.sendInitialEvents ? 'true' : undefined,
      timeoutSeconds: opts.timeoutSeconds,
    };
    return this.rest.watchStream(this.path(ns), query, handlers.onEvent, (err) => handlers.onClose?.(err));
  }

  getScale(ns: Ns, name: string): Promise<Scale> {
    return this.rest.request('GET', this.path(ns, name, 'scale'));
  }

  /** Sets spec.replicas through the scale subresource. */
  scale(ns: Ns, name: string, replicas: number, opts: WriteOptions = {}): Promise<Scale> {
    return this.rest.request('PATCH', this.path(ns, name, 'scale'), {
      query: writeQuery(opts),
      body: JSON.stringify({ spec: { replicas } }),
      contentType: PATCH_CONTENT_TYPES.merge,
    });
  }

  /** Adds apiVersion/kind when the caller left them out (a shallow copy; obj is not modified). */
  private withType(obj: T): T {
    if (obj.apiVersion && obj.kind) return obj;
    return { ...obj, apiVersion: obj.apiVersion ?? this.apiVersion, kind: obj.kind ?? this.gvr.kind };
  }
}

function nameOf(obj: KObject): string {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return name;
}

function listQuery(o: ListOptions): QueryParams {
  return {
    labelSelector: o.labelSelector,
    fieldSelector: o.fieldSelector,
    limit: o.limit,
    continue: o.continue,
    resourceVersion: o.resourceVersion,
    resourceVersionMatch: o.resourceVersionMatch,
    timeoutSeconds: o.timeoutSeconds,
  };
}

function writeQuery(o: WriteOptions): QueryParams {
  return { dryRun: o.dryRun ? 'All' : undefined, fieldManager: o.fieldManager, fieldValidation: o.fieldValidation };
}
