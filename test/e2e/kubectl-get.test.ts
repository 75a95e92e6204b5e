// kubectl get: output formats, selectors, all namespaces, chunked lists and watches.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, createObjects, namespace, spawnKubectl } from './util.js';

const pod = (name: string, ns: string, labels: Record<string, string>, phase?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: ns, labels },
  spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
  ...(phase ? { status: { phase } } : {}),
});

describe('kubectl get', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ apiOnly: true });
    await createObjects(s, namespace('get-a'), namespace('get-b'));
    const items = [
      pod('alpha', 'get-a', { app: 'shop', tier: 'web' }),
      pod('beta', 'get-a', { app: 'shop', tier: 'db' }),
      pod('gamma', 'get-a', { app: 'blog' }),
      pod('delta', 'get-b', { app: 'shop', tier: 'web' }),
    ];
    await createObjects(s, ...items);
    // Status is only writable through the status subresource.
    await s.k('patch', '-n', 'get-a', 'pod/beta', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Running"}}');
  });
  after(async () => {
    await s?.stop();
  });

  it('table output has the pod columns and one row per pod', async () => {
    const out = await s.k('get', 'pods', '-n', 'get-a');
    const lines = out.trim().split('\n');
    assert.match(lines[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/)[0]), ['alpha', 'beta', 'gamma']);
    assert.match(out, /^alpha\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    assert.match(out, /^beta\s+0\/1\s+Running\s+0\s+\d+s$/m);
  });

  it('-o wide adds the wide columns', async () => {
    const out = await s.k('get', 'pods', '-n', 'get-a', '-o', 'wide');
    assert.match(out.split('\n')[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/);
    assert.match(out, /^alpha\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s+<none>\s+<none>$/m);
  });

  it('-o yaml and -o json of one object and of a list', async () => {
    const y = parseYaml(await s.k('get', 'pod', 'alpha', '-n', 'get-a', '-o', 'yaml'));
    assert.equal(y.kind, 'Pod');
    assert.equal(y.apiVersion, 'v1');
    assert.equal(y.metadata.name, 'alpha');
    assert.match(y.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.match(y.metadata.resourceVersion, /^\d+$/);
    assert.match(y.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(y.spec.containers[0].image, 'busybox:1.36');
    const j = JSON.parse(await s.k('get', 'pods', '-n', 'get-a', '-o', 'json'));
    assert.equal(j.kind, 'List');
    assert.deepEqual(j.items.map((p: any) => p.metadata.name), ['alpha', 'beta', 'gamma']);
    assert.ok(j.items.every((p: any) => p.kind === 'Pod' && p.apiVersion === 'v1'));
  });

  it('-o jsonpath', async () => {
    const out = await s.k('get', 'pods', '-n', 'get-a', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.metadata.labels.app}{"\\n"}{end}');
    assert.equal(out, 'alpha=shop\nbeta=shop\ngamma=blog\n');
    const one = await s.k('get', 'pod', 'beta', '-n', 'get-a', '-o', 'jsonpath={.status.phase}');
    assert.equal(one, 'Running');
  });

  it('-o custom-columns, -o name and --sort-by', async () => {
    const out = await s.k('get', 'pods', '-n', 'get-a', '-o', 'custom-columns=NAME:.metadata.name,APP:.metadata.labels.app,PHASE:.status.phase', '--sort-by=.metadata.labels.app');
    assert.deepEqual(out.trim().split('\n').map((l) => l.split(/\s+/).join(' ')), ['NAME APP PHASE', 'gamma blog Pending', 'alpha shop Pending', 'beta shop Running']);
    assert.equal(await s.k('get', 'pods', '-n', 'get-a', '-o', 'name'), 'pod/alpha\npod/beta\npod/gamma\n');
    assert.equal(await s.k('get', 'pod/alpha', 'pod/gamma', '-n', 'get-a', '-o', 'name'), 'pod/alpha\npod/gamma\n');
  });

  it('-l label selectors (equality, set-based, existence)', async () => {
    const names = async (...sel: string[]) =>
      (await s.k('get', 'pods', '-n', 'get-a', ...sel, '-o', 'name')).trim().split('\n').filter(Boolean);
    assert.deepEqual(await names('-l', 'app=shop'), ['pod/alpha', 'pod/beta']);
    assert.deepEqual(await names('-l', 'app=shop,tier!=db'), ['pod/alpha']);
    assert.deepEqual(await names('-l', 'tier in (db,cache)'), ['pod/beta']);
    assert.deepEqual(await names('-l', '!tier'), ['pod/gamma']);
    assert.deepEqual(await names('-l', 'app=none'), []);
    const r = await s.kubectl(['get', 'pods', '-n', 'get-a', '-l', 'app=none']);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /No resources found in get-a namespace\./);
  });

  it('--field-selector on status.phase and metadata.name', async () => {
    const names = async (sel: string, ...extra: string[]) =>
      (await s.k('get', 'pods', ...extra, '--field-selector', sel, '-o', 'name')).trim().split('\n').filter(Boolean);
    assert.deepEqual(await names('status.phase=Running', '-n', 'get-a'), ['pod/beta']);
    assert.deepEqual(await names('status.phase!=Running', '-n', 'get-a'), ['pod/alpha', 'pod/gamma']);
    assert.deepEqual(await names('metadata.name=gamma', '-n', 'get-a'), ['pod/gamma']);
    assert.deepEqual(await names('metadata.namespace=get-b', '-A'), ['pod/delta']);
    const bad = await s.kubectl(['get', 'pods', '-n', 'get-a', '--field-selector', 'spec.nope=x']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /field label not supported: spec\.nope/);
  });

  it('-A lists every namespace with a NAMESPACE column', async () => {
    const out = await s.k('get', 'pods', '-A', '-l', 'app=shop');
    const lines = out.trim().split('\n');
    assert.match(lines[0], /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join('/')), ['get-a/alpha', 'get-a/beta', 'get-b/delta']);
    const ns = await s.k('get', 'namespaces', '-o', 'name');
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'get-a', 'get-b']) assert.match(ns, new RegExp(`^namespace/${n}$`, 'm'));
  });

  it('--chunk-size=2 pages through more objects than the chunk and shows each once', async () => {
    await createObjects(s, namespace('chunks'));
    const items = Array.from({ length: 11 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: `cm-${String(i).padStart(2, '0')}`, namespace: 'chunks' },
      data: { i: String(i) },
    }));
    await createObjects(s, ...items);
    const v = await s.kubectl(['get', 'configmaps', '-n', 'chunks', '--chunk-size=2', '-v=6']);
    assert.equal(v.code, 0, v.stderr);
    const requests = v.stderr.split('\n').filter((l) => /GET https:\S+\/configmaps\?\S*limit=2/.test(l));
    assert.ok(requests.length >= 6, `expected ≥6 paged requests, saw ${requests.length}:\n${v.stderr}`);
    assert.ok(requests.filter((l) => l.includes('continue=')).length >= 5, 'later pages use continue tokens');
    const rows = v.stdout.trim().split('\n');
    assert.match(rows[0], /^NAME\s+DATA\s+AGE$/);
    const names = rows.slice(1).map((l) => l.split(/\s+/)[0]);
    assert.deepEqual(names, items.map((i) => i.metadata.name), 'every object exactly once, in order');
    const json = JSON.parse(await s.k('get', 'configmaps', '-n', 'chunks', '--chunk-size=2', '-o', 'json'));
    assert.deepEqual(json.items.map((o: any) => o.metadata.name), items.map((i) => i.metadata.name));
  });

  it('--show-labels adds a LABELS column', async () => {
    const out = await s.k('get', 'pods', '-n', 'get-a', '--show-labels');
    assert.match(out.split('\n')[0], /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+LABELS$/);
    assert.match(out, /^alpha\s.*\sapp=shop,tier=web$/m);
    assert.match(out, /^gamma\s.*\sapp=blog$/m);
  });

  it('get -w prints the initial state and later changes', async () => {
    await createObjects(s, namespace('watched'), configMap('first', 'watched', { a: '1' }));
    const w = spawnKubectl(s.kubeconfig, ['get', 'configmaps', '-n', 'watched', '-w', '--output-watch-events']);
    try {
      await w.waitForOutput(/ADDED\s+first\s/);
      await createObjects(s, configMap('second', 'watched', { b: '2' }));
      await w.waitForOutput(/ADDED\s+second\s+1\s/);
      await s.k('patch', '-n', 'watched', 'configmap/second', '--type=merge', '-p', '{"data":{"c":"3"}}');
      await w.waitForOutput(/MODIFIED\s+second\s+2\s/);
      await s.k('delete', '-n', 'watched', 'configmap/first');
      await w.waitForOutput(/DELETED\s+first\s/);
      const lines = w.output().trim().split('\n');
      assert.match(lines[0], /^EVENT\s+NAME\s+DATA\s+AGE$/);
      assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2).join(' ')), ['ADDED first', 'ADDED second', 'MODIFIED second', 'DELETED first']);
    } finally {
      await w.kill();
    }
  });

  it('get -w on one object (plain table output) sees its updates', async () => {
    const w = spawnKubectl(s.kubeconfig, ['get', 'pod', 'gamma', '-n', 'get-a', '-w']);
    try {
      await w.waitForOutput(/^gamma\s+0\/1\s+Pending/m);
      await s.k('patch', '-n', 'get-a', 'pod/gamma', '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Succeeded"}}');
      await w.waitForOutput(/^gamma\s+0\/1\s+Succeeded/m);
    } finally {
      await w.kill();
    }
  });
});
