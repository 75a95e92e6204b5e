// trackUpdate: managedFields for create/update/non-apply patch, as upstream's fieldmanager records them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { managerFromUserAgent, trackUpdate, validateManagedFields } from '../../src/apiserver/patch/managed-fields.js';

const T0 = '2024-05-01T10:00:00Z';
const T1 = '2024-05-01T10:05:00Z';

/** A Deployment as `kubectl create deployment nginx --image=nginx` leaves it after defaulting. */
function createdDeployment(): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'nginx', namespace: 'default', uid: 'u1', resourceVersion: '1', generation: 1, creationTimestamp: T0, labels: { app: 'nginx' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'nginx' } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: 'nginx' } },
        spec: {
          containers: [
            {
              name: 'nginx',
              image: 'nginx',
              resources: {},
              terminationMessagePath: '/dev/termination-log',
              terminationMessagePolicy: 'File',
              imagePullPolicy: 'Always',
            },
          ],
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 30,
          dnsPolicy: 'ClusterFirst',
          securityContext: {},
          schedulerName: 'default-scheduler',
        },
      },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {},
  };
}

const opts = (manager: string, now: string, extra: object = {}) => ({
  manager,
  operation: 'Update' as const,
  apiVersion: 'apps/v1',
  now,
  statusSubresource: true,
  ...extra,
});

test('create: the creator owns every field set, in upstream FieldsV1 shape', () => {
  const d = createdDeployment();
  trackUpdate(undefined, d, opts('kubectl-create', T0));
  assert.deepEqual(d.metadata.managedFields, [
    {
      manager: 'kubectl-create',
      operation: 'Update',
      apiVersion: 'apps/v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
        'f:spec': {
          'f:progressDeadlineSeconds': {},
          'f:replicas': {},
          'f:revisionHistoryLimit': {},
          'f:selector': {},
          'f:strategy': { 'f:rollingUpdate': { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} }, 'f:type': {} },
          'f:template': {
            'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"nginx"}': {
                  '.': {},
                  'f:image': {},
                  'f:imagePullPolicy': {},
                  'f:name': {},
                  'f:resources': {},
                  'f:terminationMessagePath': {},
                  'f:terminationMessagePolicy': {},
                },
              },
              'f:dnsPolicy': {},
              'f:restartPolicy': {},
              'f:schedulerName': {},
              'f:securityContext': {},
              'f:terminationGracePeriodSeconds': {},
            },
          },
        },
      },
    },
  ]);
  // Serialized key order matches upstream's JSON too.
  assert.ok(JSON.stringify(d.metadata.managedFields[0]).startsWith('{"manager":"kubectl-create","operation":"Update","apiVersion":"apps/v1","time"'));
});

