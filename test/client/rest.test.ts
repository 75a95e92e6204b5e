// RestClient and ResourceClient against a real API server over both transports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ApiStatusError, LineDecoder, TokenBucket, encodeQuery, type Client } from '../../src/client/index.js';
import { Client as ClientClass } from '../../src/client/index.js';
import { startHarness, TRANSPORTS, eventually, fakeServer, ADMIN, type Harness } from './harness.js';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(async () => {
  await h.close();
});

for (const transport of TRANSPORTS) {
  test(`${transport}: CRUD and typed errors`, async () => {
    const c: Client = h.client(transport);
    const ns = `crud-${transport}`;
    await c.namespaces.create(null, { metadata: { name: ns } });
    const cm = await c.configMaps.create(ns, { metadata: { name: 'a' }, data: { k: 'v' } });
    assert.equal(cm.kind, 'ConfigMap');
    assert.ok(cm.metadata?.resourceVersion);

    const got = await c.configMaps.get(ns, 'a');
    assert.deepEqual(got.data, { k: 'v' });

    await assert.rejects(c.configMaps.get(ns, 'missing'), (e: unknown) => {
      assert.ok(e instanceof ApiStatusError);
      assert.equal(e.code, 404);
      assert.equal(e.reason, 'NotFound');
      assert.equal(e.message, 'configmaps "missing" not found');
      assert.equal(e.details?.name, 'missing');
      return true;
    });
    await assert.rejects(c.configMaps.create(ns, { metadata: { name: 'a' } }), { name: 'ApiStatusError', reason: 'AlreadyExists', code: 409 });

    const updated = await c.configMaps.update(ns, { ...got, data: { k: 'v2' } });
    assert.equal(updated.data.k, 'v2');
    // A stale resourceVersion is a Conflict.
    await assert.rejects(c.configMaps.update(ns, { ...got, data: { k: 'v3' } }), { reason: 'Conflict', code: 409 });

    const patched = await c.configMaps.patch(ns, 'a', { data: { p: '1' } }, 'merge');
    assert.deepEqual(patched.data, { k: 'v2', p: '1' });
    const jp = await c.configMaps.patch(ns, 'a', [{ op: 'remove', path: '/data/p' }], 'json');
    assert.deepEqual(jp.data, { k: 'v2' });
    const applied = await c.configMaps.patch(ns, 'a', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' }, data: { s: 'x' } }, 'apply', {
      fieldManager: 'tester',
      force: true,
    });
    assert.equal(applied.data.s, 'x');

    // dryRun writes nothing.
    await c.configMaps.create(ns, { metadata: { name: 'dry' } }, { dryRun: true });
    await assert.rejects(c.configMaps.get(ns, 'dry'), { reason: 'NotFound' });

    for (let i = 0; i < 7; i++) await c.configMaps.create(ns, { metadata: { name: `p${i}`, labels: { page: 'yes' } } });
    const page = await c.configMaps.list(ns, { labelSelector: 'page=yes', limit: 3 });
    assert.equal(page.items.length, 3);
    assert.ok(page.metadata.continue);
    const all = await c.configMaps.listAll(ns, { labelSelector: 'page=yes', limit: 3 });
    assert.equal(all.items.length, 7);
    const byField = await c.configMaps.list(ns, { fieldSelector: 'metadata.name=p3' });
    assert.deepEqual(byField.items.map((x) => x.metadata?.name), ['p3']);

    await c.configMaps.delete(ns, 'a');
    await assert.rejects(c.configMaps.get(ns, 'a'), { reason: 'NotFound' });
    await assert.rejects(c.configMaps.delete(ns, 'a'), { reason: 'NotFound' });
    const invalid = await c.configMaps.create(ns, { metadata: { name: 'Not_Valid' } }).catch((e) => e);
    assert.equal(invalid.reason, 'Invalid');
    assert.equal(invalid.code, 422);
    assert.ok(invalid.details?.causes?.length);
  });

  test(`${transport}: cluster-scoped resources, binding and scale`, async () => {
    const c = h.client(transport);
    const node = `node-${transport}`;
    await c.nodes.create(null, { metadata: { name: node } });
    assert.equal((await c.nodes.get(null, node)).metadata?.name, node);
    const ns = `bind-${transport}`;
    await c.namespaces.create(null, { metadata: { name: ns } });
    const pod = await c.pods.create(ns, { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });
    await c.bind(ns, 'p', node, { uid: pod.metadata!.uid });
    assert.equal((await c.pods.get(ns, 'p')).spec.nodeName, node);
    await assert.rejects(c.bind(ns, 'p', node), { code: 409 });

    await c.deployments.create(ns, {
      metadata: { name: 'd' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'd' } },
        template: { metadata: { labels: { app: 'd' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    });
    const scale = await c.deployments.scale(ns, 'd', 4);
    assert.equal(scale.spec.replicas, 4);
    assert.equal((await c.deployments.getScale(ns, 'd')).spec.replicas, 4);
    assert.equal((await c.deployments.get(ns, 'd')).spec.replicas, 4);
  });

  test(`${transport}: a watch stream delivers many events in order`, async () => {
    const c = h.client(transport, { qps: 0 });
    const ns = `watch-${transport}`;
    await c.namespaces.create(null, { metadata: { name: ns } });
    const list = await c.configMaps.list(ns);
    const seen: string[] = [];
    let closed: Error | undefined | null = null;
    const big = 'é'.repeat(3000); // multi-byte characters split across chunks
    const w = c.configMaps.watch(ns, { resourceVersion: list.metadata.resourceVersion }, {
      onEvent: (type, obj) => {
        seen.push(`${type}:${obj.metadata?.name}`);
        if (type === 'ADDED') assert.equal(obj.data.big, big);
      },
      onClose: (err) => (closed = err),
    });
    const N = 300;
    for (let i = 0; i < N; i++) await c.configMaps.create(ns, { metadata: { name: `w${i}` }, data: { big } });
    await c.configMaps.delete(ns, 'w0');
    await eventually(() => seen.length === N + 1, 10_000, 'watch events');
    assert.deepEqual(seen.slice(0, 3), ['ADDED:w0', 'ADDED:w1', 'ADDED:w2']);
    assert.equal(seen[N], 'DELETED:w0');
    w.abort();
    assert.equal(closed, undefined);
    assert.equal(w.closed, true);
  });
}

test('user agent names the component; non-Status error bodies still become ApiStatusError', async () => {
  const headers: Record<string, string | undefined>[] = [];
  const fake = fakeServer((req, res) => {
    headers.push({ ua: req.headers['user-agent'], accept: req.headers.accept });
    if (req.url === '/api/v1/namespaces/x/pods/p') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"kind":"Pod"}');
    } else {
      res.writeHead(503, { 'Content-Type': 'text/plain' });
      res.end('overloaded');
    }
  });
  const c = new ClientClass({ inProcess: { connect: fake.connect, user: ADMIN }, component: 'skiff-scheduler' });
  try {
    assert.match(c.rest.userAgent, /^skiff-scheduler\/v1\.32\.4 \(/);
    assert.deepEqual(await c.pods.get('x', 'p'), { kind: 'Pod' });
    assert.equal(headers[0].ua, c.rest.userAgent);
    assert.equal(headers[0].accept, 'application/json');
    await assert.rejects(c.pods.get('x', 'q'), { name: 'ApiStatusError', code: 503, reason: 'ServiceUnavailable', message: 'overloaded' });
  } finally {
    c.close();
    fake.close();
  }
});

