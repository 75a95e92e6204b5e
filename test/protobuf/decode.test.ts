// Wire-level decoding of Kubernetes protobuf bodies, from hand-built bytes (independent of our encoder),
// plus JSON -> protobuf -> JSON round trips through encodeK8sProtobuf.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeK8sProtobuf, encodeK8sProtobuf, ProtobufError } from '../../src/apiserver/protobuf/index.js';
import { formatDuration, parseDuration } from '../../src/apiserver/protobuf/formats.js';

// --- a tiny protobuf builder -------------------------------------------------------------------------
function varint(v: bigint | number): number[] {
  let u = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80);
    u >>= 7n;
  }
  out.push(Number(u));
  return out;
}
type Bytes = number[];
const num = (field: number, v: bigint | number): Bytes => [...varint(field * 8), ...varint(v)];
const ld = (field: number, ...parts: (Bytes | string | Uint8Array)[]): Bytes => {
  const body: number[] = [];
  for (const p of parts) body.push(...(typeof p === 'string' ? Buffer.from(p) : p));
  return [...varint(field * 8 + 2), ...varint(body.length), ...body];
};
const entry = (field: number, key: string, value: Bytes | string) => ld(field, ld(1, key), typeof value === 'string' ? ld(2, value) : ld(2, value));
function envelope(apiVersion: string, kind: string, ...raw: Bytes[]): Buffer {
  return Buffer.from([0x6b, 0x38, 0x73, 0x00, ...ld(1, ld(1, apiVersion), ld(2, kind)), ...ld(2, ...raw), ...ld(3, ''), ...ld(4, '')]);
}
const objectMeta = (name: string, ...more: Bytes[]) => ld(1, ld(1, name), ld(2, ''), ...more);

test('ConfigMap: data and binaryData maps, empty strings dropped, empty map values kept', () => {
  const body = envelope('v1', 'ConfigMap',
    objectMeta('cm', ld(3, 'ns'), entry(11, 'empty', ''), entry(11, '__proto__', 'x')),
    entry(2, 'a', 'b'), entry(2, 'novalue', []),
    entry(3, 'bin', [0, 1, 2, 255]),
    num(4, 1));
  const obj = decodeK8sProtobuf(body);
  assert.deepEqual(obj, {
    apiVersion: 'v1', kind: 'ConfigMap',
    metadata: { name: 'cm', namespace: 'ns', labels: JSON.parse('{"empty":"","__proto__":"x"}') },
    data: { a: 'b', novalue: '' },
    binaryData: { bin: 'AAEC/w==' },
    immutable: true,
  });
  assert.equal(Object.getPrototypeOf((obj.metadata as any).labels), Object.prototype);
});

test('numbers: negative int32/int64 (10-byte varints), large int64, booleans false and zero kept', () => {
  const body = envelope('scheduling.k8s.io/v1', 'PriorityClass', objectMeta('pc', num(7, 2 ** 40), num(10, -1)), num(2, -5), num(3, 0));
  assert.deepEqual(decodeK8sProtobuf(body), {
    apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass',
    metadata: { name: 'pc', generation: 2 ** 40, deletionGracePeriodSeconds: -1 },
    value: -5, globalDefault: false,
  });
});

test('Time, MicroTime: RFC3339 seconds, 6 fractional digits, empty message is null', () => {
  const ts = Date.UTC(2024, 1, 29, 13, 4, 5) / 1000;
  const body = envelope('events.k8s.io/v1', 'Event',
    objectMeta('ev', ld(8, num(1, ts), num(2, 0))),
    ld(2, num(1, ts), num(2, 123456789)),
    ld(13, num(1, ts), num(2, 999_000_000)),
    ld(14));
  const obj = decodeK8sProtobuf(body);
  assert.deepEqual(obj.metadata, { name: 'ev', creationTimestamp: '2024-02-29T13:04:05Z' });
  assert.equal(obj.eventTime, '2024-02-29T13:04:05.123456Z');
  assert.equal(obj.deprecatedFirstTimestamp, '2024-02-29T13:04:05Z'); // Go's JSON drops the fraction
  assert.equal(obj.deprecatedLastTimestamp, null);
  const lease = decodeK8sProtobuf(envelope('coordination.k8s.io/v1', 'Lease', objectMeta('l'), ld(2, ld(1, 'me'), num(2, 15), ld(4, num(1, 0), num(2, 1000)))));
  assert.deepEqual(lease.spec, { holderIdentity: 'me', leaseDurationSeconds: 15, renewTime: '1970-01-01T00:00:00.000001Z' });
});