test('update: changed fields move to the writer; removed fields leave every entry', () => {
  const old = createdDeployment();
  trackUpdate(undefined, old, opts('kubectl-create', T0));
  const upd = structuredClone(old);
  upd.spec.template.spec.containers[0].image = 'nginx:1.27';
  delete upd.spec.progressDeadlineSeconds;
  trackUpdate(old, upd, opts('kubectl-edit', T1));
  const [create, edit] = upd.metadata.managedFields;
  assert.equal(create.manager, 'kubectl-create');
  assert.equal(edit.manager, 'kubectl-edit');
  assert.equal(edit.time, T1);
  assert.deepEqual(edit.fieldsV1, { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:image': {} } } } } } });
  const c = create.fieldsV1['f:spec'];
  assert.equal(c['f:progressDeadlineSeconds'], undefined);
  assert.equal(c['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['f:image'], undefined);
  assert.deepEqual(c['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}']['f:name'], {});
  // old is untouched
  assert.equal(old.metadata.managedFields.length, 1);
  assert.ok(old.metadata.managedFields[0].fieldsV1['f:spec']['f:progressDeadlineSeconds']);
});

test('update: a second change by the same manager merges into its entry; no-op keeps entries and times', () => {
  const old = createdDeployment();
  trackUpdate(undefined, old, opts('kubectl-create', T0));
  const a = structuredClone(old);
  a.spec.replicas = 3;
  trackUpdate(old, a, opts('kubectl-scale', T1));
  const b = structuredClone(a);
  b.metadata.labels.tier = 'web';
  trackUpdate(a, b, opts('kubectl-scale', '2024-05-01T11:00:00Z'));
  const scale = b.metadata.managedFields.find((e: any) => e.manager === 'kubectl-scale');
  assert.deepEqual(scale.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:tier': {} } }, 'f:spec': { 'f:replicas': {} } });
  assert.equal(scale.time, '2024-05-01T11:00:00Z');
  const c = structuredClone(b);
  delete c.metadata.managedFields; // a PUT without managedFields keeps the live ones
  trackUpdate(b, c, opts('kubectl-replace', '2024-05-01T12:00:00Z'));
  assert.deepEqual(c.metadata.managedFields, b.metadata.managedFields);
});

test('update: Update entries are sorted by time after Apply entries', () => {
  const old = createdDeployment();
  trackUpdate(undefined, old, opts('zz-create', T0));
  const a = structuredClone(old);
  a.spec.replicas = 2;
  trackUpdate(old, a, opts('aa-scale', T1));
  assert.deepEqual(a.metadata.managedFields.map((e: any) => e.manager), ['zz-create', 'aa-scale']);
});

test('status subresource: its own entry, only status fields; main resource never owns status', () => {
  const old = createdDeployment();
  trackUpdate(undefined, old, opts('kubectl-create', T0));
  const s = structuredClone(old);
  s.status = { replicas: 1, observedGeneration: 1 };
  s.spec.replicas = 5; // the status strategy would reset this; ignored here too
  trackUpdate(old, s, opts('kube-controller-manager', T1, { subresource: 'status' }));
  const e = s.metadata.managedFields.find((x: any) => x.manager === 'kube-controller-manager');
  assert.equal(e.subresource, 'status');
  assert.deepEqual(e.fieldsV1, { 'f:status': { 'f:observedGeneration': {}, 'f:replicas': {} } });
  const keys = Object.keys(e);
  assert.deepEqual(keys, ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1', 'subresource']);
});

test('corrupt managedFields are reset; [] clears them; untracked objects stay untracked', () => {
  const old = createdDeployment();
  old.metadata.managedFields = [{ manager: 'x', operation: 'Bogus', fieldsType: 'FieldsV1', fieldsV1: {} }];
  const upd = structuredClone(old);
  upd.spec.replicas = 4;
  trackUpdate(old, upd, opts('kubectl-edit', T1));
  assert.equal(upd.metadata.managedFields, undefined);

  const tracked = createdDeployment();
  trackUpdate(undefined, tracked, opts('kubectl-create', T0));
  const reset = structuredClone(tracked);
  reset.metadata.managedFields = [];
  reset.spec.replicas = 7;
  trackUpdate(tracked, reset, opts('kubectl-edit', T1));
  assert.equal(reset.metadata.managedFields, undefined);
});

test('request managedFields replace live ones when valid (main resource only)', () => {
  const old = createdDeployment();
  trackUpdate(undefined, old, opts('kubectl-create', T0));
  const upd = structuredClone(old);
  upd.metadata.managedFields = [
    { manager: 'someone', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
  ];
  upd.spec.replicas = 2;
  trackUpdate(old, upd, opts('kubectl-edit', T1));
  assert.deepEqual(upd.metadata.managedFields.map((e: any) => e.manager), ['kubectl-edit']);
});

test('more than 10 Update managers: the oldest merge into ancient-changes', () => {
  let cur = createdDeployment();
  trackUpdate(undefined, cur, opts('m0', '2024-05-01T10:00:00Z'));
  for (let i = 1; i <= 11; i++) {
    const next = structuredClone(cur);
    next.metadata.labels['l' + i] = 'x';
    trackUpdate(cur, next, opts('m' + i, `2024-05-01T10:${String(i).padStart(2, '0')}:00Z`));
    cur = next;
  }
  const names = cur.metadata.managedFields.map((e: any) => e.manager);
  assert.equal(names.length, 10);
  assert.ok(names.includes('ancient-changes'));
  assert.ok(!names.includes('m0') && !names.includes('m1'));
});

test('managerFromUserAgent takes the prefix before the first slash', () => {
  assert.equal(managerFromUserAgent('kubectl/v1.32.0 (linux/amd64) kubernetes/abc'), 'kubectl');
  assert.equal(managerFromUserAgent('kube-controller-manager/v1.32.0 (linux/amd64) kubernetes/abc/system:serviceaccount:kube-system:deployment-controller'), 'kube-controller-manager');
  assert.equal(managerFromUserAgent('curl'), 'curl');
  assert.equal(managerFromUserAgent(undefined), '');
});

test('validateManagedFields reports bad operation and fieldsType; [{}] is allowed', () => {
  assert.deepEqual(validateManagedFields([{}]), []);
  const errs = validateManagedFields([{ manager: 'a', operation: 'Patch', fieldsType: 'FieldsV2', fieldsV1: {} }]);
  assert.deepEqual(errs.map((e) => e.field), ['metadata.managedFields[0].operation', 'metadata.managedFields[0].fieldsType']);
});

test('performance: pod-sized trackUpdate', () => {
  const pod: any = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'web-7d4b9c8f5-abcde',
      namespace: 'default',
      uid: 'u',
      resourceVersion: '10',
      creationTimestamp: T0,
      labels: { app: 'web', 'pod-template-hash': '7d4b9c8f5' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': T0 },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c8f5', uid: 'rs', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      containers: [0, 1].map((i) => ({
        name: 'c' + i,
        image: 'nginx:1.27',
        ports: [{ containerPort: 80 + i, protocol: 'TCP', name: 'http' + i }],
        env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } }],
        resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '64Mi' } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }, { name: 'kube-api-access', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true }],
        livenessProbe: { httpGet: { path: '/', port: 80, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
        terminationMessagePath: '/dev/termination-log',
        terminationMessagePolicy: 'File',
        imagePullPolicy: 'IfNotPresent',
      })),
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'kube-api-access', projected: { defaultMode: 420, sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] } },
      ],
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default',
      serviceAccount: 'default',
      nodeName: 'node-1',
      securityContext: {},
      schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: 'PreemptLowerPriority',
    },
    status: { phase: 'Pending', qosClass: 'Burstable' },
  };
  trackUpdate(undefined, pod, { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', now: T0, statusSubresource: true });
  const run = (n: number, mutate: (p: any, i: number) => void) => {
    let cur = pod;
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const next = { ...cur, metadata: { ...cur.metadata, labels: { ...cur.metadata.labels } }, spec: { ...cur.spec } };
      mutate(next, i);
      trackUpdate(cur, next, { manager: 'm' + (i % 3), operation: 'Update', apiVersion: 'v1', now: T1, statusSubresource: true });
      cur = next;
    }
    return Number(process.hrtime.bigint() - t) / 1e6 / n;
  };
  run(2000, (p, i) => (p.metadata.labels.x = String(i))); // warm-up
  const changing = run(5000, (p, i) => (p.metadata.labels.x = String(i)));
  const noop = run(5000, () => {});
  const create = (() => {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) {
      const p = { ...pod, metadata: { ...pod.metadata } };
      delete p.metadata.managedFields;
      trackUpdate(undefined, p, { manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', now: T0, statusSubresource: true });
    }
    return Number(process.hrtime.bigint() - t) / 1e6 / 2000;
  })();
  // Requests decode into fresh objects: nothing shared with the stored one.
  const fresh = (() => {
    const n = 2000;
    const olds: any[] = [];
    const news: any[] = [];
    for (let i = 0; i < n; i++) {
      olds.push(JSON.parse(JSON.stringify(pod)));
      const next = JSON.parse(JSON.stringify(pod));
      next.metadata.labels.x = String(i);
      news.push(next);
    }
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) trackUpdate(olds[i], news[i], { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1', now: T1, statusSubresource: true });
    return Number(process.hrtime.bigint() - t) / 1e6 / n;
  })();
  console.log(
    `# trackUpdate on a pod: update ${changing.toFixed(4)} ms, update of fresh copies ${fresh.toFixed(4)} ms, no-op ${noop.toFixed(4)} ms, create ${create.toFixed(4)} ms`,
  );
  // An order-of-magnitude guard (about 0.06 ms on a quiet machine); the figure itself is printed above.
  assert.ok(fresh < 1, `update took ${fresh} ms`);
});
