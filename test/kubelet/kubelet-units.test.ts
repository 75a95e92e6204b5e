// Unit tests of the kubelet's pure parts: pod status computation, env resolution and $(VAR)
// expansion, crash-loop backoff, the atomic volume writer, the CNI conflist, static pod
// manifests, DNS and resource translation, node conditions.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '../../src/client/index.js';
import { generatePodStatus, podPhase, type PodStatusInputs } from '../../src/kubelet/pods/pod-status.js';
import { expand, resolveEnv, resourceFieldValue, ContainerConfigError } from '../../src/kubelet/pods/env.js';
import { Backoff, goDuration } from '../../src/kubelet/pods/backoff.js';
import { writeAtomic, type Payload } from '../../src/kubelet/volumes/atomic-writer.js';
import { buildConflist, cidrContains, gatewayOf, writeCniConfig } from '../../src/kubelet/network/cni-config.js';
import { staticPod } from '../../src/kubelet/config/static-pods.js';
import { linuxResources, parseResolvConf, podDNS, qosClass, containerSecurity, hostPortMappings } from '../../src/kubelet/pods/runtime-config.js';
import { pullPolicy } from '../../src/kubelet/pods/pod-sync.js';
import { nodeConditions, capacity, nodeImages } from '../../src/kubelet/node/node-status.js';
import { osImage, memTotal, primaryIPv4 } from '../../src/kubelet/node/host-info.js';
import { serviceEnv } from '../../src/kubelet/pods/service-env.js';
import { TokenManager } from '../../src/kubelet/volumes/token-manager.js';
import type { ContainerStatus } from '../../src/kubelet/runtime/types.js';

const NS = 1e6; // ns per ms

function ctr(name: string, over: Partial<ContainerStatus> & { restart?: number } = {}): ContainerStatus {
  const { restart = 0, ...rest } = over;
  return {
    id: `${name}-${restart}`,
    podSandboxId: 'sb',
    metadata: { name, attempt: restart },
    image: 'img',
    imageRef: 'sha256:abc',
    state: 'CONTAINER_RUNNING',
    createdAt: (1_700_000_000_000 + restart * 1000) * NS,
    startedAt: (1_700_000_000_000 + restart * 1000 + 10) * NS,
    finishedAt: 0,
    exitCode: 0,
    reason: '',
    message: '',
    labels: { 'io.kubernetes.container.name': name },
    annotations: { 'io.kubernetes.container.restartCount': String(restart) },
    ...rest,
  };
}

function inputs(pod: KObject, containers: ContainerStatus[], over: Partial<PodStatusInputs> = {}): PodStatusInputs {
  return {
    pod,
    sandbox: { id: 'sb', metadata: { name: 'p', uid: 'u', namespace: 'default', attempt: 0 }, state: 'SANDBOX_READY', createdAt: 0, labels: {}, annotations: {}, network: { ip: '10.1.0.5' } },
    containers: [...containers].sort((a, b) => b.createdAt - a.createdAt),
    waiting: new Map(),
    readiness: () => undefined,
    startup: () => undefined,
    hostIP: '192.0.2.2',
    now: new Date('2026-01-01T00:00:00Z'),
    ...over,
  };
}

const podOf = (spec: KObject, status: KObject = {}): KObject => ({ metadata: { name: 'p', namespace: 'default', uid: 'u' }, spec, status });

