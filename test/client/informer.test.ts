// Shared informers: list+watch into an indexed cache with add/update/delete handlers, relists
// after 410 Gone (against a fake server and against the real watch window), and the factory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Client, GVR, Indexer, SharedInformer, SharedInformerFactory, type KObject } from '../../src/client/index.js';
import { systemContext } from '../../src/apiserver/context.js';
import { startHarness, TRANSPORTS, eventually, fakeServer, ADMIN, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

const pod = (name: string, node?: string) => ({
  metadata: { name },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...(node ? { nodeName: node } : {}) },
});

for (const transport of TRANSPORTS) {
  test(`${transport}: informer syncs, delivers add/update/delete and indexes pods by node`, async () => {
    const c = h.client(transport, { qps: 0 });
    const ns = `inf-${transport}`;
    await c.namespaces.create(null, { metadata: { name: ns } });
    for (let i = 0; i < 5; i++) await c.pods.create(ns, pod(`pre${i}`, i % 2 ? 'n1' : 'n2'));

    const factory = new SharedInformerFactory(c, { pageSize: 2 });
    const inf = factory.informer(GVR.pods, { namespace: ns });
    assert.equal(factory.informer(GVR.pods, { namespace: ns }), inf, 'one informer per resource and selector');
    inf.addIndexer('nodeName', (p) => p.spec?.nodeName);
    const log: string[] = [];
    inf.addEventHandler({
      onAdd: (p, initial) => log.push(`add:${p.metadata!.name}${initial ? ':initial' : ''}`),
      onUpdate: (o, n) => log.push(`update:${n.metadata!.name}:${o.metadata!.resourceVersion !== n.metadata!.resourceVersion}`),
      onDelete: (p) => log.push(`delete:${p.metadata!.name}`),
    });
    factory.start();
    assert.equal(await factory.waitForCacheSync(), true);
    assert.equal(inf.hasSynced(), true);
    assert.equal(inf.list().length, 5);
    assert.equal(log.filter((l) => l.endsWith(':initial')).length, 5);
    assert.deepEqual(inf.byIndex('nodeName', 'n1').map((p) => p.metadata!.name).sort(), ['pre1', 'pre3']);

    log.length = 0;
    await c.pods.create(ns, pod('new'));
    await c.bind(ns, 'new', 'n1');
    await c.pods.delete(ns, 'pre0', { gracePeriodSeconds: 0 });
    await eventually(() => log.includes('delete:pre0') || log.filter((l) => l.startsWith('update:pre0')).length > 0, 5000, 'delete event');
    await eventually(() => inf.byIndex('nodeName', 'n1').length === 3, 5000, 'index update');
    assert.ok(log.includes('add:new'));
    assert.ok(log.includes('update:new:true'));
    assert.equal(inf.get(ns, 'new')!.spec.nodeName, 'n1');
    assert.deepEqual(inf.store.indexValues('nodeName').sort(), ['n1', 'n2']);

    // A late handler is replayed the cache.
    const late: string[] = [];
    const reg = inf.addEventHandler({ onAdd: (p) => late.push(p.metadata!.name!) });
    assert.equal(late.length, inf.list().length);
    reg.remove();
    factory.stop();
  });
}

test('informer relists after the watch window moves past its resourceVersion (real 410)', async () => {
  const c = h.client('in-process', { qps: 0 });
  const cms = h.api.resources.find((r) => r.plural === 'configmaps' && r.group === '')!;
  const ctx = systemContext('test');
  await c.namespaces.create(null, { metadata: { name: 'relist' } });
  await c.configMaps.create('relist', { metadata: { name: 'keep' } });
  await c.configMaps.create('relist', { metadata: { name: 'gone' } });
  const inf = new SharedInformer(c.configMaps, { namespace: 'relist' });
  const log: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => log.push(`add:${o.metadata!.name}`),
    onUpdate: (_o, n) => log.push(`update:${n.metadata!.name}`),
    onDelete: (o) => log.push(`delete:${o.metadata!.name}`),
  });
  inf.start();
  await inf.waitForSync();
  const staleRv = inf.lastSyncResourceVersion;
  const reflector = inf.reflectorForTesting;
  // Push the configmaps' event window (10,000 events) past staleRv, straight through the registry.
  await c.namespaces.create(null, { metadata: { name: 'filler' } });
  for (let i = 0; i < 10_001; i++) await h.api.registry.create(ctx, cms, 'filler', { metadata: { name: `f${i}` } });
  await h.api.registry.delete(ctx, cms, 'relist', 'gone', {});
  await h.api.registry.create(ctx, cms, 'relist', { metadata: { name: 'fresh' } } as any);
  await eventually(() => log.includes('add:fresh'), 5000, 'watch catch-up');
  log.length = 0;
  assert.equal(reflector.listCount, 1);
  // Resume from the stale version: the server answers 410 Expired and the reflector relists.
  reflector.restartWatchFrom(staleRv);
  await eventually(() => reflector.listCount === 2, 5000, 'relist');
  assert.deepEqual(log, [], 'nothing changed between the relist and the cache');
  assert.deepEqual(inf.list().map((o) => o.metadata!.name).sort(), ['fresh', 'keep']);
  inf.stop();
});

