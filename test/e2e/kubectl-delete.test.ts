// delete (by name, selector, --all, --wait, force), the create generators, wait and events.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, createObjects, fixture, namespace, spawnKubectl } from './util.js';

const NS = 'del';

const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36' }], ...extra },
});

describe('kubectl delete, create generators, wait and events', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ apiOnly: true });
    await createObjects(s, namespace(NS), namespace('ev'));
  });
  after(async () => {
    await s?.stop();
  });
  const names = async (what: string) => (await s.k('get', '-n', NS, what, '-o', 'name')).trim().split('\n').filter(Boolean);

  it('delete by name', async () => {
    await createObjects(s, configMap('one', NS));
    assert.equal(await s.k('delete', '-n', NS, 'configmap', 'one'), 'configmap "one" deleted\n');
    const r = await s.kubectl(['get', '-n', NS, 'configmap', 'one']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error from server \(NotFound\): configmaps "one" not found/);
  });

  it('delete -l deletes exactly the matching objects', async () => {
    await createObjects(s, configMap('l-a', NS, {}, { grp: 'x' }), configMap('l-b', NS, {}, { grp: 'x' }), configMap('l-c', NS, {}, { grp: 'y' }));
    assert.equal(await s.k('delete', '-n', NS, 'configmaps', '-l', 'grp=x'), 'configmap "l-a" deleted\nconfigmap "l-b" deleted\n');
    assert.deepEqual(await names('configmaps'), ['configmap/l-c']);
  });

  it('delete --all', async () => {
    await createObjects(s, configMap('all-1', NS), configMap('all-2', NS));
    const out = await s.k('delete', '-n', NS, 'configmaps', '--all');
    assert.match(out, /^configmap "all-1" deleted$/m);
    assert.match(out, /^configmap "all-2" deleted$/m);
    assert.deepEqual(await names('configmaps'), []);
    const r = await s.kubectl(['delete', '-n', NS, 'configmaps', '--all']);
    assert.equal(r.code, 0);
    assert.match(r.stdout + r.stderr, /No resources found/);
  });

  it('delete --wait waits for finalizers to be removed', async () => {
    await createObjects(s, { ...configMap('fin', NS), metadata: { name: 'fin', namespace: NS, finalizers: ['skiff.io/test'] } });
    const del = spawnKubectl(s.kubeconfig, ['delete', '-n', NS, 'configmap/fin', '--wait=true', '--timeout=30s']);
    try {
      await del.waitForOutput(/configmap "fin" deleted/);
      const cm = JSON.parse(await s.k('get', '-n', NS, 'configmap/fin', '-o', 'json'));
      assert.match(cm.metadata.deletionTimestamp, /Z$/, 'marked for deletion while the finalizer is there');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await Promise.race([del.exited.then(() => 'exited'), Promise.resolve('running')]), 'running', 'kubectl is still waiting');
      await s.k('patch', '-n', NS, 'configmap/fin', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]');
      assert.equal(await del.exited, 0, del.stderr());
    } finally {
      await del.kill();
    }
    assert.deepEqual(await names('configmaps'), []);
  });

  it('delete a pod gracefully, then --grace-period=0 --force', async () => {
    // Bound to a node (no kubelet here), so graceful deletion leaves it terminating.
    await createObjects(s, pod('bound', { nodeName: 'node-gone', terminationGracePeriodSeconds: 30 }), pod('unbound'));
    assert.equal(await s.k('delete', '-n', NS, 'pod/bound', '--wait=false'), 'pod "bound" deleted\n');
    const p = JSON.parse(await s.k('get', '-n', NS, 'pod/bound', '-o', 'json'));
    assert.equal(p.metadata.deletionGracePeriodSeconds, 30);
    assert.ok(p.metadata.deletionTimestamp);
    assert.match(await s.k('get', '-n', NS, 'pod/bound'), /^bound\s+0\/1\s+Terminating\s/m);
    const r = await s.kubectl(['delete', '-n', NS, 'pod/bound', '--grace-period=0', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: Immediate deletion does not wait for confirmation that the running resource has been terminated/);
    assert.equal(r.stdout, 'pod "bound" force deleted\n');
    // A pod never scheduled goes away at once, and --wait returns immediately.
    assert.equal(await s.k('delete', '-n', NS, 'pod/unbound', '--wait'), 'pod "unbound" deleted\n');
    assert.deepEqual(await names('pods'), []);
  });

  it('create namespace', async () => {
    assert.equal(await s.k('create', 'namespace', 'made-by-generator'), 'namespace/made-by-generator created\n');
    const ns = JSON.parse(await s.k('get', 'namespace', 'made-by-generator', '-o', 'json'));
    assert.equal(ns.status.phase, 'Active');
  });

  it('create configmap --from-literal', async () => {
    assert.equal(await s.k('create', '-n', NS, 'configmap', 'lit', '--from-literal=a=1', '--from-literal=b=two'), 'configmap/lit created\n');
    const cm = JSON.parse(await s.k('get', '-n', NS, 'configmap/lit', '-o', 'json'));
    assert.deepEqual(cm.data, { a: '1', b: 'two' });
  });

  it('create secret generic --from-literal', async () => {
    assert.equal(await s.k('create', '-n', NS, 'secret', 'generic', 'creds', '--from-literal=user=admin', '--from-literal=pass=hunter2'), 'secret/creds created\n');
    const sec = JSON.parse(await s.k('get', '-n', NS, 'secret/creds', '-o', 'json'));
    assert.equal(sec.type, 'Opaque');
    assert.equal(Buffer.from(sec.data.pass, 'base64').toString(), 'hunter2');
    assert.match(await s.k('get', '-n', NS, 'secret', 'creds'), /^creds\s+Opaque\s+2\s+\d+s$/m);
  });

  it('create deployment and run (protobuf bodies)', async () => {
    assert.equal(await s.k('create', '-n', NS, 'deployment', 'gen', '--image=nginx:1.27', '--replicas=2', '--port=80'), 'deployment.apps/gen created\n');
    const d = JSON.parse(await s.k('get', '-n', NS, 'deployment/gen', '-o', 'json'));
    assert.equal(d.spec.replicas, 2);
    assert.deepEqual(d.spec.selector, { matchLabels: { app: 'gen' } });
    assert.deepEqual(d.spec.template.spec.containers[0].ports, [{ containerPort: 80, protocol: 'TCP' }]);
    assert.equal(await s.k('run', '-n', NS, 'runner', '--image=busybox:1.36', '--labels=a=b', '--', 'sleep', '60'), 'pod/runner created\n');
    const p = JSON.parse(await s.k('get', '-n', NS, 'pod/runner', '-o', 'json'));
    assert.deepEqual(p.spec.containers[0].args, ['sleep', '60']);
    assert.deepEqual(p.metadata.labels, { a: 'b' });
    await s.k('delete', '-n', NS, 'deployment/gen', 'pod/runner');
  });

  it('wait --for=condition on a node whose status is patched through the status subresource', async () => {
    await createObjects(s, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'wait-node' } });
    const w = spawnKubectl(s.kubeconfig, ['wait', '--for=condition=Ready', 'node/wait-node', '--timeout=20s']);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const status = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ok', lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z/, 'Z'), lastTransitionTime: new Date().toISOString().replace(/\.\d+Z/, 'Z') }] } };
      await s.k('patch', 'node/wait-node', '--subresource=status', '--type=merge', '-p', JSON.stringify(status));
      assert.equal(await w.exited, 0, w.stderr());
      assert.equal(w.output(), 'node/wait-node condition met\n');
    } finally {
      await w.kill();
    }
    // Already true: returns at once; a condition that never comes times out with exit 1.
    assert.equal(await s.k('wait', '--for=condition=Ready', 'node/wait-node', '--timeout=5s'), 'node/wait-node condition met\n');
    const r = await s.kubectl(['wait', '--for=condition=Ready=False', 'node/wait-node', '--timeout=1s']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /timed out waiting for the condition on nodes\/wait-node/);
  });

  it('wait --for=condition on a pod and wait --for=jsonpath', async () => {
    await createObjects(s, pod('waiter'));
    const w = spawnKubectl(s.kubeconfig, ['wait', '-n', NS, '--for=condition=Ready', 'pod/waiter', '--timeout=20s']);
    const j = spawnKubectl(s.kubeconfig, ['wait', '-n', NS, '--for=jsonpath={.status.phase}=Running', 'pod/waiter', '--timeout=20s']);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await s.k('patch', '-n', NS, 'pod/waiter', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } }));
      assert.equal(await w.exited, 0, w.stderr());
      assert.equal(w.output(), 'pod/waiter condition met\n');
      assert.equal(await j.exited, 0, j.stderr());
      assert.equal(j.output(), 'pod/waiter condition met\n');
    } finally {
      await w.kill();
      await j.kill();
    }
  });

  it('wait --for=delete', async () => {
    await createObjects(s, configMap('doomed', NS));
    const w = spawnKubectl(s.kubeconfig, ['wait', '-n', NS, '--for=delete', 'configmap/doomed', '--timeout=20s']);
    try {
      await new Promise((r) => setTimeout(r, 300));
      await s.k('delete', '-n', NS, 'configmap/doomed');
      assert.equal(await w.exited, 0, w.stderr());
      assert.equal(w.output(), 'configmap/doomed condition met\n');
    } finally {
      await w.kill();
    }
    // Nothing to wait for: succeeds at once.
    const r = await s.kubectl(['wait', '-n', NS, '--for=delete', 'configmap/doomed', '--timeout=2s']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('get events lists core and events.k8s.io events', async () => {
    const r = await s.kubectl(['create', '-f', fixture('events.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'event/solo.core created\nevent.events.k8s.io/solo.events created\n');
    const out = await s.k('get', 'events', '-n', 'ev');
    const lines = out.trim().split('\n');
    assert.match(lines[0], /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    assert.match(out, /\sNormal\s+Testing\s+pod\/solo\s+hello from the core API$/m);
    assert.match(out, /\sWarning\s+Checked\s+pod\/solo\s+hello from events\.k8s\.io$/m);
    const ev = JSON.parse(await s.k('get', 'events.v1.events.k8s.io', '-n', 'ev', 'solo.core', '-o', 'json'));
    assert.equal(ev.note, 'hello from the core API');
    assert.equal(ev.regarding.name, 'solo');
    const sel = await s.k('get', 'events', '-n', 'ev', '--field-selector', 'involvedObject.name=solo,type=Warning', '-o', 'name');
    assert.equal(sel, 'event/solo.events\n');
    const evs = await s.k('events', '-n', 'ev');
    assert.match(evs.split('\n')[0], /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/);
    assert.match(evs, /\sWarning\s+Checked\s+Pod\/solo\s+hello from events\.k8s\.io$/m);
    const warnings = await s.k('events', '-n', 'ev', '--types=Warning');
    assert.doesNotMatch(warnings, /hello from the core API/);
  });
});