test('a watch that fails before streaming closes with an ApiStatusError', async () => {
  const c = h.client('in-process');
  const got = await new Promise<Error | undefined>((resolve) => {
    c.rest.watchStream('/api/v1/namespaces/default/nosuchresource', {}, () => {}, resolve);
  });
  assert.ok(got instanceof ApiStatusError);
  assert.equal(got.code, 404);
});

test('client-side rate limiting throttles requests beyond the burst', async () => {
  const c = h.client('in-process', { qps: 20, burst: 5 });
  const start = performance.now();
  await Promise.all(Array.from({ length: 15 }, () => c.namespaces.get(null, 'default')));
  const elapsed = performance.now() - start;
  // 5 immediately, 10 more at 20 qps: about 500 ms.
  assert.ok(elapsed >= 400, `elapsed ${elapsed}`);
  assert.ok(elapsed < 2000, `elapsed ${elapsed}`);
});

test('token bucket reservations', () => {
  let now = 0;
  const b = new TokenBucket(10, 2, () => now);
  assert.equal(b.reserve(), 0);
  assert.equal(b.reserve(), 0);
  assert.equal(b.reserve(), 100);
  assert.equal(b.reserve(), 200);
  now = 1000;
  assert.equal(b.reserve(), 0);
});

test('line decoder handles chunk boundaries, multi-byte characters and CRLF', () => {
  const lines: string[] = [];
  const d = new LineDecoder((l) => lines.push(l));
  const text = Buffer.from('{"a":"é"}\n{"b":2}\r\n\n{"c":"ü€"}\n{"d":4}');
  for (let i = 0; i < text.length; i += 3) d.push(text.subarray(i, Math.min(text.length, i + 3)));
  d.end();
  assert.deepEqual(lines.map((l) => JSON.parse(l)), [{ a: 'é' }, { b: 2 }, { c: 'ü€' }, { d: 4 }]);
});

test('query encoding skips empty values and repeats arrays', () => {
  assert.equal(encodeQuery({ a: 'x y', b: undefined, c: '', d: 3, e: ['1', '2'], f: true }), '?a=x%20y&d=3&e=1&e=2&f=true');
});
