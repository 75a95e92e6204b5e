import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError, KObject, ResourceDef } from '../../src/api/types.js';
import { builtinResources } from '../../src/api/registry.js';

const def = (group: string, plural: string): ResourceDef => {
  const d = builtinResources.find((r) => r.group === group && r.plural === plural);
  assert.ok(d, `${group}/${plural} registered`);
  return d;
};
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);
function run(d: ResourceDef, obj: KObject, old?: KObject): FieldError[] {
  obj.metadata ??= { name: 'x', uid: 'u' };
  d.defaults?.(obj);
  if (old) d.prepareForUpdate?.(obj, old);
  else d.prepareForCreate?.(obj);
  return d.validate?.(obj, old) ?? [];
}

test('every group resource has a well-formed table', () => {
  for (const d of builtinResources.filter((r) => r.group !== '' && r.group !== 'events.k8s.io')) {
    assert.ok(!d.columns.some((c) => c.name === 'Name'), `${d.plural}: NAME is implicit`);
    const row = d.row({ metadata: { name: 'x', creationTimestamp: new Date().toISOString() } });
    assert.equal(row.length, d.columns.length, `${d.plural}: one cell per column`);
  }
});

test('leases', () => {
  const d = def('coordination.k8s.io', 'leases');
  assert.deepEqual(run(d, { spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } }), []);
  assert.deepEqual(fields(run(d, { spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } })), [
    'spec.leaseDurationSeconds:FieldValueInvalid',
    'spec.leaseTransitions:FieldValueInvalid',
  ]);
  assert.deepEqual(d.row({ metadata: {}, spec: { holderIdentity: 'node-1' } })[0], 'node-1');
});

test('endpointslices', () => {
  const d = def('discovery.k8s.io', 'endpointslices');
  const eps: KObject = {
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.3'] }, { addresses: ['10.0.0.4'] }],
    ports: [{ port: 80 }],
  };
  assert.deepEqual(run(d, eps), []);
  assert.deepEqual(eps.ports, [{ port: 80, name: '', protocol: 'TCP' }]);
  assert.equal(eps.metadata!.generation, 1);
  assert.deepEqual(d.row(eps).slice(0, 3), ['IPv4', '80', '10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...']);
  const bad = run(d, { addressType: 'IPv5', endpoints: [{ addresses: [] }], ports: [{ port: 0, protocol: 'HTTP' }] });
  assert.deepEqual(fields(bad), [
    'addressType:FieldValueNotSupported',
    'endpoints[0].addresses:FieldValueRequired',
    'ports[0].protocol:FieldValueNotSupported',
    'ports[0].port:FieldValueInvalid',
  ]);
  assert.equal(bad[0].detail, 'supported values: "FQDN", "IPv4", "IPv6"');
  assert.deepEqual(fields(run(d, { addressType: 'IPv4', endpoints: [{ addresses: ['::1'] }] })), ['endpoints[0].addresses[0]:FieldValueInvalid']);
  const next = structuredClone(eps);
  next.endpoints.pop();
  assert.deepEqual(run(d, next, eps), []);
  assert.equal(next.metadata!.generation, 2);
});

test('priorityclasses', () => {
  const d = def('scheduling.k8s.io', 'priorityclasses');
  assert.equal(d.namespaced, false);
  const pc: KObject = { metadata: { name: 'high' }, value: 1000 };
  assert.deepEqual(run(d, pc), []);
  assert.equal(pc.preemptionPolicy, 'PreemptLowerPriority');
  assert.deepEqual(d.row(pc).filter((_, i) => i !== 2), [1000, false, 'PreemptLowerPriority']);
  assert.deepEqual(fields(run(d, { metadata: { name: 'huge' }, value: 1_000_000_001 })), ['value:FieldValueForbidden']);
  assert.deepEqual(fields(run(d, { metadata: { name: 'system-mine' }, value: 1 })), ['metadata.name:FieldValueForbidden']);
  assert.deepEqual(run(d, { metadata: { name: 'system-node-critical' }, value: 2_000_001_000 }), []);
  const changed = structuredClone(pc);
  changed.value = 5;
  assert.deepEqual(fields(run(d, changed, pc)), ['value:FieldValueForbidden']);
});

