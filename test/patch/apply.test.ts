// Server-side apply: kubectl-like scenarios against applyPatch / trackUpdate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyPatch, formatConflicts, type ApplyConflict } from '../../src/apiserver/patch/apply.js';
import { trackUpdate } from '../../src/apiserver/patch/managed-fields.js';

const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T10:05:00Z';
const T2 = '2024-05-01T10:10:00Z';

const applyOpts = (manager: string, now: string, extra: object = {}) => ({
  manager,
  force: false,
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  now,
  statusSubresource: true,
  ...extra,
});

function config(extra: { labels?: Record<string, string>; replicas?: number; image?: string; containers?: any[] } = {}): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels: extra.labels ?? { app: 'web' } },
    spec: {
      ...(extra.replicas !== undefined ? { replicas: extra.replicas } : {}),
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: { containers: extra.containers ?? [{ name: 'nginx', image: extra.image ?? 'nginx:1.27', ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

/** What the API server does after applyPatch: store-assigned metadata (the lead's job). */
function stored(obj: any, rv: string): any {
  obj.metadata.uid ??= 'uid-1';
  obj.metadata.creationTimestamp ??= T0;
  obj.metadata.resourceVersion = rv;
  return obj;
}

function ok(r: ReturnType<typeof applyPatch>): any {
  if ('conflicts' in r) assert.fail('unexpected conflicts: ' + formatConflicts(r.conflicts).message);
  return r.object;
}

function entry(obj: any, manager: string): any {
  return obj.metadata.managedFields.find((e: any) => e.manager === manager);
}

test('first apply creates the object with an Apply entry', () => {
  const obj = ok(applyPatch(undefined, config({ replicas: 2 }), applyOpts('kubectl', T0)));
  assert.equal(obj.spec.replicas, 2);
  assert.deepEqual(obj.metadata.labels, { app: 'web' });
  assert.deepEqual(obj.metadata.managedFields, [
    {
      manager: 'kubectl',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"nginx"}': {
                  '.': {},
                  'f:image': {},
                  'f:name': {},
                  'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                },
              },
            },
          },
        },
      },
    },
  ]);
});

test('re-apply without a label removes it; a no-op re-apply keeps the object identical', () => {
  const v1 = stored(ok(applyPatch(undefined, config({ labels: { app: 'web', tier: 'frontend' } }), applyOpts('kubectl', T0))), '1');
  const v2 = ok(applyPatch(v1, config({ labels: { app: 'web' } }), applyOpts('kubectl', T1)));
  assert.deepEqual(v2.metadata.labels, { app: 'web' });
  assert.deepEqual(entry(v2, 'kubectl').fieldsV1['f:metadata'], { 'f:labels': { 'f:app': {} } });
  assert.equal(entry(v2, 'kubectl').time, T1);
  stored(v2, '2');
  const v3 = ok(applyPatch(v2, config({ labels: { app: 'web' } }), applyOpts('kubectl', T2)));
  assert.deepEqual(v3, v2); // times included: nothing to write
});

test('a removed label another manager also owns stays', () => {
  const v1 = stored(ok(applyPatch(undefined, config({ labels: { app: 'web', team: 'a' } }), applyOpts('kubectl', T0))), '1');
  const v2 = stored(ok(applyPatch(v1, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { team: 'a' } } }, applyOpts('labeler', T1))), '2');
  const v3 = ok(applyPatch(v2, config({ labels: { app: 'web' } }), applyOpts('kubectl', T2)));
  assert.deepEqual(v3.metadata.labels, { app: 'web', team: 'a' });
});