test('reflector relists on an Expired ERROR event and replaces the cache like a DeltaFIFO Replace', async () => {
  const requests: string[] = [];
  let lists = 0;
  const held: ServerResponse[] = [];
  const cm = (name: string, rv: string) => ({ kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace: 'x', resourceVersion: rv } });
  const fake = fakeServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://x');
    requests.push(`${url.searchParams.get('watch') ? 'watch' : 'list'}@${url.searchParams.get('resourceVersion') ?? ''}`);
    res.setHeader('Content-Type', 'application/json');
    if (!url.searchParams.get('watch')) {
      lists++;
      const items = lists === 1 ? [cm('a', '5'), cm('b', '6'), cm('same', '7')] : [cm('b', '15'), cm('c', '16'), cm('same', '7')];
      res.end(JSON.stringify({ kind: 'ConfigMapList', apiVersion: 'v1', metadata: { resourceVersion: lists === 1 ? '10' : '20' }, items }));
      return;
    }
    if (url.searchParams.get('resourceVersion') === '10') {
      assert.equal(url.searchParams.get('allowWatchBookmarks'), 'true');
      assert.ok(Number(url.searchParams.get('timeoutSeconds')) >= 300);
      // One event, a bookmark, then 410 Expired as the server sends it.
      res.write(JSON.stringify({ type: 'MODIFIED', object: cm('a', '11') }) + '\n');
      res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { resourceVersion: '12' } } }) + '\n');
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'too old resource version: 12 (13)', reason: 'Expired', code: 410 } }) + '\n');
      return;
    }
    res.writeHead(200);
    res.flushHeaders();
    held.push(res); // keep the second watch open
  });
  const c = new Client({ inProcess: { connect: fake.connect, user: ADMIN }, qps: 0 });
  const inf = new SharedInformer(c.configMaps, { namespace: 'x' });
  const log: string[] = [];
  inf.addEventHandler({
    onAdd: (o) => log.push(`add:${o.metadata!.name}`),
    onUpdate: (o, n) => log.push(`update:${n.metadata!.name}:${o.metadata!.resourceVersion}->${n.metadata!.resourceVersion}`),
    onDelete: (o) => log.push(`delete:${o.metadata!.name}:${o.metadata!.resourceVersion}`),
  });
  inf.start();
  await eventually(() => held.length === 1, 5000, 'second watch');
  assert.deepEqual(requests, ['list@', 'watch@10', 'list@', 'watch@20']);
  assert.deepEqual(log, ['add:a', 'add:b', 'add:same', 'update:a:5->11', 'update:b:6->15', 'add:c', 'delete:a:11']);
  assert.deepEqual(inf.list().map((o) => o.metadata!.name).sort(), ['b', 'c', 'same']);
  assert.equal(inf.lastSyncResourceVersion, '20');
  inf.stop();
  for (const r of held) r.end();
  c.close();
  fake.close();
});

test('indexer keeps multi-value indices consistent', () => {
  const idx = new Indexer<KObject>();
  idx.addIndexer('tags', (o) => o.tags);
  idx.set('ns/a', { metadata: { name: 'a', namespace: 'ns' }, tags: ['x', 'y'] });
  idx.set('ns/b', { metadata: { name: 'b', namespace: 'ns' }, tags: ['y'] });
  assert.deepEqual(idx.byIndex('tags', 'y').map((o) => o.metadata!.name).sort(), ['a', 'b']);
  idx.set('ns/a', { metadata: { name: 'a', namespace: 'ns' }, tags: ['z'] });
  assert.deepEqual(idx.byIndex('tags', 'x'), []);
  assert.deepEqual(idx.indexValues('tags').sort(), ['y', 'z']);
  idx.delete('ns/b');
  assert.deepEqual(idx.indexValues('tags'), ['z']);
  assert.equal(idx.byNamespace('ns').length, 1);
  assert.throws(() => idx.byIndex('nope', 'x'), /does not exist/);
});
