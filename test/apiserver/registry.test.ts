// The generic registry over the memory store: create/update/delete semantics and the watch cache.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/storage/memory.js';
import { WatchCache } from '../../src/apiserver/watch-cache.js';
import { Registry } from '../../src/apiserver/registry.js';
import { toResource, type Resource } from '../../src/apiserver/resource.js';
import { systemContext } from '../../src/apiserver/context.js';
import { ApiError } from '../../src/apiserver/errors.js';
import type { ResourceDef } from '../../src/api/types.js';

const nsDef: ResourceDef = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, columns: [], row: () => [] };
const widgetDef: ResourceDef = {
  group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', singular: 'widget', namespaced: true,
  subresources: { status: true }, columns: [], row: () => [],
  prepareForUpdate(obj, old) {
    if (JSON.stringify(obj.spec) !== JSON.stringify(old.spec)) obj.metadata!.generation = (old.metadata!.generation ?? 0) + 1;
  },
};
const podDef: ResourceDef = { group: '', version: 'v1', kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, gracefulDelete: true, subresources: { status: true, binding: true }, columns: [], row: () => [] };

let store: MemoryStore;
let cache: WatchCache;
let reg: Registry;
let ns: Resource, widgets: Resource, pods: Resource;
const ctx = systemContext('test');

before(async () => {
  store = new MemoryStore();
  [ns, widgets, pods] = [nsDef, widgetDef, podDef].map(toResource);
  cache = new WatchCache(store, [ns.storage, widgets.storage, pods.storage]);
  await cache.start();
  reg = new Registry(store, cache);
  await reg.create(ctx, ns, undefined, { metadata: { name: 'default' } });
});
after(async () => {
  cache.stop();
  await store.close();
});

const code = (c: number, reason?: string) => (e: unknown) => e instanceof ApiError && e.code === c && (!reason || e.reason === reason);

test('create sets uid, timestamps and resourceVersion; duplicates are AlreadyExists', async () => {
  const w = await reg.create(ctx, widgets, 'default', { metadata: { name: 'a' }, spec: { size: 1 } });
  assert.match(w.metadata!.uid!, /^[0-9a-f-]{36}$/);
  assert.match(w.metadata!.creationTimestamp!, /Z$/);
  assert.ok(Number(w.metadata!.resourceVersion) > 0);
  assert.equal(w.apiVersion, 'example.com/v1');
  await assert.rejects(reg.create(ctx, widgets, 'default', { metadata: { name: 'a' } }), code(409, 'AlreadyExists'));
  await assert.rejects(reg.create(ctx, widgets, 'nope', { metadata: { name: 'b' } }), code(404, 'NotFound'));
  await assert.rejects(reg.create(ctx, widgets, 'default', { metadata: { name: 'Bad_Name' } }), code(422, 'Invalid'));
  const g = await reg.create(ctx, widgets, 'default', { metadata: { generateName: 'gen-' } });
  assert.match(g.metadata!.name!, /^gen-[a-z0-9]{5}$/);
});

test('update: stale resourceVersion conflicts, status is kept, generation bumps on spec change, no-op writes nothing', async () => {
  const w = await reg.create(ctx, widgets, 'default', { metadata: { name: 'u' }, spec: { size: 1 } });
  const rv = w.metadata!.resourceVersion;
  const withStatus = await reg.update(ctx, widgets, 'default', 'u', { ...structuredClone(w), status: { ok: true } }, 'status');
  assert.deepEqual(withStatus.status, { ok: true });
  const stale = structuredClone(w);
  stale.spec.size = 2;
  await assert.rejects(reg.update(ctx, widgets, 'default', 'u', stale), code(409, 'Conflict'));
  const fresh = structuredClone(withStatus);
  fresh.spec.size = 2;
  delete fresh.status;
  const u = await reg.update(ctx, widgets, 'default', 'u', fresh);
  assert.deepEqual(u.status, { ok: true }, 'status survives a main-resource update');
  assert.equal(u.metadata!.generation, (w.metadata!.generation ?? 0) + 1);
  const again = await reg.update(ctx, widgets, 'default', 'u', structuredClone(u));
  assert.equal(again.metadata!.resourceVersion, u.metadata!.resourceVersion, 'no-op update is not written');
  assert.notEqual(rv, u.metadata!.resourceVersion);
});