test('conflict with an Update manager; same value is shared; force takes ownership', () => {
  const v1 = stored(ok(applyPatch(undefined, config({ replicas: 2 }), applyOpts('kubectl', T0))), '1');
  // kubectl-client-side-apply (an Update manager) changes replicas
  const v2 = structuredClone(v1);
  v2.spec.replicas = 5;
  trackUpdate(v1, v2, { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', now: T1, statusSubresource: true });
  stored(v2, '2');
  assert.deepEqual(entry(v2, 'kubectl-client-side-apply').fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  assert.equal(entry(v2, 'kubectl').fieldsV1['f:spec']['f:replicas'], undefined);

  const r = applyPatch(v2, config({ replicas: 3 }), applyOpts('kubectl', T2));
  assert.ok('conflicts' in r);
  assert.deepEqual(r.conflicts, [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', field: '.spec.replicas' }]);
  const f = formatConflicts(r.conflicts);
  assert.equal(f.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
  assert.deepEqual(f.causes, [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' }]);

  // Applying the value already there is no conflict: both own it.
  const shared = ok(applyPatch(v2, config({ replicas: 5 }), applyOpts('kubectl', T2)));
  assert.deepEqual(entry(shared, 'kubectl').fieldsV1['f:spec']['f:replicas'], {});
  assert.deepEqual(entry(shared, 'kubectl-client-side-apply').fieldsV1, { 'f:spec': { 'f:replicas': {} } });

  const forced = ok(applyPatch(v2, config({ replicas: 3 }), applyOpts('kubectl', T2, { force: true })));
  assert.equal(forced.spec.replicas, 3);
  assert.equal(entry(forced, 'kubectl-client-side-apply'), undefined); // its only field moved away
  assert.deepEqual(entry(forced, 'kubectl').fieldsV1['f:spec']['f:replicas'], {});
});

test('conflict between two appliers, several fields: upstream multi-conflict message', () => {
  const v1 = stored(ok(applyPatch(undefined, config({ replicas: 2 }), applyOpts('alice', T0))), '1');
  const r = applyPatch(v1, config({ replicas: 4, image: 'nginx:1.28' }), applyOpts('bob', T1));
  assert.ok('conflicts' in r);
  const f = formatConflicts(r.conflicts);
  assert.equal(
    f.message,
    'Apply failed with 2 conflicts: conflicts with "alice":\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image',
  );
  assert.equal(f.causes[1].message, 'conflict with "alice"');
});

test('map-list: containers merge by name, keeping another manager\'s container', () => {
  const v1 = stored(ok(applyPatch(undefined, config(), applyOpts('kubectl', T0))), '1');
  const sidecar = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: { template: { spec: { containers: [{ name: 'proxy', image: 'envoy:1' }] } } },
  };
  const v2 = stored(ok(applyPatch(v1, sidecar, applyOpts('injector', T1))), '2');
  assert.deepEqual(v2.spec.template.spec.containers.map((c: any) => c.name), ['nginx', 'proxy']);
  // kubectl changes its image: proxy untouched.
  const v3 = stored(ok(applyPatch(v2, config({ image: 'nginx:1.28' }), applyOpts('kubectl', T2))), '3');
  assert.deepEqual(v3.spec.template.spec.containers, [
    { name: 'nginx', image: 'nginx:1.28', ports: [{ containerPort: 80 }] },
    { name: 'proxy', image: 'envoy:1' },
  ]);
  // kubectl replaces nginx by app: nginx is pruned, proxy kept.
  const v4 = ok(applyPatch(v3, config({ containers: [{ name: 'app', image: 'app:1' }] }), applyOpts('kubectl', T2)));
  assert.deepEqual(v4.spec.template.spec.containers.map((c: any) => c.name), ['proxy', 'app']);
  assert.deepEqual(Object.keys(entry(v4, 'kubectl').fieldsV1['f:spec']['f:template']['f:spec']['f:containers']), ['k:{"name":"app"}']);
});

test('set-list: finalizers from two appliers union; removing one keeps the other', () => {
  const base = (fins: string[]) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', finalizers: fins } });
  const v1 = stored(ok(applyPatch(undefined, { ...config(), metadata: { ...config().metadata, finalizers: ['a.example.com/x'] } }, applyOpts('kubectl', T0))), '1');
  const v2 = stored(ok(applyPatch(v1, base(['b.example.com/y']), applyOpts('other', T1))), '2');
  assert.deepEqual(v2.metadata.finalizers, ['a.example.com/x', 'b.example.com/y']);
  assert.deepEqual(entry(v2, 'other').fieldsV1, { 'f:metadata': { 'f:finalizers': { 'v:"b.example.com/y"': {} } } });
  const v3 = ok(applyPatch(v2, config(), applyOpts('kubectl', T2)));
  assert.deepEqual(v3.metadata.finalizers, ['b.example.com/y']);
});

test('atomic selector and status are handled like upstream', () => {
  const v1 = stored(ok(applyPatch(undefined, config(), applyOpts('kubectl', T0))), '1');
  v1.status = { replicas: 1 };
  const withStatus = { ...config(), status: { replicas: 9 } };
  const v2 = ok(applyPatch(v1, withStatus, applyOpts('kubectl', T1)));
  assert.equal(entry(v2, 'kubectl').fieldsV1['f:status'], undefined); // main resource never owns status
  const sel = config();
  sel.spec.selector = { matchLabels: { app: 'web', x: 'y' } };
  const v3 = ok(applyPatch(v1, sel, applyOpts('kubectl', T1)));
  assert.deepEqual(v3.spec.selector, { matchLabels: { app: 'web', x: 'y' } });
  assert.deepEqual(entry(v3, 'kubectl').fieldsV1['f:spec']['f:selector'], {});
});

test('applying to an object without managedFields: its fields go to before-first-apply', () => {
  const live = stored(config({ replicas: 1 }), '5');
  const r = applyPatch(live, config({ replicas: 2 }), applyOpts('kubectl', T1));
  assert.ok('conflicts' in r);
  assert.equal(formatConflicts(r.conflicts).message, 'Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas');
  const same = ok(applyPatch(live, config({ replicas: 1 }), applyOpts('kubectl', T1)));
  assert.deepEqual(same.metadata.managedFields.map((e: any) => [e.manager, e.operation]), [
    ['kubectl', 'Apply'],
    ['before-first-apply', 'Update'],
  ]);
});

test('kubectl client-side apply → server-side apply: fields matching last-applied are taken over', () => {
  const csaConfig = config({ replicas: 1 });
  const live = structuredClone(csaConfig);
  live.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(csaConfig) + '\n' };
  trackUpdate(undefined, live, { manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'apps/v1', now: T0, statusSubresource: true });
  stored(live, '1');
  const obj = ok(applyPatch(live, config({ replicas: 3 }), applyOpts('kubectl', T1)));
  assert.equal(obj.spec.replicas, 3);
  const ann = JSON.parse(obj.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']);
  assert.equal(ann.spec.replicas, 3);
  // Another manager gets no such pass.
  assert.ok('conflicts' in applyPatch(live, config({ replicas: 3 }), applyOpts('helm', T1)));
});

test('malformed applied configurations are rejected', () => {
  assert.throws(() => applyPatch(undefined, { metadata: { name: 'x', managedFields: [] } }, applyOpts('kubectl', T0)), /managedFields/);
  assert.throws(() => applyPatch(undefined, [], applyOpts('kubectl', T0)));
});

test('formatConflicts groups by manager, sorted, with subresources', () => {
  const cs: ApplyConflict[] = [
    { manager: 'zed', operation: 'Apply', apiVersion: 'v1', field: '.a' },
    { manager: 'amy', operation: 'Update', apiVersion: 'v1', subresource: 'status', field: '.status.x' },
    { manager: 'zed', operation: 'Apply', apiVersion: 'v1', field: '.b' },
  ];
  assert.equal(
    formatConflicts(cs).message,
    'Apply failed with 3 conflicts: conflicts with "amy" with subresource "status" using v1:\n- .status.x\nconflicts with "zed":\n- .a\n- .b',
  );
});
