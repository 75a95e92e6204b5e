// The real kubectl reading the protobuf /openapi/v2 from a real skiff server: client-side validation
// of a kind: List and `kubectl explain --output plaintext-openapiv2`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { startServer, type TestServer } from '../helpers/cluster.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

const configMap = (name: string, extra: object = {}) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { a: '1' }, ...extra });
const deployment = (name: string, container: object = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx', ...container }] } },
  },
});
const list = (...items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

describe('kubectl with the protobuf OpenAPI v2 document', { skip: !hasKubectl && 'kubectl not found' }, () => {
  let s: TestServer;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s?.stop();
  });

  it('create -f of a kind: List (ConfigMap and Deployment) fetches /openapi/v2 as protobuf and succeeds', async () => {
    const r = await s.kubectl(['create', '-f', '-', '-v=6'], { input: list(configMap('l1'), deployment('l2')) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'configmap/l1 created\ndeployment.apps/l2 created\n');
    assert.match(r.stderr, /GET https:\/\/[^ ]+\/openapi\/v2\S* 200 OK/);
    assert.equal(JSON.parse(await s.k('get', 'configmap', 'l1', '-o', 'json')).data.a, '1');
  });

  it('client-side validation rejects an unknown field in a List item', async () => {
    let r = await s.kubectl(['create', '-f', '-'], { input: list(configMap('bad1', { bogus: 1 })) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error validating data: ValidationError\(ConfigMap\): unknown field "bogus" in io\.k8s\.api\.core\.v1\.ConfigMap/);
    r = await s.kubectl(['create', '-f', '-'], { input: list(configMap('ok2'), deployment('bad2', { imagePullPolice: 'Always' })) });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /ValidationError\(Deployment\.spec\.template\.spec\.containers\[0\]\): unknown field "imagePullPolice" in io\.k8s\.api\.core\.v1\.Container/);
    assert.equal((await s.kubectl(['get', 'configmap', 'ok2'])).code, 1, 'nothing of a rejected List is created');
  });

  it('explain --output plaintext-openapiv2 prints the Pod fields', async () => {
    const out = await s.k('explain', 'pods', '--output', 'plaintext-openapiv2');
    assert.match(out, /^KIND:\s+Pod$/m);
    assert.match(out, /^VERSION:\s+v1$/m);
    for (const f of ['apiVersion\t<string>', 'kind\t<string>', 'metadata\t<Object>', 'spec\t<Object>', 'status\t<Object>']) assert.ok(out.includes(f), `${f} in\n${out}`);
    const ports = await s.k('explain', 'deployment.spec.template.spec.containers.ports', '--output', 'plaintext-openapiv2');
    assert.match(ports, /^RESOURCE:\s+ports <\[\]Object>$/m);
    assert.match(ports, /containerPort\t<integer> -required-/);
  });
});
