import { test } from 'node:test';
import assert from 'node:assert/strict';
import { unknownFields } from '../../src/api/schema/index.js';

test('a valid pod has no unknown fields', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', labels: { a: 'b' }, annotations: { x: 'y' }, ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'n', uid: 'u' }] },
    spec: {
      containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } }, env: [{ name: 'E', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] }],
      volumes: [{ name: 'v', configMap: { name: 'cm', items: [{ key: 'k', path: 'p' }] } }],
      nodeSelector: { zone: 'a' },
    },
    status: { phase: 'Running' },
  };
  assert.deepEqual(unknownFields('', 'v1', 'Pod', pod), []);
});

test('unknown fields are reported with upstream paths, in document order', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'p', labelz: {} },
    spec: { containers: [{ name: 'a' }, { name: 'c', imagee: 'x', ports: [{ containerPort: 1, hostport: 2 }] }], bogus: true },
  };
  assert.deepEqual(unknownFields('', 'v1', 'Pod', pod), [
    'unknown field "metadata.labelz"',
    'unknown field "spec.containers[1].imagee"',
    'unknown field "spec.containers[1].ports[0].hostport"',
    'unknown field "spec.bogus"',
  ]);
});

test('workloads, free-form fields and unknown kinds', () => {
  const dep = { spec: { selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'x', imagePullPolicy: 'Always', securityContext: { runAsUser: 1, foo: 1 } }] } }, replica: 2 } };
  assert.deepEqual(unknownFields('apps', 'v1', 'Deployment', dep), [
    'unknown field "spec.template.spec.containers[0].securityContext.foo"',
    'unknown field "spec.replica"',
  ]);
  // ControllerRevision.data is a RawExtension: anything goes inside.
  assert.deepEqual(unknownFields('apps', 'v1', 'ControllerRevision', { data: { anything: { at: 'all' } }, revision: 1 }), []);
  assert.deepEqual(unknownFields('batch', 'v1', 'CronJob', { spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', cmd: [] }] } } } } } }), [
    'unknown field "spec.jobTemplate.spec.template.spec.containers[0].cmd"',
  ]);
  assert.deepEqual(unknownFields('example.com', 'v1', 'Widget', { anything: 1 }), []);
  assert.deepEqual(unknownFields('', 'v1', 'ConfigMap', { data: { a: 'b' }, binaryData: { c: 'ZA==' }, extra: 1 }), ['unknown field "extra"']);
  assert.deepEqual(unknownFields('rbac.authorization.k8s.io', 'v1', 'ClusterRole', { rules: [{ verbs: ['get'], resource: ['pods'] }] }), ['unknown field "rules[0].resource"']);
  assert.deepEqual(unknownFields('', 'v1', 'Event', { involvedObject: { kind: 'Pod' }, reason: 'x' }), []);
  assert.deepEqual(unknownFields('events.k8s.io', 'v1', 'Event', { regarding: { kind: 'Pod' }, note: 'x', reason: 'y', involvedObject: {} }), ['unknown field "involvedObject"']);
});