describe('pod status', () => {
  it('running pod: Running, Ready, IPs, containerID, conditions in order, qosClass kept', () => {
    const pod = podOf({ containers: [{ name: 'a', image: 'img' }] }, { qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: 't0' }] });
    const st = generatePodStatus(inputs(pod, [ctr('a')]));
    assert.equal(st.phase, 'Running');
    assert.equal(st.podIP, '10.1.0.5');
    assert.deepEqual(st.podIPs, [{ ip: '10.1.0.5' }]);
    assert.equal(st.hostIP, '192.0.2.2');
    assert.equal(st.qosClass, 'BestEffort');
    assert.deepEqual(st.conditions.map((c: KObject) => c.type), ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
    assert.ok(st.conditions.every((c: KObject) => c.status === 'True'));
    assert.equal(st.conditions.find((c: KObject) => c.type === 'PodScheduled').lastTransitionTime, 't0');
    const cs = st.containerStatuses[0];
    assert.equal(cs.containerID, 'containerd://a-0');
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.ok(cs.state.running.startedAt);
  });

  it('no container yet: Pending with ContainerCreating; init pending: PodInitializing and Initialized False', () => {
    const pod = podOf({ containers: [{ name: 'a', image: 'img' }] });
    const st = generatePodStatus(inputs(pod, []));
    assert.equal(st.phase, 'Pending');
    assert.equal(st.containerStatuses[0].state.waiting.reason, 'ContainerCreating');
    const withInit = podOf({ initContainers: [{ name: 'i', image: 'img' }], containers: [{ name: 'a', image: 'img' }] });
    const st2 = generatePodStatus(inputs(withInit, [ctr('i')]));
    assert.equal(st2.phase, 'Pending');
    assert.equal(st2.containerStatuses[0].state.waiting.reason, 'PodInitializing');
    const init = st2.conditions.find((c: KObject) => c.type === 'Initialized');
    assert.equal(init.status, 'False');
    assert.equal(init.reason, 'ContainersNotInitialized');
    assert.equal(init.message, 'containers with incomplete status: [i]');
  });

  it('crash loop: waiting CrashLoopBackOff with lastState terminated, phase Running, not ready', () => {
    const pod = podOf({ containers: [{ name: 'a', image: 'img' }] });
    const dead = ctr('a', { restart: 2, state: 'CONTAINER_EXITED', exitCode: 1, reason: 'Error', finishedAt: 1_700_000_003_000 * NS });
    const older = ctr('a', { restart: 1, state: 'CONTAINER_EXITED', exitCode: 1, reason: 'Error', finishedAt: 1_700_000_002_000 * NS });
    const waiting = new Map([['a', { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=a pod=p_default(u)' }]]);
    const st = generatePodStatus(inputs(pod, [dead, older], { waiting }));
    const cs = st.containerStatuses[0];
    assert.equal(cs.state.waiting.reason, 'CrashLoopBackOff');
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.equal(cs.lastState.terminated.containerID, 'containerd://a-2');
    assert.equal(cs.restartCount, 2);
    assert.equal(cs.ready, false);
    assert.equal(st.phase, 'Running');
    const ready = st.conditions.find((c: KObject) => c.type === 'Ready');
    assert.equal(ready.reason, 'ContainersNotReady');
    assert.equal(ready.message, 'containers with unready status: [a]');
  });

  it('phases by restart policy: Succeeded, Failed, Running; OOMKilled reason passes through', () => {
    const done = ctr('a', { state: 'CONTAINER_EXITED', exitCode: 0, reason: 'Completed', finishedAt: 1_700_000_001_000 * NS });
    const failed = ctr('a', { state: 'CONTAINER_EXITED', exitCode: 137, reason: 'OOMKilled', finishedAt: 1_700_000_001_000 * NS });
    const spec = (restartPolicy: string) => ({ restartPolicy, containers: [{ name: 'a', image: 'img' }] });
    assert.equal(generatePodStatus(inputs(podOf(spec('Never')), [done])).phase, 'Succeeded');
    const f = generatePodStatus(inputs(podOf(spec('Never')), [failed]));
    assert.equal(f.phase, 'Failed');
    assert.equal(f.containerStatuses[0].state.terminated.reason, 'OOMKilled');
    assert.equal(f.conditions.find((c: KObject) => c.type === 'Ready').reason, 'PodCompleted');
    assert.equal(generatePodStatus(inputs(podOf(spec('OnFailure')), [failed])).phase, 'Running');
    assert.equal(generatePodStatus(inputs(podOf(spec('Always')), [done])).phase, 'Running');
    // A deleted pod whose containers stopped: terminal by exit codes.
    assert.equal(generatePodStatus(inputs(podOf(spec('Always')), [done], { terminal: true })).phase, 'Succeeded');
    assert.equal(generatePodStatus(inputs(podOf(spec('Always')), [failed], { terminal: true })).phase, 'Failed');
  });

  it('readiness and startup probes gate ready/started; readiness gates gate Ready', () => {
    const spec = { containers: [{ name: 'a', image: 'img', readinessProbe: { exec: {} }, startupProbe: { exec: {} } }] };
    let st = generatePodStatus(inputs(podOf(spec), [ctr('a')]));
    assert.equal(st.containerStatuses[0].started, false);
    assert.equal(st.containerStatuses[0].ready, false);
    st = generatePodStatus(inputs(podOf(spec), [ctr('a')], { startup: () => true, readiness: () => true }));
    assert.equal(st.containerStatuses[0].ready, true);
    const gated = podOf({ readinessGates: [{ conditionType: 'example.com/lb' }], containers: [{ name: 'a', image: 'img' }] });
    st = generatePodStatus(inputs(gated, [ctr('a')]));
    const ready = st.conditions.find((c: KObject) => c.type === 'Ready');
    assert.equal(ready.status, 'False');
    assert.equal(ready.reason, 'ReadinessGatesNotReady');
    gated.status = { conditions: [{ type: 'example.com/lb', status: 'True' }] };
    st = generatePodStatus(inputs(gated, [ctr('a')]));
    assert.equal(st.conditions.find((c: KObject) => c.type === 'Ready').status, 'True');
    assert.ok(st.conditions.some((c: KObject) => c.type === 'example.com/lb'), 'foreign conditions kept');
  });

  it('init containers: completed ones are ready, a failed one fails a Never pod', () => {
    const spec = { restartPolicy: 'Never', initContainers: [{ name: 'i', image: 'img' }], containers: [{ name: 'a', image: 'img' }] };
    const ok = ctr('i', { state: 'CONTAINER_EXITED', exitCode: 0, reason: 'Completed', finishedAt: 1 * NS });
    let st = generatePodStatus(inputs(podOf(spec), [ok, ctr('a', { createdAt: 1_800_000_000_000 * NS })]));
    assert.equal(st.initContainerStatuses[0].ready, true);
    assert.equal(st.initContainerStatuses[0].state.terminated.reason, 'Completed');
    assert.equal(st.phase, 'Running');
    const bad = ctr('i', { state: 'CONTAINER_EXITED', exitCode: 2, reason: 'Error', finishedAt: 1 * NS });
    st = generatePodStatus(inputs(podOf(spec), [bad]));
    assert.equal(st.phase, 'Failed');
    assert.equal(podPhase(podOf({ ...spec, restartPolicy: 'Always' }), st.initContainerStatuses, st.containerStatuses, false), 'Pending');
  });

  it('keeps the old pod IP when the sandbox is gone, and a sidecar counts as initialized once started', () => {
    const pod = podOf({ containers: [{ name: 'a', image: 'img' }] }, { podIP: '10.1.0.9', podIPs: [{ ip: '10.1.0.9' }] });
    const st = generatePodStatus(inputs(pod, [], { sandbox: undefined }));
    assert.equal(st.podIP, '10.1.0.9');
    const side = podOf({ initContainers: [{ name: 's', image: 'img', restartPolicy: 'Always' }], containers: [{ name: 'a', image: 'img' }] });
    const st2 = generatePodStatus(inputs(side, [ctr('s'), ctr('a', { createdAt: 1_800_000_000_000 * NS })]));
    assert.equal(st2.conditions.find((c: KObject) => c.type === 'Initialized').status, 'True');
    assert.equal(st2.phase, 'Running');
  });
});

describe('env', () => {
  const pod: KObject = {
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { app: 'x', tier: 'web' }, annotations: { a: '1' } },
    spec: { nodeName: 'n1', serviceAccountName: 'sa' },
  };
  const cms: Record<string, KObject> = { 'ns/cfg': { data: { A: 'from-cm', B: 'b', 'bad name': 'skip' } } };
  const secrets: Record<string, KObject> = { 'ns/sec': { data: { PASS: Buffer.from('s3cret').toString('base64') } } };
  const src = {
    configMap: async (ns: string, n: string) => cms[`${ns}/${n}`],
    secret: async (ns: string, n: string) => secrets[`${ns}/${n}`],
    podIP: '10.0.0.7',
    hostIP: '192.0.2.2',
    nodeAllocatable: { cpu: '4', memory: '8Gi' },
  };

  it('expands $(VAR), keeps unknown references, $$ escapes', () => {
    const vars = new Map([['A', 'x']]);
    assert.equal(expand('$(A)-$(B)-$$(A)-$', (n) => vars.get(n)), 'x-$(B)-$(A)-$');
  });

  it('resolves envFrom, valueFrom (field, resource, configMap, secret) and ordering', async () => {
    const env = await resolveEnv(pod, {
      name: 'c',
      resources: { limits: { cpu: '250m', memory: '64Mi' } },
      envFrom: [{ configMapRef: { name: 'cfg' } }, { prefix: 'S_', secretRef: { name: 'sec' } }],
      env: [
        { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'NSX', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
        { name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
        { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'SA', valueFrom: { fieldRef: { fieldPath: 'spec.serviceAccountName' } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } },
        { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'sec', key: 'PASS' } } },
        { name: 'A', value: 'override-$(B)' },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'missing', key: 'x', optional: true } } },
      ],
    }, src);
    const m = Object.fromEntries(env.map((e) => [e.key, e.value]));
    assert.equal(m.A, 'override-b');
    assert.equal(m.S_PASS, 's3cret');
    assert.equal(m['bad name'], undefined);
    assert.equal(m.NAME, 'p');
    assert.equal(m.NSX, 'ns');
    assert.equal(m.IP, '10.0.0.7');
    assert.equal(m.HOST, '192.0.2.2');
    assert.equal(m.NODE, 'n1');
    assert.equal(m.SA, 'sa');
    assert.equal(m.APP, 'x');
    assert.equal(m.CPU, '1');
    assert.equal(m.MEM, '64');
    assert.equal(m.PASS, 's3cret');
    assert.ok(!('OPT' in m));
    assert.ok(env.findIndex((e) => e.key === 'A') < env.findIndex((e) => e.key === 'NAME'), 'a redefinition keeps its first position');
  });

  it('missing references are CreateContainerConfigError with upstream messages', async () => {
    await assert.rejects(resolveEnv(pod, { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }, src), (e: Error) => e instanceof ContainerConfigError && e.message === 'configmap "nope" not found');
    await assert.rejects(resolveEnv(pod, { env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }, src), /couldn't find key k in ConfigMap ns\/cfg/);
    await assert.rejects(resolveEnv(pod, { envFrom: [{ secretRef: { name: 'nope' } }] }, src), /secret "nope" not found/);
  });

  it('resourceFieldRef defaults limits to node allocatable', () => {
    assert.equal(resourceFieldValue({}, { resource: 'limits.cpu' }, { cpu: '4' }), '4');
    assert.equal(resourceFieldValue({ resources: { requests: { cpu: '1500m' } } }, { resource: 'requests.cpu', divisor: '1m' }), '1500');
  });

  it('service links', () => {
    const svc = (name: string, ns: string, ip: string, ports: KObject[]) => ({ metadata: { name, namespace: ns }, spec: { clusterIP: ip, ports } });
    const env = serviceEnv({ spec: {} }, [svc('my-db', 'ns', '10.96.0.20', [{ name: 'sql', port: 5432, protocol: 'TCP' }])], [svc('kubernetes', 'default', '10.96.0.1', [{ name: 'https', port: 443 }])]);
    const m = Object.fromEntries(env.map((e) => [e.key, e.value]));
    assert.equal(m.KUBERNETES_SERVICE_HOST, '10.96.0.1');
    assert.equal(m.KUBERNETES_SERVICE_PORT, '443');
    assert.equal(m.MY_DB_SERVICE_PORT_SQL, '5432');
    assert.equal(m.MY_DB_PORT, 'tcp://10.96.0.20:5432');
    assert.equal(m.MY_DB_PORT_5432_TCP_ADDR, '10.96.0.20');
    const off = serviceEnv({ spec: { enableServiceLinks: false } }, [svc('my-db', 'ns', '10.96.0.20', [{ port: 1 }])], []);
    assert.equal(off.length, 0);
  });
});

