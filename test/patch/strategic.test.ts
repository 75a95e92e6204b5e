import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strategicMergePatch } from '../../src/apiserver/patch/strategic.js';
import { listInfo } from '../../src/apiserver/patch/meta.js';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', labels: { app: 'web', tier: 'fe' }, finalizers: ['a', 'b'] },
  spec: {
    replicas: 2,
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
    template: {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web', image: 'nginx:1', ports: [{ containerPort: 80, protocol: 'TCP' }],
            env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }], args: ['x', 'y'],
          },
          { name: 'side', image: 'busybox' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }, { name: 'cfg', configMap: { name: 'c' } }],
      },
    },
  },
});

test('kubectl patch of one container merges by name and keeps the others', () => {
  const orig = deployment();
  const frozen = structuredClone(orig);
  const out = strategicMergePatch(orig, { spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx:2' }] } } } }, 'apps', 'Deployment');
  const cs = out.spec.template.spec.containers;
  assert.equal(cs.length, 2);
  assert.equal(cs[0].image, 'nginx:2');
  assert.deepEqual(cs[0].env, orig.spec.template.spec.containers[0].env);
  assert.equal(cs[1].name, 'side');
  assert.deepEqual(orig, frozen, 'input not mutated');
});

test('merged order follows upstream: patch items first unless the server had an item before them', () => {
  const out = strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: 'web', args: ['z'] }, { name: 'new', image: 'redis' }] } } } }, 'apps', 'Deployment');
  const cs = out.spec.template.spec.containers;
  assert.deepEqual(cs.map((c: any) => c.name), ['web', 'new', 'side']);
  assert.deepEqual(cs[0].args, ['z']);
});

test('null deletes a map key; maps merge key by key', () => {
  const out = strategicMergePatch(deployment(), { metadata: { labels: { tier: null, env: 'prod' } }, spec: { replicas: null } }, 'apps', 'Deployment');
  assert.deepEqual(out.metadata.labels, { app: 'web', env: 'prod' });
  assert.equal('replicas' in out.spec, false);
});

test('env and ports merge by their keys (kubectl apply adding an env var and a port)', () => {
  const out = strategicMergePatch(deployment(), {
    spec: { template: { spec: { containers: [{ name: 'web', env: [{ name: 'B', value: '3' }, { name: 'C', value: '4' }], ports: [{ containerPort: 443 }] }] } } },
  }, 'apps', 'Deployment');
  const c = out.spec.template.spec.containers[0];
  assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }, { name: 'C', value: '4' }]);
  assert.deepEqual(c.ports, [{ containerPort: 443 }, { containerPort: 80, protocol: 'TCP' }]);
});

test('$patch: delete removes a list element by merge key (kubectl apply removing a container)', () => {
  const out = strategicMergePatch(deployment(), {
    spec: { template: { spec: {
      containers: [{ name: 'side', $patch: 'delete' }],
    } } },
  }, 'apps', 'Deployment');
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => c.name), ['web']);
});

test('$patch: replace on a list and on a map', () => {
  const out = strategicMergePatch(deployment(), {
    spec: { template: { spec: { containers: [{ name: 'only', image: 'x' }, { $patch: 'replace' }] } } },
    metadata: { labels: { $patch: 'replace', fresh: 'yes' } },
  }, 'apps', 'Deployment');
  assert.deepEqual(out.spec.template.spec.containers, [{ name: 'only', image: 'x' }]);
  assert.deepEqual(out.metadata.labels, { fresh: 'yes' });
});

test('$patch: delete on a map empties it', () => {
  const out = strategicMergePatch(deployment(), { spec: { strategy: { $patch: 'delete' } } }, 'apps', 'Deployment');
  assert.deepEqual(out.spec.strategy, {});
});

test('$retainKeys (Deployment strategy switch to Recreate; volume source change)', () => {
  const out = strategicMergePatch(deployment(), {
    spec: {
      strategy: { $retainKeys: ['type'], type: 'Recreate' },
      template: { spec: { volumes: [{ name: 'data', $retainKeys: ['hostPath', 'name'], hostPath: { path: '/d' } }] } },
    },
  }, 'apps', 'Deployment');
  assert.deepEqual(out.spec.strategy, { type: 'Recreate' });
  assert.deepEqual(out.spec.template.spec.volumes[0], { name: 'data', hostPath: { path: '/d' } });
  assert.equal(out.spec.template.spec.volumes.length, 2);
  assert.throws(
    () => strategicMergePatch(deployment(), { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }, 'apps', 'Deployment'),
    /invalid patch format of retainKeys/,
  );
});

test('finalizers merge as a set; $deleteFromPrimitiveList removes values', () => {
  const out = strategicMergePatch(deployment(), { metadata: { finalizers: ['b', 'c'] } }, 'apps', 'Deployment');
  assert.deepEqual(out.metadata.finalizers, ['a', 'b', 'c']);
  const del = strategicMergePatch(deployment(), { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } }, 'apps', 'Deployment');
  assert.deepEqual(del.metadata.finalizers, ['b']);
});

