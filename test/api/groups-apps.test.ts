import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError, KObject, ResourceDef } from '../../src/api/types.js';
import { resources } from '../../src/api/apps/index.js';

const def = (plural: string): ResourceDef => resources.find((r) => r.plural === plural)!;

function template(labels: Record<string, string> = { app: 'web' }) {
  return { metadata: { labels }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.27' }] } };
}

/** Simulates the generic registry's create path: defaults, prepareForCreate, validate. */
function create(d: ResourceDef, obj: KObject): { obj: KObject; errs: FieldError[] } {
  obj.metadata ??= { name: 'x', namespace: 'default', uid: 'uid-1' };
  d.defaults?.(obj);
  d.prepareForCreate?.(obj);
  return { obj, errs: d.validate?.(obj) ?? [] };
}
function update(d: ResourceDef, obj: KObject, old: KObject): FieldError[] {
  d.defaults?.(obj);
  d.prepareForUpdate?.(obj, old);
  return d.validate?.(obj, old) ?? [];
}
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

test('deployment defaults match upstream', () => {
  const { obj, errs } = create(def('deployments'), {
    metadata: { name: 'web', namespace: 'default' },
    spec: { selector: { matchLabels: { app: 'web' } }, template: template() },
    status: { replicas: 9 },
  });
  assert.deepEqual(errs, []);
  assert.equal(obj.spec.replicas, 1);
  assert.deepEqual(obj.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(obj.spec.revisionHistoryLimit, 10);
  assert.equal(obj.spec.progressDeadlineSeconds, 600);
  assert.deepEqual(obj.status, {});
  assert.equal(obj.metadata!.generation, 1);
});

test('deployment validation: selector required / mismatch / negative replicas / both zero', () => {
  const d = def('deployments');
  let r = create(d, { spec: { template: template() } });
  assert.deepEqual(fields(r.errs), ['spec.selector:FieldValueRequired', 'spec.template.metadata.labels:FieldValueInvalid']);

  r = create(d, { spec: { replicas: -1, selector: { matchLabels: { app: 'other' } }, template: template() } });
  assert.deepEqual(fields(r.errs), ['spec.replicas:FieldValueInvalid', 'spec.template.metadata.labels:FieldValueInvalid']);
  const mismatch = r.errs[1];
  assert.equal(mismatch.detail, '`selector` does not match template `labels`');
  assert.deepEqual(mismatch.badValue, { app: 'web' });

  r = create(d, {
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: template(),
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: '0%' } },
    },
  });
  assert.deepEqual(fields(r.errs), ['spec.strategy.rollingUpdate.maxUnavailable:FieldValueInvalid']);
  assert.equal(r.errs[0].detail, 'may not be 0 when `maxSurge` is 0');

  r = create(d, { spec: { selector: { matchLabels: { app: 'web' } }, template: template(), strategy: { type: 'Recreate', rollingUpdate: {} } } });
  assert.deepEqual(fields(r.errs), ['spec.strategy.rollingUpdate:FieldValueForbidden']);

  r = create(d, { spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: {} } } });
  assert.deepEqual(fields(r.errs), ['spec.template.spec.containers:FieldValueRequired']);
});

test('deployment update: selector immutable, generation bumps on spec/annotation change only', () => {
  const d = def('deployments');
  const { obj: old } = create(d, { spec: { selector: { matchLabels: { app: 'web' } }, template: template() } });
  old.status = { replicas: 1, readyReplicas: 1 };

  const same = structuredClone(old);
  same.status = {};
  assert.deepEqual(update(d, same, old), []);
  assert.equal(same.metadata!.generation, 1);
  assert.deepEqual(same.status, { replicas: 1, readyReplicas: 1 }, 'status preserved on main-resource update');

  const scaled = structuredClone(old);
  scaled.spec.replicas = 3;
  assert.deepEqual(update(d, scaled, old), []);
  assert.equal(scaled.metadata!.generation, 2);

  const annotated = structuredClone(old);
  annotated.metadata!.annotations = { a: 'b' };
  update(d, annotated, old);
  assert.equal(annotated.metadata!.generation, 2);

  const moved = structuredClone(old);
  moved.spec.selector = { matchLabels: { app: 'web', tier: 'x' } };
  moved.spec.template.metadata.labels.tier = 'x';
  const errs = update(d, moved, old);
  assert.deepEqual(fields(errs), ['spec.selector:FieldValueInvalid']);
  assert.equal(errs[0].detail, 'field is immutable');
});

