// create -f / apply -f of a multi-document manifest: client-side three-way merge and server-side apply.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { createObjects, fixture, namespace } from './util.js';

const V1 = fixture('app-v1.yaml');
const V2 = fixture('app-v2.yaml');

describe('kubectl create -f / apply -f', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ apiOnly: true });
    await createObjects(s, namespace('csa'), namespace('ssa'), namespace('made'), namespace('dry'));
  });
  after(async () => {
    await s?.stop();
  });

  const getJson = async (ns: string, what: string) => JSON.parse(await s.k('get', '-n', ns, what, '-o', 'json'));

  it('create -f creates every document of a multi-document file', async () => {
    const out = await s.k('create', '-n', 'made', '-f', V1);
    assert.equal(
      out,
      'deployment.apps/web created\nservice/web created\nconfigmap/web-config created\nsecret/web-secret created\n',
    );
    const list = await getJson('made', 'deployments,services,configmaps,secrets');
    const kinds = list.items.map((o: any) => `${o.kind}/${o.metadata.name}`).filter((k: string) => !k.startsWith('ConfigMap/kube-root-ca'));
    assert.deepEqual(kinds.sort(), ['ConfigMap/web-config', 'Deployment/web', 'Secret/web-secret', 'Service/web']);
    const secret = await getJson('made', 'secret/web-secret');
    assert.equal(Buffer.from(secret.data.password, 'base64').toString(), 's3cr3t', 'stringData is folded into data');
    assert.equal(secret.stringData, undefined);
    const deploy = await getJson('made', 'deployment/web');
    assert.equal(deploy.spec.replicas, 2);
    assert.equal(deploy.spec.strategy.type, 'RollingUpdate', 'defaults applied');
  });

  it('create -f of a kind: List creates its items', async () => {
    const list = {
      apiVersion: 'v1',
      kind: 'List',
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l1', namespace: 'made' }, data: { a: '1' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'l2', namespace: 'made' }, data: { b: '2' } },
      ],
    };
    const r = await s.kubectl(['create', '-f', '-'], { input: JSON.stringify(list) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'configmap/l1 created\nconfigmap/l2 created\n');
  });

  it('apply -f creates, re-applies unchanged, applies a change and removes a dropped field', async () => {
    let out = await s.k('apply', '-n', 'csa', '-f', V1);
    assert.equal(out, 'deployment.apps/web created\nservice/web created\nconfigmap/web-config created\nsecret/web-secret created\n');
    const cm1 = await getJson('csa', 'configmap/web-config');
    assert.ok(cm1.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], 'last-applied annotation stored');

    out = await s.k('apply', '-n', 'csa', '-f', V1);
    // stringData never appears in the live Secret, so kubectl always re-sends it (as upstream).
    assert.match(out, /^deployment\.apps\/web unchanged$/m);
    assert.match(out, /^service\/web unchanged$/m);
    assert.match(out, /^configmap\/web-config unchanged$/m);
    const cm2 = await getJson('csa', 'configmap/web-config');
    assert.equal(cm2.metadata.resourceVersion, cm1.metadata.resourceVersion, 'unchanged apply does not write');

    out = await s.k('apply', '-n', 'csa', '-f', V2);
    assert.match(out, /^deployment\.apps\/web configured$/m);
    assert.match(out, /^service\/web unchanged$/m);
    assert.match(out, /^configmap\/web-config configured$/m);
    const cm3 = await getJson('csa', 'configmap/web-config');
    assert.deepEqual(cm3.data, { color: 'green' }, 'data.size (dropped from the manifest) is removed');
    const d = await getJson('csa', 'deployment/web');
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.template.spec.containers[0].env, [{ name: 'MODE', value: 'green' }]);
    assert.equal(d.metadata.generation, 2, 'spec changed once after creation');
  });

  it('apply keeps fields set by others (three-way merge) and removes a label dropped from the manifest', async () => {
    await s.k('label', '-n', 'csa', 'configmap/web-config', 'owner=ops');
    const manifest = readFileSync(V2, 'utf8').replace(/  labels:\n    app: web\ndata:/, '  labels:\n    team: a\ndata:');
    assert.notEqual(manifest, readFileSync(V2, 'utf8'));
    const r = await s.kubectl(['apply', '-n', 'csa', '-f', '-'], { input: manifest });
    assert.equal(r.code, 0, r.stderr);
    const cm = await getJson('csa', 'configmap/web-config');
    assert.deepEqual(cm.metadata.labels, { owner: 'ops', team: 'a' });
  });

  it('apply --server-side creates, re-applies and changes a multi-document manifest', async () => {
    let out = await s.k('apply', '--server-side', '-n', 'ssa', '-f', V1);
    assert.equal(out, 'deployment.apps/web serverside-applied\nservice/web serverside-applied\nconfigmap/web-config serverside-applied\nsecret/web-secret serverside-applied\n');
    const cm1 = JSON.parse(await s.k('get', '-n', 'ssa', 'configmap/web-config', '-o', 'json', '--show-managed-fields'));
    const mf = cm1.metadata.managedFields as any[];
    assert.ok(mf?.some((m) => m.manager === 'kubectl' && m.operation === 'Apply'), `managedFields: ${JSON.stringify(mf)}`);
    assert.deepEqual(cm1.data, { color: 'blue', size: 'large' });

    out = await s.k('apply', '--server-side', '-n', 'ssa', '-f', V1);
    assert.match(out, /^configmap\/web-config serverside-applied$/m);
    const cm2 = await getJson('ssa', 'configmap/web-config');
    assert.equal(cm2.metadata.resourceVersion, cm1.metadata.resourceVersion, 'no-op apply does not write');

    await s.k('apply', '--server-side', '-n', 'ssa', '-f', V2);
    const cm3 = await getJson('ssa', 'configmap/web-config');
    assert.deepEqual(cm3.data, { color: 'green' }, 'a field no longer applied by its only manager is removed');
    const d = await getJson('ssa', 'deployment/web');
    assert.equal(d.spec.replicas, 3);
  });

  it('apply --server-side reports a conflict with another manager and --force-conflicts takes over', async () => {
    await s.k('apply', '--server-side', '-n', 'ssa', '-f', V2);
    await s.k('patch', '-n', 'ssa', 'configmap/web-config', '--type=merge', '-p', '{"data":{"color":"red"}}');
    const r = await s.kubectl(['apply', '--server-side', '-n', 'ssa', '-f', V2]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Apply failed with 1 conflict: conflict with "kubectl-patch"( using v1)?: \.data\.color/);
    await s.k('apply', '--server-side', '--force-conflicts', '-n', 'ssa', '-f', V2);
    const cm = await getJson('ssa', 'configmap/web-config');
    assert.equal(cm.data.color, 'green');
  });

  it('diff and --dry-run=server show a change without writing it', async () => {
    await s.k('apply', '-n', 'dry', '-f', V1);
    const before = await getJson('dry', 'deployment/web');
    const d = await s.kubectl(['diff', '-n', 'dry', '-f', V2]);
    assert.equal(d.code, 1, `kubectl diff exits 1 when there are differences: ${d.stderr}`);
    assert.match(d.stdout, /^-\s+replicas: 2$/m);
    assert.match(d.stdout, /^\+\s+replicas: 3$/m);
    assert.match(d.stdout, /^-\s+size: large$/m);
    const dry = await s.k('apply', '--dry-run=server', '-n', 'dry', '-f', V2);
    assert.match(dry, /^deployment\.apps\/web configured \(server dry run\)$/m);
    assert.match(dry, /^configmap\/web-config configured \(server dry run\)$/m);
    const after = await getJson('dry', 'deployment/web');
    assert.equal(after.spec.replicas, 2);
    assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, 'dry run writes nothing');
    const same = await s.kubectl(['diff', '-n', 'dry', '-f', V1]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.equal(same.stdout, '');
  });

  it('a created Service gets a ClusterIP', async () => {
    const svc = await getJson('made', 'service/web');
    assert.match(svc.spec.clusterIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
    assert.match(await s.k('get', '-n', 'made', 'service', 'web'), /^web\s+ClusterIP\s+\d+\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\d+s$/m);
  });
});