test('inline embedded messages, IntOrString, Quantity maps, packed and unpacked repeated ints', () => {
  const container = ld(2,
    ld(1, 'c'), ld(2, 'img'),
    ld(7, ld(1, 'A'), ld(2, 'v')),
    ld(7, ld(1, 'B'), ld(3, ld(4, ld(1, ld(1, 'sec')), ld(2, 'key'), num(3, 0)))), // secretKeyRef{LocalObjectReference{name}, key, optional}
    ld(8, entry(1, 'cpu', ld(1, '500m')), entry(2, 'memory', ld(1, '64Mi'))), // limits, requests
    ld(10, ld(1, ld(2, ld(1, '/healthz'), ld(2, num(1, 1), num(2, 0), ld(3, 'http')))), num(2, 3)), // Probe{ProbeHandler{httpGet}}
  );
  const volume = ld(1, ld(1, 'scratch'), ld(2, ld(2, ld(1, 'Memory'), ld(2, ld(1, '1Gi'))))); // Volume{name, VolumeSource{emptyDir}}
  const podSpec = ld(2, volume, container,
    ld(14, ld(4, varint(1), varint(2), varint(2 ** 33)), num(4, 7))); // supplementalGroups: packed, then one unpacked
  const strategy = ld(4, ld(1, 'RollingUpdate'), ld(2, ld(1, num(1, 0), num(2, 1), ld(3, '')), ld(2, num(1, 1), num(2, 0), ld(3, '25%'))));
  const body = envelope('apps/v1', 'Deployment', objectMeta('d'), ld(2, num(1, 2), ld(3, objectMeta('')), ld(3, podSpec), strategy));
  const spec = decodeK8sProtobuf(body).spec as any;
  assert.equal(spec.replicas, 2);
  assert.deepEqual(spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } });
  assert.deepEqual(spec.template.metadata, {}); // kept from the first occurrence of template: the second merges into it
  assert.deepEqual(spec.template.spec.volumes, [{ name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } }]);
  assert.deepEqual(spec.template.spec.securityContext, { supplementalGroups: [1, 2, 2 ** 33, 7] });
  assert.deepEqual(spec.template.spec.containers, [{
    name: 'c', image: 'img',
    env: [{ name: 'A', value: 'v' }, { name: 'B', valueFrom: { secretKeyRef: { name: 'sec', key: 'key', optional: false } } }],
    resources: { limits: { cpu: '500m' }, requests: { memory: '64Mi' } },
    livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, initialDelaySeconds: 3 },
  }]);
});

