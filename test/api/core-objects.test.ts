import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namespaces } from '../../src/api/core/namespace.js';
import { services } from '../../src/api/core/service.js';
import { configmaps } from '../../src/api/core/configmap.js';
import { secrets } from '../../src/api/core/secret.js';
import { nodes } from '../../src/api/core/node.js';
import { resources } from '../../src/api/core/index.js';
import type { KObject, ResourceDef } from '../../src/api/types.js';

const fields = (errs: { type: string; field: string }[]) => errs.map((e) => `${e.field}:${e.type}`);

function create(def: ResourceDef, obj: KObject): KObject {
  def.defaults?.(obj);
  def.prepareForCreate?.(obj);
  return obj;
}

test('every def has rows matching its columns and upstream short names', () => {
  const short: Record<string, string[]> = {
    pods: ['po'], namespaces: ['ns'], services: ['svc'], configmaps: ['cm'], nodes: ['no'],
    endpoints: ['ep'], serviceaccounts: ['sa'], events: ['ev'], limitranges: ['limits'],
    resourcequotas: ['quota'], persistentvolumes: ['pv'], persistentvolumeclaims: ['pvc'], replicationcontrollers: ['rc'],
  };
  for (const def of resources) {
    const obj: KObject = { metadata: { name: 'x', creationTimestamp: new Date().toISOString() } };
    def.defaults?.(obj);
    assert.equal(def.row(obj).length, def.columns.length, def.plural);
    assert.ok(!def.columns.some((c) => c.name.toLowerCase() === 'name'), def.plural);
    assert.deepEqual(def.shortNames, short[def.plural], def.plural);
  }
});

test('namespace defaults, strategy and columns', () => {
  const ns = create(namespaces, { metadata: { name: 'team-a', labels: { 'kubernetes.io/metadata.name': 'wrong' } } });
  assert.equal(ns.metadata!.labels!['kubernetes.io/metadata.name'], 'team-a');
  assert.deepEqual(ns.status, { phase: 'Active' });
  assert.deepEqual(ns.spec.finalizers, ['kubernetes']);
  assert.equal(namespaces.nameRule, 'dns1123-label');
  assert.equal(namespaces.namespaced, false);
  const upd: KObject = { metadata: { name: 'team-a' }, spec: {}, status: { phase: 'Terminating' } };
  namespaces.defaults!(upd);
  namespaces.prepareForUpdate!(upd, ns);
  assert.deepEqual(upd.spec.finalizers, ['kubernetes']);
  assert.equal(upd.status.phase, 'Active');
  assert.equal(namespaces.row(ns)[0], 'Active');
  assert.deepEqual(fields(namespaces.validate!({ metadata: { name: 'a' }, spec: { finalizers: ['bogus'] } })), [
    'spec.finalizers[0]:FieldValueInvalid',
  ]);
});

test('service defaults and validation', () => {
  const svc = create(services, {
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
  });
  const s = svc.spec;
  assert.equal(s.type, 'ClusterIP');
  assert.equal(s.sessionAffinity, 'None');
  assert.equal(s.internalTrafficPolicy, 'Cluster');
  assert.equal(s.ipFamilyPolicy, 'SingleStack');
  assert.deepEqual(s.ipFamilies, ['IPv4']);
  assert.deepEqual(s.ports[0], { port: 80, protocol: 'TCP', targetPort: 80 });
  assert.deepEqual(svc.status, { loadBalancer: {} });
  assert.deepEqual(services.validate!(svc), []);

  const bad: KObject = { metadata: { name: 'b' }, spec: { type: 'Weird', ports: [{ port: 0 }, { port: 80, name: 'http' }, { port: 81, name: 'http' }] } };
  services.defaults!(bad);
  const f = fields(services.validate!(bad));
  assert.ok(f.includes('spec.type:FieldValueNotSupported'), f.join('\n'));
  assert.ok(f.includes('spec.ports[0].name:FieldValueRequired'));
  assert.ok(f.includes('spec.ports[0].port:FieldValueInvalid'));
  assert.ok(f.includes('spec.ports[2].name:FieldValueDuplicate'));
  assert.deepEqual(fields(services.validate!({ metadata: { name: 'c' }, spec: { type: 'ClusterIP', ports: [] } })), ['spec.ports:FieldValueRequired']);

  // clusterIP: carried over when omitted, immutable when changed.
  const old = structuredClone(svc);
  old.spec.clusterIP = '10.43.0.10';
  old.spec.clusterIPs = ['10.43.0.10'];
  const upd: KObject = { metadata: { name: 'web' }, spec: { ports: [{ port: 8080 }] } };
  services.defaults!(upd);
  services.prepareForUpdate!(upd, old);
  assert.equal(upd.spec.clusterIP, '10.43.0.10');
  assert.deepEqual(services.validate!(upd, old), []);
  upd.spec.clusterIP = '10.43.0.11';
  upd.spec.clusterIPs = ['10.43.0.11'];
  assert.deepEqual(fields(services.validate!(upd, old)), ['spec.clusterIP:FieldValueInvalid']);

  const np = create(services, { metadata: { name: 'np', creationTimestamp: new Date().toISOString() }, spec: { type: 'NodePort', clusterIP: '10.0.0.1', ports: [{ port: 80, nodePort: 30080 }], selector: { b: '2', a: '1' } } });
  assert.equal(np.spec.externalTrafficPolicy, 'Cluster');
  assert.deepEqual(services.row(np).filter((_, i) => i !== 4), ['NodePort', '10.0.0.1', '<none>', '80:30080/TCP', 'a=1,b=2']);
  const lb = create(services, { metadata: { name: 'lb' }, spec: { type: 'LoadBalancer', ports: [{ port: 443 }] } });
  assert.equal(services.row(lb)[2], '<pending>');
  assert.equal(lb.spec.allocateLoadBalancerNodePorts, true);
});