test('rbac: rules, bindings, defaults, tables', () => {
  const role = def('rbac.authorization.k8s.io', 'roles');
  assert.equal(role.nameRule, 'path-segment');
  assert.deepEqual(run(role, { rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }] }), []);
  assert.deepEqual(fields(run(role, { rules: [{ apiGroups: [''], resources: ['pods'] }, { nonResourceURLs: ['/healthz'], verbs: ['get'] }] })), [
    'rules[0].verbs:FieldValueRequired',
    'rules[1].nonResourceURLs:FieldValueInvalid',
  ]);
  assert.deepEqual(role.row({ metadata: { creationTimestamp: '2024-05-01T10:00:00Z' } }), ['2024-05-01T10:00:00Z']);
  assert.deepEqual(role.columns.map((c) => [c.name, c.type]), [['Created At', 'date']]);
  const cr = def('rbac.authorization.k8s.io', 'clusterroles');
  assert.deepEqual(run(cr, { rules: [{ nonResourceURLs: ['/healthz'], verbs: ['get'] }] }), []);

  const rb = def('rbac.authorization.k8s.io', 'rolebindings');
  const binding: KObject = {
    roleRef: { kind: 'Role', name: 'reader' },
    subjects: [
      { kind: 'User', name: 'alice' },
      { kind: 'Group', name: 'devs' },
      { kind: 'ServiceAccount', name: 'default', namespace: 'ns1' },
    ],
  };
  assert.deepEqual(run(rb, binding), []);
  assert.equal(binding.roleRef.apiGroup, 'rbac.authorization.k8s.io');
  assert.deepEqual(binding.subjects.map((s: any) => s.apiGroup), ['rbac.authorization.k8s.io', 'rbac.authorization.k8s.io', '']);
  const row = rb.row({ ...binding, metadata: { creationTimestamp: new Date().toISOString() } });
  assert.deepEqual([row[0], ...row.slice(2)], ['Role/reader', 'alice', 'devs', 'ns1/default']);
  const moved = structuredClone(binding);
  moved.roleRef.name = 'writer';
  assert.deepEqual(fields(run(rb, moved, binding)), ['roleRef:FieldValueInvalid']);

  const crb = def('rbac.authorization.k8s.io', 'clusterrolebindings');
  assert.deepEqual(fields(run(crb, { roleRef: { kind: 'Role', name: 'r' }, subjects: [{ kind: 'ServiceAccount', name: 'sa' }] })), [
    'roleRef.kind:FieldValueNotSupported',
    'subjects[0].namespace:FieldValueRequired',
  ]);
});

test('storageclasses', () => {
  const d = def('storage.k8s.io', 'storageclasses');
  const sc: KObject = { metadata: { name: 'local-path' }, provisioner: 'rancher.io/local-path' };
  assert.deepEqual(run(d, sc), []);
  assert.equal(sc.reclaimPolicy, 'Delete');
  assert.equal(sc.volumeBindingMode, 'Immediate');
  assert.deepEqual(d.row(sc).slice(0, 4), ['rancher.io/local-path', 'Delete', 'Immediate', false]);
  assert.deepEqual(fields(run(d, { reclaimPolicy: 'Recycle' })), ['provisioner:FieldValueRequired', 'reclaimPolicy:FieldValueNotSupported']);
  const changed = structuredClone(sc);
  changed.parameters = { a: 'b' };
  assert.deepEqual(fields(run(d, changed, sc)), ['parameters:FieldValueForbidden']);
});

test('poddisruptionbudgets', () => {
  const d = def('policy', 'poddisruptionbudgets');
  const pdb: KObject = { spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } }, status: { disruptionsAllowed: 5 } };
  assert.deepEqual(run(d, pdb), []);
  assert.deepEqual(pdb.status, {});
  assert.equal(pdb.metadata!.generation, 1);
  assert.deepEqual(d.row(pdb).slice(0, 3), ['2', 'N/A', 0]);
  const errs = run(d, { spec: { minAvailable: '50%', maxUnavailable: '150%' } });
  assert.deepEqual(fields(errs), ['spec:FieldValueInvalid', 'spec.maxUnavailable:FieldValueInvalid']);
  assert.equal(errs[0].detail, 'minAvailable and maxUnavailable cannot be both set');
  const next = structuredClone(pdb);
  next.spec.minAvailable = '50%';
  next.status = { disruptionsAllowed: 9 };
  assert.deepEqual(run(d, next, { ...pdb, status: { disruptionsAllowed: 1 } }), []);
  assert.equal(next.metadata!.generation, 2);
  assert.deepEqual(next.status, { disruptionsAllowed: 1 });
});

test('shortNames and categories as kubectl api-resources shows them', () => {
  const expect: Record<string, [string[] | undefined, string[] | undefined]> = {
    deployments: [['deploy'], ['all']],
    replicasets: [['rs'], ['all']],
    statefulsets: [['sts'], ['all']],
    daemonsets: [['ds'], ['all']],
    jobs: [undefined, ['all']],
    cronjobs: [['cj'], ['all']],
    poddisruptionbudgets: [['pdb'], undefined],
    storageclasses: [['sc'], undefined],
    priorityclasses: [['pc'], undefined],
    endpointslices: [undefined, undefined],
    leases: [undefined, undefined],
  };
  for (const [plural, [short, cats]] of Object.entries(expect)) {
    const d = builtinResources.find((r) => r.plural === plural && r.group !== '')!;
    assert.deepEqual(d.shortNames, short, plural);
    assert.deepEqual(d.categories, cats, plural);
  }
});