test('RawExtension and FieldsV1: embedded JSON, nested protobuf objects; Verbs as a list', () => {
  const nested = envelope('v1', 'ConfigMap', objectMeta('inner'));
  const cr = decodeK8sProtobuf(envelope('apps/v1', 'ControllerRevision',
    objectMeta('r', ld(17, ld(1, 'kubectl'), ld(2, 'Update'), ld(4, num(1, 86400)), ld(6, 'FieldsV1'), ld(7, ld(1, '{"f:data":{}}')))),
    ld(2, ld(1, '{"spec":{"x":[1,2]}}')), num(3, 4)));
  assert.deepEqual(cr.metadata, {
    name: 'r',
    managedFields: [{ manager: 'kubectl', operation: 'Update', time: '1970-01-02T00:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': {} } }],
  });
  assert.deepEqual(cr.data, { spec: { x: [1, 2] } });
  assert.equal(cr.revision, 4);
  const withNested = decodeK8sProtobuf(envelope('apps/v1', 'ControllerRevision', objectMeta('r'), ld(2, ld(1, nested))));
  assert.deepEqual(withNested.data, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'inner' } });
  const list = decodeK8sProtobuf(envelope('v1', 'APIResourceList', ld(1, 'v1'), ld(2, ld(1, 'pods'), num(2, 1), ld(3, 'Pod'), ld(4, ld(1, 'get'), ld(1, 'list')))));
  assert.deepEqual(list.resources, [{ name: 'pods', namespaced: true, kind: 'Pod', verbs: ['get', 'list'] }]);
});

test('unknown field numbers are skipped; a repeated message field merges into one object', () => {
  const body = envelope('v1', 'Secret',
    num(99, 5), ld(98, 'future'), [...varint(97 * 8 + 1), 1, 2, 3, 4, 5, 6, 7, 8], [...varint(96 * 8 + 5), 1, 2, 3, 4],
    objectMeta('s'), ld(1, ld(3, 'ns')), ld(3, 'Opaque'));
  assert.deepEqual(decodeK8sProtobuf(body), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'ns' }, type: 'Opaque' });
});