test('deployment table row', () => {
  const d = def('deployments');
  assert.deepEqual(
    d.columns.map((c) => [c.name, c.priority]),
    [['Ready', 0], ['Up-to-date', 0], ['Available', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1]],
  );
  const row = d.row({
    metadata: { name: 'web', creationTimestamp: new Date(Date.now() - 65_000).toISOString() },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template() },
    status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
  });
  assert.deepEqual(row, ['2/3', 3, 2, '65s', 'nginx', 'nginx:1.27', 'app=web']);
});

test('replicaset: defaults, table, field selector', () => {
  const d = def('replicasets');
  const { obj, errs } = create(d, { spec: { selector: { matchLabels: { app: 'web' } }, template: template() } });
  assert.deepEqual(errs, []);
  assert.equal(obj.spec.replicas, 1);
  obj.status = { replicas: 1, readyReplicas: 0 };
  assert.deepEqual(d.row(obj).slice(0, 3), [1, 1, 0]);
  assert.equal(d.fieldSelectors!['status.replicas'](obj), '1');
  assert.deepEqual(d.shortNames, ['rs']);
  assert.ok(d.subresources?.scale);
});

test('statefulset defaults and forbidden spec updates', () => {
  const d = def('statefulsets');
  const { obj, errs } = create(d, { spec: { serviceName: 'web', selector: { matchLabels: { app: 'web' } }, template: template() } });
  assert.deepEqual(errs, []);
  assert.equal(obj.spec.replicas, 1);
  assert.equal(obj.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(obj.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.deepEqual(obj.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });
  assert.equal(obj.spec.revisionHistoryLimit, 10);
  assert.equal(d.nameRule, 'dns1123-label');

  const next = structuredClone(obj);
  next.spec.replicas = 5;
  assert.deepEqual(update(d, next, obj), []);
  const bad = structuredClone(obj);
  bad.spec.serviceName = 'other';
  assert.deepEqual(fields(update(d, bad, obj)), ['spec:FieldValueForbidden']);
  obj.status = { readyReplicas: 1 };
  assert.deepEqual(d.row(obj).slice(0, 1), ['1/1']);
});

test('daemonset defaults, template generation annotation, rolling update checks', () => {
  const d = def('daemonsets');
  const { obj, errs } = create(d, { spec: { selector: { matchLabels: { app: 'web' } }, template: template() } });
  assert.deepEqual(errs, []);
  assert.deepEqual(obj.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  assert.equal(obj.metadata!.annotations!['deprecated.daemonset.template.generation'], '1');

  const changed = structuredClone(obj);
  changed.spec.template.spec.containers[0].image = 'nginx:1.28';
  assert.deepEqual(update(d, changed, obj), []);
  assert.equal(changed.metadata!.annotations!['deprecated.daemonset.template.generation'], '2');
  assert.equal(changed.metadata!.generation, 2);

  const bad = structuredClone(obj);
  bad.spec.updateStrategy.rollingUpdate = { maxUnavailable: 0, maxSurge: 0 };
  assert.deepEqual(fields(update(d, bad, obj)), ['spec.updateStrategy.rollingUpdate.maxUnavailable:FieldValueRequired']);

  obj.spec.template.spec.nodeSelector = { 'kubernetes.io/os': 'linux' };
  assert.deepEqual(d.row(obj).slice(0, 6), [0, 0, 0, 0, 0, 'kubernetes.io/os=linux']);
});

test('controllerrevision table names the controller', () => {
  const d = def('controllerrevisions');
  const row = d.row({
    metadata: { name: 'web-1', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] },
    revision: 1,
    data: {},
  });
  assert.deepEqual(row.slice(0, 2), ['statefulset.apps/web', 1]);
  assert.deepEqual(fields(d.validate!({ metadata: {}, revision: 1 })), ['data:FieldValueRequired']);
});

test('pod templates get core pod defaults and validation', () => {
  const d = def('deployments');
  const { obj, errs } = create(d, { spec: { selector: { matchLabels: { app: 'web' } }, template: template() } });
  assert.deepEqual(errs, []);
  assert.equal(obj.spec.template.spec.restartPolicy, 'Always');
  assert.equal(obj.spec.template.spec.dnsPolicy, 'ClusterFirst');
  const bad = create(d, {
    spec: { selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'i' }] } } },
  });
  assert.deepEqual(fields(bad.errs), ['spec.template.spec.restartPolicy:FieldValueNotSupported']);
});
