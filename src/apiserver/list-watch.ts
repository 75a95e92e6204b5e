// LIST and WATCH served from the watch cache, with upstream's resourceVersion semantics,
// label/field selectors, limit/continue paging, bookmarks, Table output, and 410 Gone for
// resourceVersions that have left the event window.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../api/types.js';
import { ApiError, badRequest, expired } from './errors.js';
import { sendJson } from './http.js';
import type { Resource } from './resource.js';
import { storagePrefix } from './resource.js';
import { type FieldRequirement, type LabelSelector, parseFieldSelector, parseLabelSelector } from './selectors.js';
import { type IncludeObject, parseIncludeObject, toTable, wantsTable } from './table.js';
import { entryJson, type CacheEntry, type CacheEvent, type WatchCache } from './watch-cache.js';

/** Everything that decides which objects a list or watch sends. */
export interface Filter {
  prefix: string;
  labels: LabelSelector;
  fields: Array<FieldRequirement & { get: (o: KObject) => string | undefined }>;
}

export function buildFilter(r: Resource, namespace: string | undefined, q: URLSearchParams, name?: string): Filter {
  const labels = parseLabelSelector(q.get('labelSelector'));
  const reqs = parseFieldSelector(q.get('fieldSelector'));
  if (name) reqs.push({ field: 'metadata.name', value: name, negate: false });
  const fields = reqs.map((req) => {
    let get: ((o: KObject) => string | undefined) | undefined;
    if (req.field === 'metadata.name') get = (o) => o.metadata?.name;
    else if (req.field === 'metadata.namespace' && r.namespaced) get = (o) => o.metadata?.namespace;
    else get = r.def.fieldSelectors?.[req.field];
    if (!get) throw badRequest(`field label not supported: ${req.field}`);
    return { ...req, get };
  });
  return { prefix: storagePrefix(r, namespace), labels, fields };
}