describe('backoff', () => {
  it('first restart at once, then 10s doubling to the max, reset after 2x max idle', () => {
    let now = 0;
    const b = new Backoff({ baseMs: 10_000, maxMs: 300_000, now: () => now });
    const k = 'u/c';
    assert.equal(b.isInBackOffSince(k, now), false);
    b.next(k, now);
    assert.equal(b.get(k), 10_000);
    now = 1000;
    assert.equal(b.isInBackOffSince(k, 500), true);
    assert.equal(b.remaining(k, 500), 9500);
    now = 10_600;
    assert.equal(b.isInBackOffSince(k, 500), false);
    for (let i = 0; i < 10; i++) b.next(k, now);
    assert.equal(b.get(k), 300_000);
    now += 600_001;
    assert.equal(b.get(k), 0);
    b.next(k, now);
    assert.equal(b.get(k), 10_000);
    assert.equal(goDuration(10_000), '10s');
    assert.equal(goDuration(80_000), '1m20s');
    assert.equal(goDuration(300_000), '5m0s');
  });
});

describe('atomic writer', () => {
  it('writes ..data with symlinks, swaps atomically, removes dropped keys and old dirs', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-aw-'));
    try {
      const p = (entries: Record<string, string>, mode = 0o644): Payload => new Map(Object.entries(entries).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));
      assert.equal(writeAtomic(dir, p({ a: '1', 'sub/b': '2' })), true);
      assert.ok(lstatSync(join(dir, 'a')).isSymbolicLink());
      assert.equal(readlinkSync(join(dir, 'a')), '..data/a');
      assert.equal(readFileSync(join(dir, 'a'), 'utf8'), '1');
      assert.equal(readFileSync(join(dir, 'sub', 'b'), 'utf8'), '2');
      const first = readlinkSync(join(dir, '..data'));
      assert.equal(writeAtomic(dir, p({ a: '1', 'sub/b': '2' })), false, 'unchanged payload: no write');
      assert.equal(writeAtomic(dir, p({ a: 'one' }, 0o400)), true);
      assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'one');
      assert.equal(statSync(join(dir, 'a')).mode & 0o777, 0o400);
      assert.ok(!existsSync(join(dir, 'sub')), 'dropped key gone');
      assert.ok(!existsSync(join(dir, first)), 'old timestamped dir gone');
      assert.equal(readdirSync(dir).filter((n) => n.startsWith('..') && n !== '..data').length, 1);
      assert.throws(() => writeAtomic(dir, p({ '../x': '1' })), /must not contain '\.\.'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CNI config', () => {
  it('bridge + portmap + loopback over the pod CIDR', () => {
    const c = buildConflist({ podCIDR: '10.42.3.0/24' }) as KObject;
    assert.equal(c.cniVersion, '1.0.0');
    assert.equal(c.name, 'skiff');
    const [bridge, portmap, lo] = c.plugins;
    assert.equal(bridge.type, 'bridge');
    assert.equal(bridge.bridge, 'skiff0');
    assert.equal(bridge.isGateway, true);
    assert.equal(bridge.ipMasq, true);
    assert.equal(bridge.hairpinMode, true);
    assert.deepEqual(bridge.ipam, { type: 'host-local', ranges: [[{ subnet: '10.42.3.0/24', gateway: '10.42.3.1' }]], routes: [{ dst: '0.0.0.0/0' }] });
    assert.deepEqual(portmap, { type: 'portmap', capabilities: { portMappings: true } });
    assert.deepEqual(lo, { type: 'loopback' });
    assert.equal(gatewayOf('10.42.3.77/24'), '10.42.3.1');
    assert.ok(cidrContains('10.42.3.0/24', '10.42.3.200'));
    assert.ok(!cidrContains('10.42.3.0/24', '10.42.4.1'));
    assert.throws(() => buildConflist({ podCIDR: 'fd00::/64' }), /invalid IPv4 CIDR/);
    const dir = mkdtempSync(join(tmpdir(), 'skiff-cni-'));
    try {
      assert.equal(writeCniConfig(dir, { podCIDR: '10.42.3.0/24', bridge: 'br9' }), true);
      assert.equal(writeCniConfig(dir, { podCIDR: '10.42.3.0/24', bridge: 'br9' }), false);
      assert.equal(JSON.parse(readFileSync(join(dir, '10-skiff.conflist'), 'utf8')).plugins[0].bridge, 'br9');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('runtime config', () => {
  it('resources to cgroup settings and QoS', () => {
    const r = linuxResources({ resources: { requests: { cpu: '250m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } } }, 'Burstable', 1024 * 2 ** 20);
    assert.equal(r.cpuShares, 256);
    assert.equal(r.cpuQuota, 50_000);
    assert.equal(r.cpuPeriod, 100_000);
    assert.equal(r.memoryLimitInBytes, 128 * 2 ** 20);
    assert.equal(r.oomScoreAdj, 938);
    assert.equal(linuxResources({}, 'BestEffort').cpuShares, 2);
    assert.equal(qosClass({ spec: { containers: [{ resources: {} }] } }), 'BestEffort');
    assert.equal(qosClass({ spec: { containers: [{ resources: { limits: { cpu: '1', memory: '1Gi' } } }] } }), 'Guaranteed');
    assert.equal(qosClass({ spec: { containers: [{ resources: { requests: { cpu: '1' } } }] } }), 'Burstable');
  });

  it('security context, host ports, DNS', () => {
    const pod = { spec: { securityContext: { runAsUser: 1000, fsGroup: 2000 }, containers: [{ ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] }] } };
    const sc = containerSecurity(pod, { securityContext: { runAsGroup: 3000, readOnlyRootFilesystem: true, privileged: true, capabilities: { add: ['net_admin'], drop: ['ALL'] } } });
    assert.deepEqual(sc.runAsUser, { value: 1000 });
    assert.deepEqual(sc.runAsGroup, { value: 3000 });
    assert.equal(sc.readonlyRootfs, true);
    assert.equal(sc.privileged, true);
    assert.deepEqual(sc.supplementalGroups, [2000]);
    assert.deepEqual(sc.capabilities, { addCapabilities: ['NET_ADMIN'], dropCapabilities: ['ALL'] });
    assert.deepEqual(sc.namespaceOptions, { network: 'POD', pid: 'CONTAINER', ipc: 'POD' });
    assert.deepEqual(hostPortMappings(pod), [{ protocol: 'TCP', containerPort: 80, hostPort: 8080, hostIp: undefined }]);
    const host = parseResolvConf('# c\nnameserver 1.1.1.1\nnameserver 8.8.8.8\nsearch a.example b.example\noptions ndots:2 edns0\n');
    assert.deepEqual(host, { servers: ['1.1.1.1', '8.8.8.8'], searches: ['a.example', 'b.example'], options: ['ndots:2', 'edns0'] });
    const p = { metadata: { namespace: 'ns' }, spec: { dnsConfig: { nameservers: ['9.9.9.9'], options: [{ name: 'ndots', value: '3' }] } } };
    assert.deepEqual(podDNS(p, { host }), { servers: ['1.1.1.1', '8.8.8.8', '9.9.9.9'], searches: ['a.example', 'b.example'], options: ['edns0', 'ndots:3'] });
    const cluster = podDNS({ metadata: { namespace: 'ns' }, spec: {} }, { host, clusterDNS: ['10.96.0.10'] });
    assert.deepEqual(cluster.searches.slice(0, 3), ['ns.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
    assert.deepEqual(podDNS({ spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'] } } }, { host }).servers, ['1.2.3.4']);
    assert.equal(pullPolicy({ image: 'busybox' }), 'Always');
    assert.equal(pullPolicy({ image: 'reg:5000/busybox:1.36' }), 'IfNotPresent');
    assert.equal(pullPolicy({ image: 'x/busybox:latest' }), 'Always');
  });
});

describe('static pods and node', () => {
  it('static pod: name-node, hashed uid, config annotations, defaults', () => {
    const p = staticPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etcd' }, spec: { containers: [{ name: 'c', image: 'img:1' }] } }, 'n1', '/m/etcd.yaml');
    assert.equal(p.metadata?.name, 'etcd-n1');
    assert.equal(p.metadata?.namespace, 'default');
    assert.equal(p.spec.nodeName, 'n1');
    assert.equal(p.metadata?.annotations?.['kubernetes.io/config.source'], 'file');
    assert.equal(p.metadata?.annotations?.['kubernetes.io/config.hash'], p.metadata?.uid);
    assert.equal(p.spec.containers[0].imagePullPolicy, 'IfNotPresent');
    const again = staticPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etcd' }, spec: { containers: [{ name: 'c', image: 'img:1' }] } }, 'n1', '/m/etcd.yaml');
    assert.equal(again.metadata?.uid, p.metadata?.uid, 'stable uid');
    assert.throws(() => staticPod({ kind: 'Deployment', metadata: { name: 'x' } }, 'n1', 'f'), /is not Pod/);
  });

  it('node conditions, capacity, images, host facts', () => {
    const ready = nodeConditions(undefined);
    assert.deepEqual(ready.map((c) => `${c.type}=${c.status}:${c.reason}`), [
      'MemoryPressure=False:KubeletHasSufficientMemory',
      'DiskPressure=False:KubeletHasNoDiskPressure',
      'PIDPressure=False:KubeletHasSufficientPID',
      'Ready=True:KubeletReady',
    ]);
    assert.equal(nodeConditions('net down')[3].reason, 'KubeletNotReady');
    const c = capacity({ hostname: 'h', internalIP: '1.2.3.4', cpu: 4, memoryBytes: 8 * 2 ** 30, ephemeralStorageBytes: 100 * 2 ** 30, osImage: '', kernelVersion: '', machineID: '', bootID: '', systemUUID: '', arch: 'amd64' });
    assert.equal(c.capacity.memory, `${8 * 2 ** 20}Ki`);
    assert.equal(c.allocatable.memory, `${8 * 2 ** 20 - 100 * 1024}Ki`);
    assert.equal(c.capacity.pods, '110');
    assert.deepEqual(nodeImages([{ id: 'a', repoTags: ['x:1'], repoDigests: ['x@sha256:1'], size: 5 }, { id: 'b', repoTags: ['y:1'], repoDigests: [], size: 9 }]), [
      { names: ['y:1'], sizeBytes: 9 },
      { names: ['x@sha256:1', 'x:1'], sizeBytes: 5 },
    ]);
    assert.equal(osImage('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'), 'Debian GNU/Linux 12 (bookworm)');
    assert.equal(memTotal('MemTotal:       16318836 kB\n'), 16318836 * 1024);
    assert.equal(primaryIPv4({ lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true } as any], skiff0: [{ address: '10.42.0.1', family: 'IPv4', internal: false } as any], eth0: [{ address: '192.0.2.2', family: 'IPv4', internal: false } as any] }), '192.0.2.2');
  });

  it('token manager refreshes at 80% of the lifetime', () => {
    assert.equal(TokenManager.needsRefresh({ token: 't', issuedAt: 0, expiresAt: 1000 }, 799), false);
    assert.equal(TokenManager.needsRefresh({ token: 't', issuedAt: 0, expiresAt: 1000 }, 800), true);
  });
});
