import { test } from 'node:test';
import assert from 'node:assert/strict';
import { events } from '../../src/api/core/event.js';
import { resources as eventsGroup, eventToCore, eventFromCore } from '../../src/api/events/index.js';
import { endpoints } from '../../src/api/core/endpoints.js';
import { limitranges } from '../../src/api/core/limitrange.js';
import { resourcequotas } from '../../src/api/core/resourcequota.js';
import { persistentvolumes, persistentvolumeclaims } from '../../src/api/core/persistentvolume.js';
import { serviceaccounts } from '../../src/api/core/serviceaccount.js';
import type { KObject } from '../../src/api/types.js';

const fields = (errs: { type: string; field: string }[]) => errs.map((e) => `${e.field}:${e.type}`);
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

test('core events: columns, namespace rule, field selectors', () => {
  const ev: KObject = {
    metadata: { name: 'p.1', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default', fieldPath: 'spec.containers{a}' },
    reason: 'Pulled', message: ' pulled \n', type: 'Normal', count: 3,
    source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: ago(600_000), lastTimestamp: ago(60_000),
  };
  events.defaults!(ev);
  assert.deepEqual(events.row(ev), ['60s', 'Normal', 'Pulled', 'pod/p', 'spec.containers{a}', 'kubelet, n1', 'pulled', '10m', 3]);
  assert.equal(events.columns.map((c) => c.name).join('|'), 'Last Seen|Type|Reason|Object|Subobject|Source|Message|First Seen|Count');
  assert.deepEqual(events.validate!(ev), []);
  assert.deepEqual(fields(events.validate!({ ...ev, involvedObject: { kind: 'Pod', namespace: 'other' } })), ['involvedObject.namespace:FieldValueInvalid']);
  assert.deepEqual(events.validate!({ metadata: { namespace: 'default' }, involvedObject: { kind: 'Node', name: 'n1' } }), []);
  assert.equal(events.fieldSelectors!['involvedObject.name'](ev), 'p');
  assert.equal(events.fieldSelectors!.source(ev), 'kubelet');
  const fresh: KObject = { metadata: { name: 'x', namespace: 'default' } };
  events.defaults!(fresh);
  assert.equal(fresh.eventTime, null);
  assert.equal(fresh.reportingComponent, '');
  const series = { ...ev, series: { count: 7, lastObservedTime: ago(5_000) } };
  assert.deepEqual([events.row(series)[0], events.row(series)[8]], ['5s', 7]);
});

test('events.k8s.io/v1 shares storage with core events', () => {
  const [def] = eventsGroup;
  assert.equal(def.group, 'events.k8s.io');
  assert.equal(def.storage, 'events');
  assert.equal(def.shortNames, undefined);
  assert.equal(events.storage, 'events');
  const ev: KObject = {
    apiVersion: 'events.k8s.io/v1', kind: 'Event', metadata: { name: 'e', namespace: 'default' },
    eventTime: '2024-01-01T00:00:00.000000Z', reportingController: 'skiff.io/scheduler', reportingInstance: 'sched-1',
    action: 'Binding', reason: 'Scheduled', note: 'assigned', type: 'Normal',
    regarding: { kind: 'Pod', name: 'p', namespace: 'default' },
  };
  assert.deepEqual(def.validate!(ev), []);
  const core = def.convert!.toStorage(ev);
  assert.equal(core.apiVersion, 'v1');
  assert.equal(core.message, 'assigned');
  assert.equal(core.reportingComponent, 'skiff.io/scheduler');
  assert.equal(core.reportingInstance, 'sched-1');
  assert.deepEqual(core.involvedObject, ev.regarding);
  const back = def.convert!.fromStorage(core);
  assert.deepEqual(back, { ...ev, deprecatedSource: {}, deprecatedFirstTimestamp: null, deprecatedLastTimestamp: null });

  // A legacy event read through the new API.
  const legacy = eventFromCore({
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'l' }, involvedObject: { kind: 'Pod' }, message: 'm', count: 4,
    source: { component: 'kubelet', host: 'n1' }, firstTimestamp: 'a', lastTimestamp: 'b',
  });
  assert.equal(legacy.reportingController, 'kubelet');
  assert.equal(legacy.reportingInstance, 'n1');
  assert.equal(legacy.deprecatedCount, 4);
  assert.equal(legacy.deprecatedFirstTimestamp, 'a');
  assert.equal(eventToCore(legacy).count, 4);

  const bad = def.validate!({ apiVersion: 'events.k8s.io/v1', metadata: { name: 'e', namespace: 'default' }, type: 'Odd', deprecatedCount: 2 });
  assert.deepEqual(fields(bad), [
    'eventTime:FieldValueRequired', 'type:FieldValueInvalid', 'deprecatedCount:FieldValueInvalid',
    'reportingController:FieldValueRequired', 'reportingInstance:FieldValueRequired', 'action:FieldValueRequired', 'reason:FieldValueRequired',
  ]);
  const changed = { ...ev, note: 'different' };
  assert.deepEqual(fields(def.validate!(changed, ev)), ['note:FieldValueInvalid']);
  assert.equal(def.row(ev).length, def.columns.length);
});