export function matches(f: Filter, e: CacheEntry): boolean {
  if (!e.key.startsWith(f.prefix)) return false;
  const o = e.obj;
  if (!f.labels.matches(o.metadata?.labels)) return false;
  for (const req of f.fields) {
    const v = req.get(o) ?? '';
    if ((v === req.value) === req.negate) return false;
  }
  return true;
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(t: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv: t.rv, start: t.start })).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad token');
    return t;
  } catch {
    throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

export function parseResourceVersion(v: string | null, what = 'resourceVersion'): number | undefined {
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw badRequest(`invalid ${what} value: "${v}" (must be a non-negative integer)`);
  return Number(v);
}

/** Waits for the cache to reach rv when a client asks for a version newer than it has seen. */
async function awaitVersion(cache: WatchCache, rv: number | undefined): Promise<void> {
  if (rv === undefined || rv <= cache.rev) return;
  try {
    await cache.waitFor(rv, 3000);
  } catch {
    throw new ApiError(504, 'Timeout', `Too large resource version: ${rv}, current: ${cache.rev}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    });
  }
}

export async function handleList(
  req: IncomingMessage,
  res: ServerResponse,
  cache: WatchCache,
  r: Resource,
  namespace: string | undefined,
  q: URLSearchParams,
  external: (o: KObject) => KObject,
): Promise<void> {
  const filter = buildFilter(r, namespace, q);
  const rv = parseResourceVersion(q.get('resourceVersion'));
  const limit = Number(q.get('limit') ?? 0);
  if (!Number.isInteger(limit) || limit < 0) throw badRequest(`invalid limit: ${q.get('limit')}`);
  await awaitVersion(cache, rv);
  const rc = cache.resource(r.storage);
  const all = rc.sortedEntries();
  let start = 0;
  const cont = q.get('continue');
  let listRv = cache.rev;
  if (cont) {
    const t = decodeContinue(cont);
    if (t.rv < rc.floor)
      throw expired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
    listRv = t.rv;
    start = lowerBound(all, t.start + '\u0000');
  } else {
    start = lowerBound(all, filter.prefix);
  }
  const items: CacheEntry[] = [];
  let next: string | undefined;
  for (let i = start; i < all.length; i++) {
    const e = all[i];
    if (!e.key.startsWith(filter.prefix)) break;
    if (!matches(filter, e)) continue;
    if (limit > 0 && items.length === limit) {
      next = encodeContinue({ rv: listRv, start: items[items.length - 1].key });
      break;
    }
    items.push(e);
  }
  const listMeta: Record<string, unknown> = { resourceVersion: String(listRv) };
  if (next) listMeta.continue = next;

  if (wantsTable(req.headers.accept)) {
    const include = parseIncludeObject(q.get('includeObject'));
    sendJson(res, 200, toTable(r, items.map((e) => external(e.obj)), listMeta, include));
    return;
  }
  // Concatenate cached JSON: a 10,000-pod list is one join, not 10,000 stringify calls.
  const conv = r.def.convert;
  const parts = items.map((e) => (conv ? JSON.stringify(external(e.obj)) : entryJson(e)));
  const body = `{"kind":"${r.listKind}","apiVersion":"${r.apiVersion}","metadata":${JSON.stringify(listMeta)},"items":[${parts.join(',')}]}`;
  sendJson(res, 200, body);
}

function lowerBound(a: CacheEntry[], key: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid].key < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const BOOKMARK_INTERVAL_MS = 60_000;
/** A watcher whose socket buffers more than this is too slow and is closed (it will relist). */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export async function handleWatch(
  req: IncomingMessage,
  res: ServerResponse,
  cache: WatchCache,
  r: Resource,
  namespace: string | undefined,
  q: URLSearchParams,
  external: (o: KObject) => KObject,
  name?: string,
): Promise<void> {
  const filter = buildFilter(r, namespace, q, name);
  const rvParam = q.get('resourceVersion');
  const rv = parseResourceVersion(rvParam);
  const table = wantsTable(req.headers.accept);
  const include: IncludeObject = parseIncludeObject(q.get('includeObject'));
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  const sendInitial = q.get('sendInitialEvents') === 'true';
  const timeoutSeconds = Number(q.get('timeoutSeconds') ?? 0);
  const rc = cache.resource(r.storage);
  await awaitVersion(cache, rv);

  // What to send first: synthetic ADDED events for the current state (rv unset or "0", or
  // sendInitialEvents), else the window's events after rv.
  let backlog: CacheEvent[];
  const startRev = cache.rev;
  if (rv === undefined || rv === 0 || sendInitial) {
    backlog = [];
    for (const e of rc.sortedEntries()) if (matches(filter, e)) backlog.push({ type: 'ADDED', entry: e, rev: e.rev });
  } else {
    const evs = rc.eventsSince(rv);
    if (!evs) {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
      const status = expired(`too old resource version: ${rv} (${rc.floor})`).toStatus();
      res.end(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      return;
    }
    backlog = evs;
  }

  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  let closed = false;
  let sentColumns = false;
  const formatKey = table ? `table:${r.apiVersion}:${include}` : `json:${r.apiVersion}`;

  const encode = (type: string, entry: CacheEntry): string => {
    if (table) {
      const t = toTable(r, [external(entry.obj)], { resourceVersion: entry.obj.metadata?.resourceVersion }, include, !sentColumns);
      sentColumns = true;
      return `{"type":"${type}","object":${JSON.stringify(t)}}\n`;
    }
    const objJson = r.def.convert ? JSON.stringify(external(entry.obj)) : entryJson(entry);
    return `{"type":"${type}","object":${objJson}}\n`;
  };
  const frame = (ev: CacheEvent, type: string): Buffer | string => {
    if (table && !sentColumns) return encode(type, ev.entry);
    const k = `${formatKey}:${type}`;
    const frames = (ev.frames ??= new Map());
    let f = frames.get(k);
    if (!f) frames.set(k, (f = Buffer.from(encode(type, ev.entry))));
    return f;
  };
  const write = (chunk: Buffer | string): void => {
    if (closed) return;
    res.write(chunk);
    if (res.writableLength > MAX_BUFFERED_BYTES) close();
  };
  const deliver = (ev: CacheEvent): void => {
    const newMatch = ev.type !== 'DELETED' && matches(filter, ev.entry);
    if (ev.type === 'ADDED') {
      if (newMatch) write(frame(ev, 'ADDED'));
    } else if (ev.type === 'MODIFIED') {
      const oldMatch = ev.prev ? matches(filter, ev.prev) : false;
      if (newMatch && oldMatch) write(frame(ev, 'MODIFIED'));
      else if (newMatch) write(frame(ev, 'ADDED'));
      else if (oldMatch) write(frame(ev, 'DELETED'));
    } else if (matches(filter, ev.prev ?? ev.entry) || matches(filter, ev.entry)) {
      write(frame(ev, 'DELETED'));
    }
  };
  const bookmark = (extra?: Record<string, string>): void => {
    const obj = {
      kind: r.kind,
      apiVersion: r.apiVersion,
      metadata: { resourceVersion: String(cache.rev), ...(extra ? { annotations: extra } : {}) },
    };
    write(JSON.stringify({ type: 'BOOKMARK', object: obj }) + '\n');
  };

  for (const ev of backlog) {
    if (ev.type === 'ADDED' && (rv === undefined || rv === 0 || sendInitial)) write(frame(ev, 'ADDED'));
    else deliver(ev);
  }
  if (sendInitial && bookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });

  const watcher = {
    onEvent(ev: CacheEvent) {
      if (ev.rev > startRev) deliver(ev);
    },
  };
  rc.watchers.add(watcher);
  const timers: NodeJS.Timeout[] = [];
  if (bookmarks) timers.push(setInterval(() => bookmark(), BOOKMARK_INTERVAL_MS));
  if (timeoutSeconds > 0) timers.push(setTimeout(() => close(), timeoutSeconds * 1000));
  function close(): void {
    if (closed) return;
    closed = true;
    rc.watchers.delete(watcher);
    for (const t of timers) clearTimeout(t);
    res.end();
  }
  req.on('close', close);
  res.on('close', close);
}