test('delete: finalizers hold the object until removed; preconditions', async () => {
  const w = await reg.create(ctx, widgets, 'default', { metadata: { name: 'f', finalizers: ['example.com/hold'] } });
  await assert.rejects(reg.delete(ctx, widgets, 'default', 'f', { preconditions: { uid: 'other' } }), code(409));
  const d = await reg.delete(ctx, widgets, 'default', 'f', {});
  assert.equal(d.gone, false);
  assert.ok(d.obj.metadata!.deletionTimestamp);
  const cur = structuredClone(reg.get(widgets, 'default', 'f'));
  cur.metadata!.finalizers = [];
  await reg.update(ctx, widgets, 'default', 'f', cur);
  assert.throws(() => reg.get(widgets, 'default', 'f'), code(404));
  assert.ok(w);
});

test('pods: bound pods delete gracefully, unbound ones at once; binding sets nodeName once', async () => {
  await reg.create(ctx, pods, 'default', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  await reg.bind(ctx, pods, 'default', 'p', 'node-1');
  await assert.rejects(reg.bind(ctx, pods, 'default', 'p', 'node-2'), code(409));
  const bound = reg.get(pods, 'default', 'p');
  assert.equal(bound.spec.nodeName, 'node-1');
  assert.equal(bound.status.conditions[0].type, 'PodScheduled');
  const d = await reg.delete(ctx, pods, 'default', 'p', {});
  assert.equal(d.gone, false);
  assert.equal(d.obj.metadata!.deletionGracePeriodSeconds, 30);
  const d0 = await reg.delete(ctx, pods, 'default', 'p', { gracePeriodSeconds: 0 });
  assert.equal(d0.gone, true);
  await reg.create(ctx, pods, 'default', { metadata: { name: 'q' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  assert.equal((await reg.delete(ctx, pods, 'default', 'q', {})).gone, true);
});

test('watch cache windows events and reports when a revision is too old', async () => {
  const rc = cache.resource(widgets.storage);
  const start = cache.rev;
  await reg.create(ctx, widgets, 'default', { metadata: { name: 'w1' } });
  const evs = rc.eventsSince(start)!;
  assert.equal(evs.length, 1);
  assert.equal(evs[0].type, 'ADDED');
  assert.equal(rc.eventsSince(-1), undefined);
});

test('a write the store acknowledged succeeds even when the watch cache is late', async () => {
  const late = Object.create(cache) as WatchCache;
  late.waitFor = () => Promise.reject(new Error('timed out waiting for the watch cache'));
  const lateReg = new Registry(store, late);
  const warned: string[] = [];
  const onWarning = (w: Error) => warned.push(w.message);
  process.on('warning', onWarning);
  try {
    const w = await lateReg.create(ctx, widgets, 'default', { metadata: { name: 'late' }, spec: { size: 1 } });
    const stored = (await store.get('/registry/example.com/widgets/default/late'))!;
    assert.equal(w.metadata!.resourceVersion, String(stored.modRevision));
    await cache.waitFor(stored.modRevision);
    await lateReg.create(ctx, pods, 'default', { metadata: { name: 'late-pod' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
    await cache.waitFor(await store.currentRevision());
    await lateReg.bind(ctx, pods, 'default', 'late-pod', 'node-1');
    await cache.waitFor(await store.currentRevision());
    assert.equal(reg.get(pods, 'default', 'late-pod').spec.nodeName, 'node-1');
    await new Promise((r) => setImmediate(r));
    assert.ok(warned.some((m) => m.includes('acknowledged')), warned.join('; '));
  } finally {
    process.off('warning', onWarning);
  }
});

test('bind catches the cache up after a store conflict and retries', async () => {
  await reg.create(ctx, pods, 'default', { metadata: { name: 'racy' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  const key = '/registry/pods/default/racy';
  const cur = (await store.get(key))!;
  const obj = JSON.parse(cur.value);
  obj.metadata.labels = { touched: 'yes' };
  // A write the cache has not seen yet: bind's first attempt conflicts on the store.
  await store.update(key, JSON.stringify(obj), cur.modRevision);
  await reg.bind(ctx, pods, 'default', 'racy', 'node-2');
  const bound = reg.get(pods, 'default', 'racy');
  assert.equal(bound.spec.nodeName, 'node-2');
  assert.equal(bound.metadata!.labels?.touched, 'yes');
});
