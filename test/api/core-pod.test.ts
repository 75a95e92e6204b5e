import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pods, computeQOSClass, podSummary, validatePodUpdate } from '../../src/api/core/pod.js';
import { parseQuantity } from '../../src/api/validation.js';
import type { KObject } from '../../src/api/types.js';

function pod(spec: any, extra: Partial<KObject> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec, ...extra };
}

function created(spec: any): KObject {
  const p = pod(spec);
  pods.defaults!(p);
  pods.prepareForCreate!(p);
  return p;
}

const fields = (errs: { type: string; field: string }[]) => errs.map((e) => `${e.field}:${e.type}`);

test('parseQuantity understands suffixes and exponents', () => {
  assert.equal(parseQuantity('100m'), 0.1);
  assert.equal(parseQuantity('1Ki'), 1024);
  assert.equal(parseQuantity('2Gi'), 2 * 2 ** 30);
  assert.equal(parseQuantity('1.5'), 1.5);
  assert.equal(parseQuantity('1e3'), 1000);
  assert.equal(parseQuantity('5M'), 5e6);
  assert.equal(parseQuantity(2), 2);
  assert.ok(Number.isNaN(parseQuantity('abc')));
  assert.ok(Number.isNaN(parseQuantity('1Kb')));
});

test('pod defaults follow upstream', () => {
  const p = created({
    containers: [
      { name: 'a', image: 'nginx', ports: [{ containerPort: 80 }], livenessProbe: { httpGet: { port: 80 } } },
      { name: 'b', image: 'busybox:1.36', resources: { limits: { cpu: '1' } } },
    ],
    volumes: [{ name: 'v' }, { name: 'c', configMap: { name: 'x' } }, { name: 's', secret: { secretName: 'y' } }],
  });
  const s = p.spec;
  assert.equal(s.restartPolicy, 'Always');
  assert.equal(s.dnsPolicy, 'ClusterFirst');
  assert.equal(s.schedulerName, 'default-scheduler');
  assert.equal(s.terminationGracePeriodSeconds, 30);
  assert.deepEqual(s.securityContext, {});
  assert.equal(s.enableServiceLinks, true);
  assert.equal(s.serviceAccountName, 'default');
  assert.equal(s.serviceAccount, 'default');
  assert.equal(s.priority, 0);
  assert.equal(s.preemptionPolicy, 'PreemptLowerPriority');
  assert.equal(s.tolerations.length, 2);
  assert.deepEqual(s.tolerations[0], { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 });
  const [a, b] = s.containers;
  assert.equal(a.imagePullPolicy, 'Always');
  assert.equal(b.imagePullPolicy, 'IfNotPresent');
  assert.equal(a.terminationMessagePath, '/dev/termination-log');
  assert.equal(a.terminationMessagePolicy, 'File');
  assert.deepEqual(a.resources, {});
  assert.equal(a.ports[0].protocol, 'TCP');
  assert.deepEqual(a.livenessProbe, {
    httpGet: { port: 80, path: '/', scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3,
  });
  assert.deepEqual(b.resources, { limits: { cpu: '1' }, requests: { cpu: '1' } });
  assert.deepEqual(s.volumes[0], { name: 'v', emptyDir: {} });
  assert.equal(s.volumes[1].configMap.defaultMode, 420);
  assert.equal(s.volumes[2].secret.defaultMode, 420);
  assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'Burstable' });
  assert.deepEqual(pods.validate!(p), []);
});

test('qosClass is computed as upstream', () => {
  assert.equal(computeQOSClass(pod({ containers: [{ name: 'a', image: 'x' }] })), 'BestEffort');
  assert.equal(
    computeQOSClass(pod({ containers: [{ name: 'a', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } }] })),
    'Guaranteed',
  );
  assert.equal(
    computeQOSClass(pod({ containers: [{ name: 'a', image: 'x', resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }] })),
    'Burstable',
  );
  assert.equal(
    computeQOSClass(pod({ containers: [
      { name: 'a', image: 'x', resources: { limits: { cpu: '1', memory: '1Gi' } } },
      { name: 'b', image: 'x' },
    ] })),
    'Burstable',
  );
});

test('pod validation reports upstream field paths', () => {
  const p = pod({
    containers: [
      { name: 'x', image: 'nginx', ports: [{ containerPort: 70000 }], volumeMounts: [{ name: 'missing', mountPath: '/m' }] },
      { name: 'x', image: '' },
      { name: 'Bad_Name', image: 'a', resources: { requests: { cpu: '2' }, limits: { cpu: '1', memory: 'lots' } } },
    ],
    restartPolicy: 'Sometimes',
    volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }],
  });
  pods.defaults!(p);
  const errs = pods.validate!(p);
  const f = fields(errs);
  assert.ok(f.includes('spec.containers[1].name:FieldValueDuplicate'), f.join('\n'));
  assert.ok(f.includes('spec.containers[1].image:FieldValueRequired'));
  assert.ok(f.includes('spec.containers[0].ports[0].containerPort:FieldValueInvalid'));
  assert.ok(f.includes('spec.containers[0].volumeMounts[0].name:FieldValueNotFound'));
  assert.ok(f.includes('spec.containers[2].name:FieldValueInvalid'));
  assert.ok(f.includes('spec.containers[2].resources.limits[memory]:FieldValueInvalid'));
  assert.ok(f.includes('spec.containers[2].resources.requests[cpu]:FieldValueInvalid'));
  assert.ok(f.includes('spec.restartPolicy:FieldValueNotSupported'));
  assert.ok(f.includes('spec.volumes[1].name:FieldValueDuplicate'));
  const dup = errs.find((e) => e.field === 'spec.containers[1].name')!;
  assert.equal(dup.badValue, 'x');
  const req = errs.find((e) => e.field === 'spec.containers[2].resources.requests[cpu]')!;
  assert.equal(req.detail, 'must be less than or equal to cpu limit of 1');
  assert.deepEqual(fields(pods.validate!(pod({ containers: [] }))).slice(0, 1), ['spec.containers:FieldValueRequired']);
});