test('$setElementOrder reorders a merged list as kubectl apply sends it', () => {
  const out = strategicMergePatch(deployment(), {
    spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'side' }, { name: 'web' }],
      containers: [{ name: 'web', image: 'nginx:3' }],
    } } },
  }, 'apps', 'Deployment');
  assert.deepEqual(out.spec.template.spec.containers.map((c: any) => [c.name, c.image]), [['side', 'busybox'], ['web', 'nginx:3']]);
  const env = strategicMergePatch(deployment(), {
    spec: { template: { spec: { containers: [{ name: 'web', '$setElementOrder/env': [{ name: 'B' }, { name: 'A' }] }] } } },
  }, 'apps', 'Deployment');
  assert.deepEqual(env.spec.template.spec.containers[0].env.map((e: any) => e.name), ['B', 'A']);
});

test('kubectl apply three-way patch: removed env var and new volume', () => {
  const out = strategicMergePatch(deployment(), {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
    spec: { template: { spec: {
      '$setElementOrder/containers': [{ name: 'web' }, { name: 'side' }],
      '$setElementOrder/volumes': [{ name: 'data' }, { name: 'cfg' }, { name: 'logs' }],
      containers: [{ name: 'web', '$setElementOrder/env': [{ name: 'A' }], env: [{ $patch: 'delete', name: 'B' }] }],
      volumes: [{ name: 'logs', emptyDir: {} }],
    } } },
  }, 'apps', 'Deployment');
  const spec = out.spec.template.spec;
  assert.deepEqual(spec.containers[0].env, [{ name: 'A', value: '1' }]);
  assert.deepEqual(spec.volumes.map((v: any) => v.name), ['data', 'cfg', 'logs']);
  assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '{}');
});

test('pods: containers and service ports merge by their keys', () => {
  const pod = { spec: { containers: [{ name: 'a', image: 'x' }], tolerations: [{ key: 'k' }] } };
  const out = strategicMergePatch(pod, { spec: { containers: [{ name: 'a', image: 'y' }], tolerations: [{ key: 'j' }] } }, '', 'Pod');
  assert.deepEqual(out.spec.containers, [{ name: 'a', image: 'y' }]);
  assert.deepEqual(out.spec.tolerations, [{ key: 'j' }], 'atomic list replaced');
  const svc = { spec: { ports: [{ port: 80, targetPort: 8080 }, { port: 443 }] } };
  const s2 = strategicMergePatch(svc, { spec: { ports: [{ port: 80, targetPort: 9090 }] } }, '', 'Service');
  assert.deepEqual(s2.spec.ports, [{ port: 80, targetPort: 9090 }, { port: 443 }]);
});

test('unknown kinds fall back to replacing lists', () => {
  const out = strategicMergePatch({ spec: { items: [{ name: 'a' }] } }, { spec: { items: [{ name: 'b' }] } }, 'example.com', 'Widget');
  assert.deepEqual(out.spec.items, [{ name: 'b' }]);
});

test('malformed patches fail with upstream-like messages', () => {
  assert.throws(() => strategicMergePatch({}, { spec: { $patch: 'bogus' } }, 'apps', 'Deployment'), /unknown patch type: bogus in map/);
  assert.throws(
    () => strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ image: 'x' }] } } } }, 'apps', 'Deployment'),
    /does not contain declared merge key: name/,
  );
  assert.throws(
    () => strategicMergePatch(deployment(), { spec: { template: { spec: { containers: [{ name: 'x', $patch: 'merge' }] } } } }, 'apps', 'Deployment'),
    /merging lists cannot yet be specified in the patch/,
  );
  assert.throws(() => strategicMergePatch({}, { metadata: { $retainKeys: 'x' } }, '', 'Pod'), /expected a \[\]interface\{\}/);
  assert.throws(() => strategicMergePatch({}, [1], '', 'Pod'), /must be a JSON object/);
});

test('listInfo comes from the schemas', () => {
  assert.deepEqual(listInfo('', 'Pod', ['spec', 'containers']), { type: 'map', keys: ['name'], patchStrategy: 'merge', mergeKey: 'name' });
  assert.deepEqual(listInfo('apps', 'Deployment', ['spec', 'template', 'spec', 'volumes']), { type: 'map', keys: ['name'], patchStrategy: 'merge,retainKeys', mergeKey: 'name' });
  assert.deepEqual(listInfo('', 'Pod', ['spec', 'containers', 'ports']), { type: 'map', keys: ['containerPort', 'protocol'], patchStrategy: 'merge', mergeKey: 'containerPort' });
  assert.deepEqual(listInfo('batch', 'CronJob', ['spec', 'jobTemplate', 'spec', 'template', 'spec', 'containers', 'env']), { type: 'map', keys: ['name'], patchStrategy: 'merge', mergeKey: 'name' });
  assert.deepEqual(listInfo('', 'ConfigMap', ['metadata', 'finalizers']), { type: 'set', patchStrategy: 'merge' });
  assert.deepEqual(listInfo('', 'Pod', ['spec', 'tolerations']), { type: 'atomic' });
  assert.equal(listInfo('', 'Pod', ['spec', 'nodeSelector']), undefined);
  assert.equal(listInfo('example.com', 'Widget', ['spec', 'x']), undefined);
});
