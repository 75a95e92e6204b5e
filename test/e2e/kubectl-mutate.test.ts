// describe, edit (via KUBE_EDITOR), label, annotate, patch (strategic/merge/json) and scale.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, createObjects, fixture, namespace } from './util.js';

const NS = 'mut';

const deployment = (name: string, replicas: number) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'main', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
    },
  },
});

const pod = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: NS, labels: { app: 'solo' }, annotations: { note: 'hello' } },
  spec: { containers: [{ name: 'main', image: 'busybox:1.36', command: ['sleep', '3600'], env: [{ name: 'A', value: '1' }] }] },
});

describe('kubectl describe/edit/label/annotate/patch/scale', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ apiOnly: true });
    await createObjects(s, namespace(NS), deployment('web', 2), deployment('api', 1), pod('solo'), configMap('settings', NS, { mode: 'slow' }));
  });
  after(async () => {
    await s?.stop();
  });
  const getJson = async (what: string) => JSON.parse(await s.k('get', '-n', NS, what, '-o', 'json'));

  it('describe pod', async () => {
    const out = await s.k('describe', '-n', NS, 'pod', 'solo');
    assert.match(out, /^Name:\s+solo$/m);
    assert.match(out, /^Namespace:\s+mut$/m);
    assert.match(out, /^Labels:\s+app=solo$/m);
    assert.match(out, /^Annotations:\s+note: hello$/m);
    assert.match(out, /^Status:\s+Pending$/m);
    assert.match(out, /^Containers:\n\s+main:\n/m);
    assert.match(out, /^\s+Image:\s+busybox:1\.36$/m);
    assert.match(out, /^\s+Command:\n\s+sleep\n\s+3600$/m);
    assert.match(out, /^\s+Environment:\n\s+A:\s+1$/m);
    assert.match(out, /^QoS Class:\s+BestEffort$/m);
    assert.match(out, /^Events:\s+<none>$/m);
  });

  it('describe deployment', async () => {
    const out = await s.k('describe', '-n', NS, 'deployment', 'web');
    assert.match(out, /^Name:\s+web$/m);
    assert.match(out, /^Namespace:\s+mut$/m);
    assert.match(out, /^Selector:\s+app=web$/m);
    assert.match(out, /^Replicas:\s+2 desired \| 0 updated \| 0 total \| 0 available \| 0 unavailable$/m);
    assert.match(out, /^StrategyType:\s+RollingUpdate$/m);
    assert.match(out, /^RollingUpdateStrategy:\s+25% max unavailable, 25% max surge$/m);
    assert.match(out, /^Pod Template:\n\s+Labels:\s+app=web$/m);
    assert.match(out, /^\s+Image:\s+nginx:1\.27$/m);
    assert.match(out, /^\s+Port:\s+80\/TCP$/m);
  });

  it('edit through KUBE_EDITOR writes the edited object', async () => {
    const editor = fixture('kube-editor.sh');
    const before = await getJson('configmap/settings');
    let r = await s.kubectl(['edit', '-n', NS, 'configmap/settings'], { env: { KUBE_EDITOR: editor, EDIT_SED: 's/mode: slow/mode: fast/' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'configmap/settings edited');
    const after = await getJson('configmap/settings');
    assert.deepEqual(after.data, { mode: 'fast' });
    assert.ok(Number(after.metadata.resourceVersion) > Number(before.metadata.resourceVersion));

    r = await s.kubectl(['edit', '-n', NS, 'configmap/settings'], { env: { KUBE_EDITOR: editor, EDIT_SED: 's/nothing-matches-this//' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /Edit cancelled, no changes made\./);

    r = await s.kubectl(['edit', '-n', NS, 'deployment/api'], { env: { KUBE_EDITOR: editor, EDIT_SED: 's/replicas: 1$/replicas: 4/' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'deployment.apps/api edited');
    assert.equal((await getJson('deployment/api')).spec.replicas, 4);
  });

  it('label: add, refuse to overwrite, --overwrite, remove with key-', async () => {
    assert.equal(await s.k('label', '-n', NS, 'pod/solo', 'env=dev'), 'pod/solo labeled\n');
    const r = await s.kubectl(['label', '-n', NS, 'pod/solo', 'env=prod']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /'env' already has a value \(dev\), and --overwrite is false/);
    assert.equal(await s.k('label', '-n', NS, 'pod/solo', 'env=prod', '--overwrite'), 'pod/solo labeled\n');
    assert.deepEqual((await getJson('pod/solo')).metadata.labels, { app: 'solo', env: 'prod' });
    assert.equal(await s.k('label', '-n', NS, 'pod/solo', 'env-'), 'pod/solo unlabeled\n');
    assert.deepEqual((await getJson('pod/solo')).metadata.labels, { app: 'solo' });
    // Several objects by selector.
    const out = await s.k('label', '-n', NS, 'deployments', '--all', 'team=core');
    assert.equal(out, 'deployment.apps/api labeled\ndeployment.apps/web labeled\n');
  });

  it('annotate: add, refuse to overwrite, --overwrite, remove with key-', async () => {
    assert.equal(await s.k('annotate', '-n', NS, 'pod/solo', 'owner=alice'), 'pod/solo annotated\n');
    const r = await s.kubectl(['annotate', '-n', NS, 'pod/solo', 'owner=bob']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /--overwrite is false but found the following declared annotation\(s\): 'owner' already has a value \(alice\)/);
    await s.k('annotate', '-n', NS, 'pod/solo', 'owner=bob', '--overwrite');
    assert.equal((await getJson('pod/solo')).metadata.annotations.owner, 'bob');
    assert.equal(await s.k('annotate', '-n', NS, 'pod/solo', 'owner-', 'note-'), 'pod/solo annotated\n');
    assert.deepEqual(Object.keys((await getJson('pod/solo')).metadata.annotations ?? {}), []);
  });

  it('removing the last annotation leaves no empty annotations map (omitempty)', async () => {
    await s.k('annotate', '-n', NS, 'configmap/settings', 'only=one');
    await s.k('annotate', '-n', NS, 'configmap/settings', 'only-');
    assert.equal((await getJson('configmap/settings')).metadata.annotations, undefined);
  });

  it('patch --type=strategic merges containers by name', async () => {
    const out = await s.k('patch', '-n', NS, 'deployment/web', '-p', JSON.stringify({
      spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'busybox:1.36' }, { name: 'main', image: 'nginx:1.28' }] } } },
    }));
    assert.equal(out, 'deployment.apps/web patched\n');
    const d = await getJson('deployment/web');
    const containers = d.spec.template.spec.containers.map((c: any) => `${c.name}=${c.image}`).sort();
    assert.deepEqual(containers, ['main=nginx:1.28', 'sidecar=busybox:1.36']);
    const main = d.spec.template.spec.containers.find((c: any) => c.name === 'main');
    assert.deepEqual(main.ports.map((p: any) => p.containerPort), [80], 'fields of the merged element survive');
    // $patch: delete removes one element by key.
    await s.k('patch', '-n', NS, 'deployment/web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","$patch":"delete"}]}}}}');
    const d2 = await getJson('deployment/web');
    assert.deepEqual(d2.spec.template.spec.containers.map((c: any) => c.name), ['main']);
    const same = await s.k('patch', '-n', NS, 'deployment/web', '-p', '{"spec":{"replicas":2}}');
    assert.equal(same, 'deployment.apps/web patched (no change)\n');
  });

  it('patch --type=merge replaces lists and deletes with null', async () => {
    await s.k('patch', '-n', NS, 'configmap/settings', '--type=merge', '-p', '{"data":{"extra":"1","mode":null},"metadata":{"labels":{"k":"v"}}}');
    const cm = await getJson('configmap/settings');
    assert.deepEqual(cm.data, { extra: '1' });
    assert.deepEqual(cm.metadata.labels, { k: 'v' });
    await s.k('patch', '-n', NS, 'pod/solo', '--type=merge', '-p', '{"spec":{"activeDeadlineSeconds":60}}');
    assert.equal((await getJson('pod/solo')).spec.activeDeadlineSeconds, 60);
  });

  it('patch --type=json applies RFC 6902 operations', async () => {
    await s.k('patch', '-n', NS, 'deployment/web', '--type=json', '-p', JSON.stringify([
      { op: 'replace', path: '/spec/replicas', value: 3 },
      { op: 'add', path: '/metadata/labels/stage', value: 'beta' },
      { op: 'add', path: '/spec/template/spec/containers/0/env', value: [{ name: 'X', value: 'y' }] },
    ]));
    const d = await getJson('deployment/web');
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.metadata.labels.stage, 'beta');
    assert.deepEqual(d.spec.template.spec.containers[0].env, [{ name: 'X', value: 'y' }]);
    const bad = await s.kubectl(['patch', '-n', NS, 'deployment/web', '--type=json', '-p', '[{"op":"test","path":"/spec/replicas","value":99}]']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /^The request is invalid: |Error from server/m);
  });

  it('scale deployment --replicas=N goes through the scale subresource', async () => {
    const r = await s.kubectl(['scale', '-n', NS, 'deployment/web', '--replicas=5', '-v=6']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'deployment.apps/web scaled\n');
    assert.match(r.stderr, /PATCH https:\S+\/apis\/apps\/v1\/namespaces\/mut\/deployments\/web\/scale\S* 200 OK/);
    assert.equal((await getJson('deployment/web')).spec.replicas, 5);
    const gen = (await getJson('deployment/web')).metadata.generation;
    const bad = await s.kubectl(['scale', '-n', NS, 'deployment/web', '--current-replicas=2', '--replicas=1']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Expected replicas to be 2, was 5/);
    await s.k('scale', '-n', NS, 'deployment/web', '--replicas=0');
    const d = await getJson('deployment/web');
    assert.equal(d.spec.replicas, 0);
    assert.equal(d.metadata.generation, gen + 1, 'scaling is a spec change');
  });
});