test('configmap keys and size', () => {
  assert.deepEqual(configmaps.validate!({ metadata: { name: 'c' }, data: { 'a.b_c-D': 'x' } }), []);
  const errs = configmaps.validate!({ metadata: { name: 'c' }, data: { 'bad key': 'x', '..x': 'y' } });
  assert.deepEqual(fields(errs), ['data[bad key]:FieldValueInvalid', 'data[..x]:FieldValueInvalid']);
  assert.match(errs[0].detail, /regex used for validation is '\[-._a-zA-Z0-9\]\+'/);
  const big = configmaps.validate!({ metadata: { name: 'c' }, data: { a: 'x'.repeat(1024 * 1024 + 1) } });
  assert.deepEqual(fields(big), [':FieldValueTooLong']);
  const old = { metadata: { name: 'c' }, immutable: true, data: { a: '1' } };
  assert.deepEqual(fields(configmaps.validate!({ metadata: { name: 'c' }, immutable: true, data: { a: '2' } }, old)), ['data:FieldValueForbidden']);
  assert.deepEqual(configmaps.row({ data: { a: '1' }, binaryData: { b: 'AA==' }, metadata: {} })[0], 2);
});

test('secret defaults and validation', () => {
  const s = create(secrets, { metadata: { name: 's' }, data: { a: 'aGk=' }, stringData: { b: 'hello' } });
  assert.equal(s.type, 'Opaque');
  assert.equal(s.stringData, undefined);
  assert.equal(s.data.b, Buffer.from('hello').toString('base64'));
  assert.deepEqual(secrets.validate!(s), []);
  assert.deepEqual(fields(secrets.validate!({ metadata: { name: 's' }, type: 'Opaque', data: { a: 'not base64!' } })), ['data[a]:FieldValueInvalid']);
  assert.deepEqual(fields(secrets.validate!({ metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': '' } })), ['data[tls.key]:FieldValueRequired']);
  const big = Buffer.alloc(1024 * 1024 + 1).toString('base64');
  assert.deepEqual(fields(secrets.validate!({ metadata: { name: 's' }, type: 'Opaque', data: { a: big } })), ['data:FieldValueTooLong']);
  assert.deepEqual(fields(secrets.validate!({ metadata: { name: 's' }, type: 'x/y' }, { metadata: { name: 's' }, type: 'Opaque' })), ['type:FieldValueInvalid']);
  assert.deepEqual(secrets.row(s).slice(0, 2), ['Opaque', 2]);
  assert.equal(secrets.fieldSelectors!.type(s), 'Opaque');
});

test('node columns, defaults and validation', () => {
  const n = create(nodes, {
    metadata: { name: 'n1', creationTimestamp: new Date().toISOString(), labels: { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/master': 'true' } },
    spec: { unschedulable: true, taints: [{ key: 'a', effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '4' },
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: '192.168.1.2' }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'containerd://1.7' },
    },
  });
  assert.deepEqual(n.status.allocatable, { cpu: '4' });
  const row = nodes.row(n);
  assert.deepEqual([row[0], row[1], row[3], row[4], row[5]], ['Ready,SchedulingDisabled', 'control-plane,master', 'v1.32.0', '192.168.1.2', '<none>']);
  assert.equal(nodes.row({ metadata: {}, spec: {} })[0], 'Unknown');
  assert.deepEqual(nodes.validate!(n), []);
  assert.deepEqual(fields(nodes.validate!({ metadata: { name: 'n' }, spec: { taints: [{ key: 'a', effect: 'Sometimes' }] } })), ['spec.taints[0].effect:FieldValueNotSupported']);
  assert.equal(nodes.fieldSelectors!['spec.unschedulable'](n), 'true');
});
