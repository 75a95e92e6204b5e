// Request bodies captured from real kubectl 1.32 typed commands (`kubectl create ...`, protobuf content
// type), decoded and compared with the JSON objects a JSON client would send. Go's marshaler writes
// non-pointer scalars even when zero, so those appear as 0/false here (and in upstream's decoded objects).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeK8sProtobuf } from '../../src/apiserver/protobuf/index.js';

const b64 = (s: string) => Buffer.from(s, 'base64');
const meta = (extra: Record<string, unknown> = {}) => ({ ...extra, generation: 0, creationTimestamp: null });
const containerZeros = { resources: {}, stdin: false, stdinOnce: false, tty: false };
const podSpecZeros = { hostNetwork: false, hostPID: false, hostIPC: false };

const CASES: { cmd: string; body: string; want: Record<string, unknown> }[] = [
  {
    cmd: 'create configmap cm1 --from-literal=a=b --from-file=bin=<bytes 00 01 02 ff>',
    body: 'azhzAAoPCgJ2MRIJQ29uZmlnTWFwEioKEwoDY20xEgAaACIAKgAyADgAQgASBgoBYRIBYhoLCgNiaW4SBAABAv8aACIA',
    want: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', ...meta() }, data: { a: 'b' }, binaryData: { bin: 'AAEC/w==' } },
  },
  {
    cmd: 'create secret generic s1 --from-literal=password=hunter2',
    body: 'azhzAAoMCgJ2MRIGU2VjcmV0EisKEgoCczESABoAIgAqADIAOABCABITCghwYXNzd29yZBIHaHVudGVyMhoAGgAiAA==',
    want: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', ...meta() }, data: { password: 'aHVudGVyMg==' } },
  },
  {
    cmd: 'create namespace ns1',
    body: 'azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhsKEwoDbnMxEgAaACIAKgAyADgAQgASABoCCgAaACIA',
    want: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ns1', ...meta() }, spec: {}, status: {} },
  },
  {
    cmd: 'create serviceaccount sa1',
    body: 'azhzAAoUCgJ2MRIOU2VydmljZUFjY291bnQSFQoTCgNzYTESABoAIgAqADIAOABCABoAIgA=',
    want: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'sa1', ...meta() } },
  },
  {
    cmd: 'create deployment d1 --image=nginx:1 --replicas=0 --port=80',
    body: 'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50ErYBCh0KAmQxEgAaACIAKgAyADgAQgBaCQoDYXBwEgJkMRKGAQgAEgsKCQoDYXBwEgJkMRptChsKABIAGgAiACoAMgA4AEIAWgkKA2FwcBICZDESThIwCgVuZ2lueBIHbmdpbng6MSoAMgoKABAAGFAiACoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA',
    want: {
      apiVersion: 'apps/v1', kind: 'Deployment',
      metadata: { name: 'd1', ...meta(), labels: { app: 'd1' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'd1' } },
        template: {
          metadata: { ...meta(), labels: { app: 'd1' } },
          spec: { containers: [{ name: 'nginx', image: 'nginx:1', ports: [{ hostPort: 0, containerPort: 80 }], ...containerZeros }], ...podSpecZeros },
        },
        strategy: {},
        minReadySeconds: 0,
        paused: false,
      },
      status: { observedGeneration: 0, replicas: 0, updatedReplicas: 0, availableReplicas: 0, unavailableReplicas: 0, readyReplicas: 0 },
    },
  },
  {
    cmd: "create job j1 --image=busybox -- sh -c 'echo hi'",
    body: 'azhzAAoPCghiYXRjaC92MRIDSm9iEosBChIKAmoxEgAaACIAKgAyADgAQgASazJpChAKABIAGgAiACoAMgA4AEIAElUSMgoCajESB2J1c3lib3gaAnNoGgItYxoHZWNobyBoaSoAQgBqAHIAgAEAiAEAkAEAogEAGgVOZXZlcjIAQgBKAFIAWABgAGgAggEAigEAmgEAwgEAGgggACgAMAA6ABoAIgA=',
    want: {
      apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j1', ...meta() },
      spec: { template: { metadata: meta(), spec: { containers: [{ name: 'j1', image: 'busybox', command: ['sh', '-c', 'echo hi'], ...containerZeros }], restartPolicy: 'Never', ...podSpecZeros } } },
      status: { active: 0, succeeded: 0, failed: 0 },
    },
  },
  {
    cmd: "create cronjob cj1 --image=busybox --schedule='*/5 * * * *'",
    body: 'azhzAAoTCghiYXRjaC92MRIHQ3JvbkpvYhKhAQoTCgNjajESABoAIgAqADIAOABCABKHAQoLKi81ICogKiAqICoaACp2ChMKA2NqMRIAGgAiACoAMgA4AEIAEl8yXQoQCgASABoAIgAqADIAOABCABJJEiIKA2NqMRIHYnVzeWJveCoAQgBqAHIAgAEAiAEAkAEAogEAGglPbkZhaWx1cmUyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBABoAGgAiAA==',
    want: {
      apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'cj1', ...meta() },
      spec: {
        schedule: '*/5 * * * *',
        jobTemplate: {
          metadata: { name: 'cj1', ...meta() },
          spec: { template: { metadata: meta(), spec: { containers: [{ name: 'cj1', image: 'busybox', ...containerZeros }], restartPolicy: 'OnFailure', ...podSpecZeros } } },
        },
      },
      status: {},
    },
  },
  {
    cmd: 'create service clusterip svc1 --tcp=80:8080 --tcp=443:https',
    body: 'azhzAAoNCgJ2MRIHU2VydmljZRKQAQohCgRzdmMxEgAaACIAKgAyADgAQgBaCwoDYXBwEgRzdmMxEmcKGwoHODAtODA4MBIDVENQGFAiBwgAEJA/GgAoAAoiCgk0NDMtaHR0cHMSA1RDUBi7AyILCAEQABoFaHR0cHMoABILCgNhcHASBHN2YzEaACIJQ2x1c3RlcklQOgBCAFIAWgBgAGgAGgIKABoAIgA=',
    want: {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc1', ...meta(), labels: { app: 'svc1' } },
      spec: {
        ports: [
          { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 0 },
          { name: '443-https', protocol: 'TCP', port: 443, targetPort: 'https', nodePort: 0 },
        ],
        selector: { app: 'svc1' }, type: 'ClusterIP', healthCheckNodePort: 0, publishNotReadyAddresses: false,
      },
      status: { loadBalancer: {} },
    },
  },
  {
    cmd: 'create token default --duration=1h --audience=api',
    body: 'azhzAAooChhhdXRoZW50aWNhdGlvbi5rOHMuaW8vdjESDFRva2VuUmVxdWVzdBIiChAKABIAGgAiACoAMgA4AEIAEggKA2FwaSCQHBoECgASABoAIgA=',
    want: {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', metadata: meta(),
      spec: { audiences: ['api'], expirationSeconds: 3600 }, status: { expirationTimestamp: null },
    },
  },
  {
    cmd: 'create role r1 --verb=get,list --resource=pods',
    body: 'azhzAAokChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgRSb2xlEikKEgoCcjESABoAIgAqADIAOABCABITCgNnZXQKBGxpc3QSABoEcG9kcxoAIgA=',
    want: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r1', ...meta() },
      rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] }], // '' list items are kept
    },
  },
  {
    cmd: 'create rolebinding rb1 --role=r1 --user=alice --serviceaccount=default:default',
    body: 'azhzAAorChxyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvL3YxEgtSb2xlQmluZGluZxKOAQoTCgNyYjESABoAIgAqADIAOABCABIqCgRVc2VyEhlyYmFjLmF1dGhvcml6YXRpb24uazhzLmlvGgVhbGljZSIAEiQKDlNlcnZpY2VBY2NvdW50EgAaB2RlZmF1bHQiB2RlZmF1bHQaJQoZcmJhYy5hdXRob3JpemF0aW9uLms4cy5pbxIEUm9sZRoCcjEaACIA',
    want: {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'rb1', ...meta() },
      subjects: [
        { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
        { kind: 'ServiceAccount', name: 'default', namespace: 'default' },
      ],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r1' },
    },
  },
  {
    cmd: 'create pdb pdb1 --selector=app=x --min-available=50%',
    body: 'azhzAAogCglwb2xpY3kvdjESE1BvZERpc3J1cHRpb25CdWRnZXQSOwoUCgRwZGIxEgAaACIAKgAyADgAQgASFwoJCAEQABoDNTAlEgoKCAoDYXBwEgF4GgoIABgAIAAoADAAGgAiAA==',
    want: {
      apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'pdb1', ...meta() },
      spec: { minAvailable: '50%', selector: { matchLabels: { app: 'x' } } },
      status: { observedGeneration: 0, disruptionsAllowed: 0, currentHealthy: 0, desiredHealthy: 0, expectedPods: 0 },
    },
  },
  {
    cmd: 'create priorityclass pc1 --value=1000 --description=high',
    body: 'azhzAAolChRzY2hlZHVsaW5nLms4cy5pby92MRINUHJpb3JpdHlDbGFzcxI2ChMKA3BjMRIAGgAiACoAMgA4AEIAEOgHGAAiBGhpZ2gqFFByZWVtcHRMb3dlclByaW9yaXR5GgAiAA==',
    want: {
      apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: 'pc1', ...meta() },
      value: 1000, globalDefault: false, description: 'high', preemptionPolicy: 'PreemptLowerPriority',
    },
  },
  {
    cmd: 'create quota q1 --hard=cpu=1,memory=1Gi,pods=10',
    body: 'azhzAAoTCgJ2MRINUmVzb3VyY2VRdW90YRJDChIKAnExEgAaACIAKgAyADgAQgASKwoKCgNjcHUSAwoBMQoPCgZtZW1vcnkSBQoDMUdpCgwKBHBvZHMSBAoCMTAaABoAIgA=',
    want: {
      apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q1', ...meta() },
      spec: { hard: { cpu: '1', memory: '1Gi', pods: '10' } }, status: {},
    },
  },
];

for (const c of CASES) {
  test(`kubectl ${c.cmd}: protobuf body decodes to the JSON object`, () => {
    assert.deepEqual(decodeK8sProtobuf(b64(c.body)), c.want);
  });
}

test('decoding a typical Deployment body takes microseconds', (t) => {
  const body = b64(CASES.find((c) => c.want.kind === 'Deployment')!.body);
  for (let i = 0; i < 2000; i++) decodeK8sProtobuf(body); // warm up
  const n = 20000;
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) decodeK8sProtobuf(body);
  const perOp = Number(process.hrtime.bigint() - start) / n / 1000;
  t.diagnostic(`decodeK8sProtobuf(${body.length}-byte Deployment): ${perOp.toFixed(2)} µs per call`);
  assert.ok(perOp < 500, `decoding took ${perOp} µs`);
});