test('kinds: core and named groups, meta kinds in any group version, TokenRequest', () => {
  const del = decodeK8sProtobuf(envelope('apps/v1', 'DeleteOptions', num(1, 0), ld(4, 'Foreground'), ld(5, 'All')));
  assert.deepEqual(del, { apiVersion: 'apps/v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, propagationPolicy: 'Foreground', dryRun: ['All'] });
  const ev = decodeK8sProtobuf(envelope('policy/v1', 'Eviction', objectMeta('p', ld(3, 'ns'))));
  assert.deepEqual(ev, { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'p', namespace: 'ns' } });
  const scale = decodeK8sProtobuf(envelope('autoscaling/v1', 'Scale', objectMeta('d'), ld(2, num(1, 0))));
  assert.deepEqual(scale.spec, { replicas: 0 });
  const bound = decodeK8sProtobuf(envelope('authentication.k8s.io/v1', 'TokenRequest', ld(2, ld(3, ld(1, 'Pod'), ld(3, 'p'), ld(4, 'u-1')))));
  assert.deepEqual(bound.spec, { boundObjectRef: { kind: 'Pod', name: 'p', uid: 'u-1' } }); // proto name uID, JSON uid
});

test('malformed and unsupported bodies throw ProtobufError with a clear message', () => {
  const good = envelope('v1', 'ConfigMap', objectMeta('cm'), entry(2, 'a', 'b'));
  const fails = (body: Buffer, reason: string, re: RegExp) => assert.throws(() => decodeK8sProtobuf(body), (e: unknown) => {
    assert.ok(e instanceof ProtobufError && e instanceof Error);
    assert.equal(e.reason, reason);
    assert.match(e.message, re);
    return true;
  });
  fails(Buffer.from('{"kind":"ConfigMap"}'), 'Malformed', /does not start with the "k8s\\x00" prefix/);
  fails(good.subarray(0, good.length - 12), 'Malformed', /unexpected end of data/);
  fails(envelope('v1', 'Widget', objectMeta('w')), 'UnknownKind', /no kind "Widget" is registered for version "v1"/);
  fails(envelope('example.com/v1', 'ConfigMap'), 'UnknownKind', /no kind "ConfigMap" is registered for version "example.com\/v1"/);
  fails(envelope('v1', ''), 'Malformed', /Kind' is missing/);
  fails(Buffer.from([0x6b, 0x38, 0x73, 0x00, ...ld(1, ld(1, 'v1'), ld(2, 'ConfigMap')), ...ld(3, 'gzip')]), 'Unsupported', /content encoding "gzip"/);
  fails(envelope('v1', 'ConfigMap', num(1, 3)), 'Malformed', /ConfigMap\.metadata \(1\) has wire type 0, expected 2/);
  fails(envelope('v1', 'ConfigMap', [0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'Malformed', /varint longer than 10 bytes/);
  fails(envelope('v1', 'ConfigMap', [...varint(50 * 8 + 3)]), 'Malformed', /unsupported wire type 3/);
  fails(envelope('apps/v1', 'ControllerRevision', ld(2, ld(1, '{nope'))), 'Malformed', /RawExtension are not JSON/);
});

test('round trip: JSON -> encodeK8sProtobuf -> decodeK8sProtobuf', () => {
  const pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name: 'web-0', namespace: 'prod', uid: '5d9c', resourceVersion: '42', generation: 3,
      creationTimestamp: '2025-01-02T03:04:05Z', labels: { app: 'web' }, annotations: { note: 'ünïcode ✓' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'abc', controller: true, blockOwnerDeletion: true }],
      finalizers: ['x/y'],
    },
    spec: {
      volumes: [{ name: 'cfg', configMap: { name: 'cm', items: [{ key: 'k', path: 'p', mode: 0o644 }], defaultMode: 420 } },
        { name: 'tok', projected: { sources: [{ serviceAccountToken: { audience: 'api', expirationSeconds: 3600, path: 'token' } }] } }],
      initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }],
      containers: [{
        name: 'app', image: 'nginx:1.27', args: ['--port', '8080'],
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
        env: [{ name: 'POD', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
          { name: 'CFG', valueFrom: { configMapKeyRef: { name: 'cm', key: 'k', optional: true } } }],
        envFrom: [{ prefix: 'S_', secretRef: { name: 'sec' } }],
        resources: { limits: { cpu: '1', memory: '128Mi' }, requests: { cpu: '250m' } },
        readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 5 },
        lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } },
        securityContext: { runAsUser: 0, runAsNonRoot: false, capabilities: { drop: ['ALL'] } },
      }],
      terminationGracePeriodSeconds: 0,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] } } }] } },
      tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 30 }],
      automountServiceAccountToken: false,
      overhead: { cpu: '10m' },
    },
    status: {
      phase: 'Running', podIP: '10.0.0.5', podIPs: [{ ip: '10.0.0.5' }],
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-02T03:04:06Z' }],
      containerStatuses: [{ name: 'app', ready: true, restartCount: 0, image: 'nginx:1.27', imageID: 'sha', started: true, state: { running: { startedAt: '2025-01-02T03:04:06Z' } } }],
    },
  };
  assert.deepEqual(decodeK8sProtobuf(encodeK8sProtobuf(pod)), pod);
  const lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'l' }, spec: { holderIdentity: 'a', renewTime: '2025-01-02T03:04:05.123456Z', leaseTransitions: 0 } };
  assert.deepEqual(decodeK8sProtobuf(encodeK8sProtobuf(lease)), lease);
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80, targetPort: 'http' }, { port: 81, targetPort: 8081 }], clusterIPs: ['10.96.0.10'] } };
  assert.deepEqual(decodeK8sProtobuf(encodeK8sProtobuf(svc)), svc);
  assert.throws(() => encodeK8sProtobuf({ apiVersion: 'v1', kind: 'Nope' }), /no kind "Nope"/);
});

test('Go duration strings', () => {
  const cases: [number, string][] = [[0, '0s'], [1, '1ns'], [1500, '1.5µs'], [2_000_000, '2ms'], [1_500_000_000, '1.5s'],
    [90e9, '1m30s'], [3600e9, '1h0m0s'], [3723e9 + 5e8, '1h2m3.5s'], [-5e9, '-5s']];
  for (const [ns, s] of cases) {
    assert.equal(formatDuration(ns), s);
    assert.equal(parseDuration(s), ns);
  }
  assert.equal(parseDuration('1h30m'), 5400e9);
});