test('endpoints defaults, validation and column', () => {
  const ep: KObject = {
    metadata: { name: 'web' },
    subsets: [{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 443, name: 'https' }] }],
  };
  endpoints.defaults!(ep);
  assert.equal(ep.subsets[0].ports[0].protocol, 'TCP');
  assert.deepEqual(fields(endpoints.validate!(ep)), ['subsets[0].ports[0].name:FieldValueRequired']);
  assert.equal(endpoints.row(ep)[0], '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...');
  assert.equal(endpoints.row({ metadata: {} })[0], '<none>');
  assert.deepEqual(fields(endpoints.validate!({ subsets: [{ addresses: [{ ip: '127.0.0.1' }, { ip: 'x' }] }] })), [
    'subsets[0].addresses[0].ip:FieldValueInvalid', 'subsets[0].addresses[1].ip:FieldValueInvalid',
  ]);
});

test('limitranges default container limits and validate bounds', () => {
  const lr: KObject = { metadata: { name: 'l' }, spec: { limits: [{ type: 'Container', max: { cpu: '2' }, min: { memory: '64Mi' } }] } };
  limitranges.defaults!(lr);
  assert.deepEqual(lr.spec.limits[0].default, { cpu: '2' });
  assert.deepEqual(lr.spec.limits[0].defaultRequest, { cpu: '2', memory: '64Mi' });
  assert.deepEqual(limitranges.validate!(lr), []);
  const bad: KObject = { spec: { limits: [{ type: 'Thing', min: { cpu: '2' }, max: { cpu: '1' } }] } };
  assert.deepEqual(fields(limitranges.validate!(bad)), ['spec.limits[0].type:FieldValueNotSupported', 'spec.limits[0].min[cpu]:FieldValueInvalid']);
});

test('resourcequotas keep status and print usage', () => {
  const rq: KObject = { metadata: { name: 'q' }, spec: { hard: { pods: '10', 'limits.cpu': '4', 'requests.cpu': '2' } }, status: { used: { pods: '99' } } };
  resourcequotas.prepareForCreate!(rq);
  assert.deepEqual(rq.status, {});
  rq.status = { hard: rq.spec.hard, used: { pods: '1', 'limits.cpu': '500m', 'requests.cpu': '0' } };
  const row = resourcequotas.row(rq);
  assert.deepEqual(row.slice(1), ['pods: 1/10, requests.cpu: 0/2', 'limits.cpu: 500m/4']);
  assert.deepEqual(fields(resourcequotas.validate!({ spec: { hard: { cpu: 'x' }, scopes: ['Nope'] } })), [
    'spec.hard[cpu]:FieldValueInvalid', 'spec.scopes[0]:FieldValueNotSupported',
  ]);
});

test('persistent volumes and claims', () => {
  const pv: KObject = { metadata: { name: 'pv1' }, spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/data' } } };
  persistentvolumes.defaults!(pv);
  persistentvolumes.prepareForCreate!(pv);
  assert.equal(pv.spec.persistentVolumeReclaimPolicy, 'Retain');
  assert.equal(pv.spec.volumeMode, 'Filesystem');
  assert.equal(pv.status.phase, 'Pending');
  assert.deepEqual(persistentvolumes.validate!(pv), []);
  assert.deepEqual(persistentvolumes.row(pv).slice(0, 5), ['1Gi', 'RWO', 'Retain', 'Pending', '']);
  assert.deepEqual(fields(persistentvolumes.validate!({ spec: {} })), ['spec.accessModes:FieldValueRequired', 'spec.capacity:FieldValueRequired', 'spec:FieldValueRequired']);

  const pvc: KObject = { metadata: { name: 'c', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
  persistentvolumeclaims.defaults!(pvc);
  persistentvolumeclaims.prepareForCreate!(pvc);
  assert.equal(pvc.spec.volumeMode, 'Filesystem');
  assert.deepEqual(pvc.status, { phase: 'Pending' });
  assert.deepEqual(persistentvolumeclaims.validate!(pvc), []);
  assert.deepEqual(fields(persistentvolumeclaims.validate!({ spec: { accessModes: ['ReadWriteOnce'] } })), ['spec.resources[storage]:FieldValueRequired']);
  const grown = structuredClone(pvc);
  grown.spec.resources.requests.storage = '2Gi';
  assert.deepEqual(persistentvolumeclaims.validate!(grown, pvc), []);
  const moded = structuredClone(pvc);
  moded.spec.accessModes = ['ReadWriteMany'];
  assert.deepEqual(fields(persistentvolumeclaims.validate!(moded, pvc)), ['spec:FieldValueForbidden']);
  const bound = structuredClone(pvc);
  bound.spec.volumeName = 'pv1';
  bound.status = { phase: 'Bound', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'] };
  assert.deepEqual(persistentvolumeclaims.row(bound).slice(0, 4), ['Bound', 'pv1', '1Gi', 'RWO']);
});

test('serviceaccounts print the secret count', () => {
  assert.equal(serviceaccounts.row({ metadata: {}, secrets: [{ name: 'a' }] })[0], 1);
  assert.deepEqual(fields(serviceaccounts.validate!({ secrets: [{}] })), ['secrets[0].name:FieldValueRequired']);
});