test('pod updates may change only images, deadlines and added tolerations', () => {
  const old = created({ containers: [{ name: 'a', image: 'nginx:1', ports: [{ containerPort: 80 }] }] });
  const img = structuredClone(old);
  img.spec.containers[0].image = 'nginx:2';
  img.spec.activeDeadlineSeconds = 30;
  img.spec.tolerations.push({ key: 'k', operator: 'Exists' });
  pods.prepareForUpdate!(img, old);
  assert.deepEqual(pods.validate!(img, old), []);

  const port = structuredClone(old);
  port.spec.containers[0].ports[0].containerPort = 8080;
  const errs = pods.validate!(port, old);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].field, 'spec');
  assert.equal(errs[0].type, 'FieldValueForbidden');
  assert.match(errs[0].detail, /^pod updates may not change fields other than `spec.containers\[\*\].image`/);
  assert.match(errs[0].detail, /containerPort/);

  const removed = structuredClone(old);
  removed.spec.tolerations = [];
  assert.deepEqual(fields(validatePodUpdate(removed, old)), ['spec.tolerations:FieldValueForbidden']);

  const st = structuredClone(old);
  st.status = { phase: 'Running' };
  pods.prepareForUpdate!(st, old);
  assert.equal(st.status.phase, 'Pending');
});

function withStatus(status: any, spec: any = { containers: [{ name: 'a', image: 'x' }] }, meta: any = {}): KObject {
  return { metadata: { name: 'p', creationTimestamp: new Date().toISOString(), ...meta }, spec, status };
}

test('pod STATUS column follows printPod', () => {
  assert.equal(podSummary(withStatus({ phase: 'Pending' })).status, 'Pending');
  const running = withStatus({
    phase: 'Running',
    conditions: [{ type: 'Ready', status: 'True' }],
    containerStatuses: [{ name: 'a', ready: true, restartCount: 0, state: { running: {} } }],
  });
  assert.deepEqual(podSummary(running), { ready: '1/1', status: 'Running', restarts: '0' });

  const crash = withStatus({
    phase: 'Running',
    containerStatuses: [{
      name: 'a', ready: false, restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff' } },
      lastState: { terminated: { exitCode: 1, finishedAt: new Date(Date.now() - 5 * 60_000).toISOString() } },
    }],
  });
  assert.deepEqual(podSummary(crash), { ready: '0/1', status: 'CrashLoopBackOff', restarts: '3 (5m ago)' });

  const init = withStatus(
    { phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { running: {} }, restartCount: 0 }] },
    { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'a', image: 'x' }] },
  );
  assert.equal(podSummary(init).status, 'Init:0/1');
  const initWait = withStatus(
    { phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { waiting: { reason: 'ImagePullBackOff' } } }] },
    { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'a', image: 'x' }] },
  );
  assert.equal(podSummary(initWait).status, 'Init:ImagePullBackOff');
  const initFail = withStatus(
    { phase: 'Pending', initContainerStatuses: [{ name: 'i', state: { terminated: { exitCode: 2 } } }] },
    { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'a', image: 'x' }] },
  );
  assert.equal(podSummary(initFail).status, 'Init:ExitCode:2');

  const done = withStatus({
    phase: 'Succeeded',
    containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
  });
  assert.equal(podSummary(done).status, 'Completed');
  const term = withStatus({ phase: 'Running' }, undefined, { deletionTimestamp: new Date().toISOString() });
  assert.equal(podSummary(term).status, 'Terminating');
  const gated = withStatus({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] });
  assert.equal(podSummary(gated).status, 'SchedulingGated');

  const row = pods.row(withStatus({ phase: 'Running', podIPs: [{ ip: '10.0.0.5' }] }, { nodeName: 'n1', containers: [] }));
  assert.equal(row.length, pods.columns.length);
  assert.deepEqual(row.slice(4), ['10.0.0.5', 'n1', '<none>', '<none>']);
});

test('pod field selectors', () => {
  const p = created({ containers: [{ name: 'a', image: 'x' }], nodeName: 'n1' });
  assert.equal(pods.fieldSelectors!['spec.nodeName'](p), 'n1');
  assert.equal(pods.fieldSelectors!['status.phase'](p), 'Pending');
  assert.equal(pods.fieldSelectors!['spec.hostNetwork'](p), 'false');
});
