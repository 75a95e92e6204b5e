// The kubelet end to end: a real API server in this process (memory store), the kubelet
// in-process against a real skiff containerd with the bridge CNI network it configures.
// Covers registration, a busybox pod reaching Running with a pod IP the host can reach,
// CrashLoopBackOff, liveness restarts, ConfigMap volume updates, preStop on deletion with
// nothing left in containerd, and static pods with their mirror pod.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client, isNotFound, type KObject } from '../../src/client/index.js';
import { startKubelet, type Kubelet } from '../../src/kubelet/index.js';
import { CriRuntime } from '../../src/kubelet/runtime/cri-runtime.js';
import { cidrContains } from '../../src/kubelet/network/cni-config.js';
import { cleanupMasqRules } from '../../src/kubelet/network/masq-cleanup.js';
import { containerdSkipReason, startTestContainerd, BUSYBOX_IMAGE, type TestContainerd } from '../helpers/containerd.js';

const skip = containerdSkipReason();
const ADMIN = { name: 'system:admin', groups: ['system:masters'] };
const NODE = 'kubelet-it';
// Unique per run: CI or another engineer may run this file at the same time on the host.
const OCTET = 100 + (process.pid % 150);
const POD_CIDR = `10.244.${OCTET}.0/24`;
const BRIDGE = `skit${process.pid % 100000}`;
const NS = 'default';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(100);
  }
}

function httpGet(url: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: 3000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function ctr(tc: TestContainerd, ...args: string[]): string {
  const r = spawnSync('ctr', ['--address', tc.socket, '-n', 'k8s.io', ...args], { encoding: 'utf8' });
  return r.stdout;
}

/** The CNI masquerade chains jumped to for sources in this run's pod CIDR. */
function natChains(): string[] {
  const r = spawnSync('iptables', ['-t', 'nat', '-S', 'POSTROUTING'], { encoding: 'utf8' });
  const out: string[] = [];
  for (const l of (r.stdout ?? '').split('\n')) {
    const m = /^-A POSTROUTING -s (\d+\.\d+\.\d+\.\d+)\/32 .* -j (CNI-[0-9a-f]+)/.exec(l);
    if (m && cidrContains(POD_CIDR, m[1])) out.push(`-N ${m[2]}`);
  }
  return out;
}

describe('kubelet against containerd', { skip }, () => {
  let dir: string;
  let api: ApiServer;
  let client: Client;
  let tc: TestContainerd;
  let kubelet: Kubelet;
  let manifests: string;
  let hostDir: string;
  const chainsBefore = new Set<string>();
  const logs: string[] = [];

  const pod = (name: string, spec: KObject, extra: KObject = {}): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, ...(extra.metadata ?? {}) },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 5, ...spec },
  });
  const box = (name: string, command: string[], extra: KObject = {}): KObject => ({ name, image: BUSYBOX_IMAGE, imagePullPolicy: 'IfNotPresent', command, ...extra });
  const get = (name: string) => client.pods.get(NS, name);
  const cs = (p: KObject, name: string) => (p.status?.containerStatuses ?? []).find((c: KObject) => c.name === name);

  /** Deletes a pod and waits until the kubelet has removed it from the API. */
  const deletePod = async (name: string, timeoutMs = 30_000) => {
    await client.pods.delete(NS, name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
    await eventually(async () => get(name).then(() => false, (e) => isNotFound(e)), `pod ${name} gone`, timeoutMs);
  };

  before(async () => {
    for (const c of natChains()) chainsBefore.add(c);
    dir = mkdtempSync(join(tmpdir(), 'skiff-kubelet-'));
    manifests = join(dir, 'manifests');
    hostDir = join(dir, 'host');
    mkdirSync(manifests);
    mkdirSync(hostDir);
    tc = await startTestContainerd();
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    client = new Client({ inProcess: { connect: (u) => api.connect(u), user: ADMIN }, component: 'kubelet-test', qps: 0 });
    kubelet = await startKubelet({
      client,
      nodeName: NODE,
      dataDir: dir,
      runtime: new CriRuntime(tc.cri),
      cniConfDir: tc.cniConfDir,
      podCIDR: POD_CIDR,
      bridgeName: BRIDGE,
      podManifestPath: manifests,
      staticPodIntervalMs: 500,
      resyncIntervalMs: 1500,
      plegIntervalMs: 300,
      gcIntervalMs: 2000,
      nodeStatusUpdateIntervalMs: 1000,
      crashLoopBackoff: { baseMs: 1000, maxMs: 4000 },
      log: (level, msg) => logs.push(`${level}: ${msg}`),
    });
  });

  after(async () => {
    try {
      const left = await client.pods.list(NS).catch(() => ({ items: [] as KObject[] }));
      for (const p of left.items) await client.pods.delete(NS, p.metadata!.name!).catch(() => undefined);
      rmSync(join(manifests), { recursive: true, force: true });
      await eventually(async () => (await client.pods.list(NS)).items.length === 0, 'all pods gone', 40_000).catch(() => undefined);
    } finally {
      await kubelet?.stop();
      if (process.env.KUBELET_TEST_LOG && tc) spawnSync('cp', [tc.handle.logFile, '/tmp/kubelet-test-containerd.log']);
      client?.close();
      await api?.close();
      await tc?.stop();
      spawnSync('ip', ['link', 'del', BRIDGE]);
      // Chains CNI's DEL missed (there should be none).
      const left = spawnSync('iptables', ['-t', 'nat', '-S', 'POSTROUTING'], { encoding: 'utf8' }).stdout ?? '';
      const ids = [...left.matchAll(/-s (\d+\.\d+\.\d+\.\d+)\/32 .*id: \\"([0-9a-f]+)\\"/g)].filter((m) => cidrContains(POD_CIDR, m[1])).map((m) => m[2]);
      await cleanupMasqRules(ids);
      rmSync(dir, { recursive: true, force: true });
      if (process.env.KUBELET_TEST_LOG) process.stderr.write(logs.join('\n') + '\n');
    }
  });

  it('registers the node with capacity, addresses, nodeInfo and a lease; Ready once the CNI config is in', async () => {
    const node = await eventually(async () => {
      const n = await client.nodes.get(null, NODE);
      return n.status?.conditions?.find((c: KObject) => c.type === 'Ready')?.status === 'True' ? n : undefined;
    }, 'node Ready');
    assert.equal(node.metadata?.labels?.['kubernetes.io/hostname'], NODE);
    assert.equal(node.metadata?.labels?.['kubernetes.io/os'], 'linux');
    assert.equal(node.spec?.podCIDR, POD_CIDR);
    assert.equal(node.status.capacity.pods, '110');
    assert.ok(Number(node.status.capacity.cpu) >= 1);
    assert.match(node.status.capacity.memory, /^\d+Ki$/);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^containerd:\/\//);
    assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.4');
    assert.ok(node.status.addresses.some((a: KObject) => a.type === 'Hostname'));
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(node.status.conditions.find((c: KObject) => c.type === t)?.status, 'False');
    assert.ok(node.status.images.some((i: KObject) => i.names.includes(BUSYBOX_IMAGE)));
    const lease = await client.leases.get('kube-node-lease', NODE);
    assert.equal(lease.spec?.holderIdentity, NODE);
    const conf = JSON.parse(readFileSync(join(tc.cniConfDir, '10-skiff.conflist'), 'utf8'));
    assert.deepEqual(conf.plugins.map((p: KObject) => p.type), ['bridge', 'portmap', 'loopback']);
  });

  it('runs a busybox httpd pod: Running with a pod IP from the pod CIDR that the host can reach', async () => {
    await client.configMaps.create(NS, { metadata: { name: 'web-env' }, data: { GREETING: 'hello' } } as KObject);
    const t0 = Date.now();
    await client.pods.create(
      NS,
      pod('web', {
        containers: [
          box('web', ['sh', '-c', 'mkdir -p /www && echo "$GREETING from $POD_NAME" > /www/index.html && exec httpd -f -p 8080 -h /www'], {
            ports: [{ containerPort: 8080 }],
            env: [
              { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'web-env', key: 'GREETING' } } },
            ],
            readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
          }),
        ],
      }),
    );
    const running = await eventually(async () => {
      const p = await get('web');
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'web Running');
    const startMs = Date.now() - t0;
    process.stderr.write(`# pod create -> Running: ${startMs} ms\n`);
    const ip: string = running.status.podIP;
    assert.ok(ip && cidrContains(POD_CIDR, ip), `pod IP ${ip} in ${POD_CIDR}`);
    assert.match(cs(running, 'web').containerID, /^containerd:\/\//);
    const ready = await eventually(async () => {
      const p = await get('web');
      return p.status?.conditions?.find((c: KObject) => c.type === 'Ready')?.status === 'True' ? p : undefined;
    }, 'web Ready');
    assert.equal(cs(ready, 'web').ready, true);
    const res = await eventually(() => httpGet(`http://${ip}:8080/`).catch(() => undefined), 'httpd reachable');
    assert.equal(res.code, 200);
    assert.equal(res.body.trim(), 'hello from web');
    for (const t of ['PodReadyToStartContainers', 'Initialized', 'ContainersReady', 'Ready', 'PodScheduled']) {
      assert.ok(ready.status.conditions.some((c: KObject) => c.type === t), t);
    }
    assert.ok(ready.status.startTime);
    assert.ok(ready.status.hostIP);
  });

  it('shows CrashLoopBackOff with growing restarts for a crashing container', async () => {
    await client.pods.create(NS, pod('crash', { containers: [box('crash', ['sh', '-c', 'echo dying; exit 3'])] }));
    const p = await eventually(async () => {
      const p = await get('crash');
      const s = cs(p, 'crash');
      return s?.state?.waiting?.reason === 'CrashLoopBackOff' && s.restartCount >= 2 ? p : undefined;
    }, 'CrashLoopBackOff with 2 restarts', 40_000);
    const s = cs(p, 'crash');
    assert.equal(s.lastState.terminated.exitCode, 3);
    assert.equal(s.lastState.terminated.reason, 'Error');
    assert.match(s.state.waiting.message, /^back-off \d+s restarting failed container=crash pod=crash_default/);
    assert.equal(p.status.phase, 'Running');
    await deletePod('crash');
  });

  it('restarts a container whose liveness probe fails', async () => {
    await client.pods.create(
      NS,
      pod('live', {
        containers: [
          box('live', ['sh', '-c', 'touch /tmp/ok; sleep 3600'], {
            livenessProbe: { exec: { command: ['sh', '-c', 'test -f /tmp/ok && rm /tmp/ok'] }, periodSeconds: 1, failureThreshold: 1 },
          }),
        ],
      }),
    );
    const p = await eventually(async () => {
      const p = await get('live');
      return (cs(p, 'live')?.restartCount ?? 0) >= 1 ? p : undefined;
    }, 'liveness restart', 40_000);
    assert.ok(cs(p, 'live').lastState.terminated);
    const events = await client.events.list(NS);
    assert.ok(
      events.items.some((e: KObject) => e.reason === 'Killing' && /Container live failed liveness probe, will be restarted/.test(e.note ?? e.message ?? '')),
      'Killing event',
    );
    await deletePod('live');
  });

  it('updates ConfigMap volume files in a running pod', async () => {
    await client.configMaps.create(NS, { metadata: { name: 'conf' }, data: { 'app.txt': 'v1' } } as KObject);
    await client.pods.create(
      NS,
      pod('cm', {
        containers: [box('cm', ['sleep', '3600'], { volumeMounts: [{ name: 'conf', mountPath: '/etc/conf' }] })],
        volumes: [{ name: 'conf', configMap: { name: 'conf' } }],
      }),
    );
    const p = await eventually(async () => {
      const p = await get('cm');
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'cm Running');
    const id = cs(p, 'cm').containerID.replace('containerd://', '');
    const cat = async () => (await kubelet.runtime.execSync(id, ['cat', '/etc/conf/app.txt'], 5)).stdout.toString();
    assert.equal(await cat(), 'v1');
    const cm = await client.configMaps.get(NS, 'conf');
    await client.configMaps.update(NS, { ...cm, data: { 'app.txt': 'v2' } });
    await eventually(async () => (await cat()) === 'v2', 'configmap update in the container', 20_000);
    await deletePod('cm');
  });

  it('runs preStop on deletion and leaves nothing in containerd', async () => {
    const created = await client.pods.create(
      NS,
      pod('bye', {
        containers: [
          box('bye', ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'], {
            volumeMounts: [{ name: 'host', mountPath: '/host' }],
            lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo stopped > /host/prestop'] } } },
          }),
        ],
        volumes: [{ name: 'host', hostPath: { path: hostDir, type: 'Directory' } }],
      }),
    );
    const uid = created.metadata!.uid!;
    await eventually(async () => (await get('bye')).status?.phase === 'Running', 'bye Running');
    assert.ok(ctr(tc, 'c', 'ls').includes(BUSYBOX_IMAGE));
    await deletePod('bye');
    assert.equal(readFileSync(join(hostDir, 'prestop'), 'utf8').trim(), 'stopped');
    const sandboxes = await tc.cri.runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
    const containers = await tc.cri.runtime.listContainers({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
    assert.deepEqual(sandboxes.map((x) => `${x.id} ${x.state} ${x.createdAt}`), [], `sandboxes left at ${Date.now()}`);
    assert.deepEqual(containers.map((x) => `${x.metadata.name} ${x.state} ${x.createdAt}`), [], 'containers left');
    assert.ok(!existsSync(join(dir, 'agent', 'pods', uid)), 'pod dir removed');
  });

  it('runs static pods from the manifest dir and mirrors them into the API', async () => {
    writeFileSync(
      join(manifests, 'static.yaml'),
      `apiVersion: v1
kind: Pod
metadata:
  name: static-web
  namespace: default
spec:
  containers:
  - name: main
    image: ${BUSYBOX_IMAGE}
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
`,
    );
    const mirror = await eventually(async () => {
      const p = await get(`static-web-${NODE}`);
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'mirror pod Running');
    assert.ok(mirror.metadata?.annotations?.['kubernetes.io/config.mirror']);
    assert.equal(mirror.metadata?.annotations?.['kubernetes.io/config.source'], 'file');
    rmSync(join(manifests, 'static.yaml'));
    await eventually(async () => get(`static-web-${NODE}`).then(() => false, (e) => isNotFound(e)), 'mirror pod gone');
    await eventually(async () => !ctr(tc, 'c', 'ls').includes(BUSYBOX_IMAGE) || (await client.pods.list(NS)).items.length > 0, 'static containers gone');
  });

  it('runs init containers in order, then a pod that completes with a termination message', async () => {
    await client.pods.create(
      NS,
      pod('job', {
        restartPolicy: 'Never',
        initContainers: [
          box('first', ['sh', '-c', 'echo 1 >> /work/order'], { volumeMounts: [{ name: 'work', mountPath: '/work' }] }),
          box('second', ['sh', '-c', 'echo 2 >> /work/order'], { volumeMounts: [{ name: 'work', mountPath: '/work' }] }),
        ],
        containers: [
          box('main', ['sh', '-c', 'cat /work/order | tr "\\n" , > /dev/termination-log'], { volumeMounts: [{ name: 'work', mountPath: '/work' }] }),
        ],
        volumes: [{ name: 'work', emptyDir: {} }],
      }),
    );
    const p = await eventually(async () => {
      const p = await get('job');
      return p.status?.phase === 'Succeeded' ? p : undefined;
    }, 'job Succeeded');
    assert.deepEqual(p.status.initContainerStatuses.map((s: KObject) => s.state.terminated?.reason), ['Completed', 'Completed']);
    const main = cs(p, 'main');
    assert.equal(main.state.terminated.exitCode, 0);
    assert.equal(main.state.terminated.reason, 'Completed');
    assert.equal(main.state.terminated.message, '1,2,');
    assert.equal(p.status.conditions.find((c: KObject) => c.type === 'Ready').reason, 'PodCompleted');
    // A finished pod's sandbox is stopped (its network torn down).
    const uid = p.metadata!.uid!;
    await eventually(async () => {
      const sbs = await tc.cri.runtime.listPodSandbox({ labelSelector: { 'io.kubernetes.pod.uid': uid } });
      return sbs.every((s) => s.state === 'SANDBOX_NOTREADY');
    }, 'sandbox stopped');
    await deletePod('job');
  });

  it('mounts secret, downwardAPI and projected volumes with a bound service account token', async () => {
    await client.secrets.create(NS, { metadata: { name: 'creds' }, data: { user: Buffer.from('admin').toString('base64') } } as KObject);
    await client.serviceAccounts.create(NS, { metadata: { name: 'default' } } as KObject).catch(() => undefined);
    await client.pods.create(
      NS,
      pod('vols', {
        containers: [
          box('main', ['sleep', '3600'], {
            volumeMounts: [
              { name: 'creds', mountPath: '/creds' },
              { name: 'info', mountPath: '/info' },
              { name: 'api', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
            ],
          }),
        ],
        volumes: [
          { name: 'creds', secret: { secretName: 'creds', items: [{ key: 'user', path: 'username', mode: 0o400 }] } },
          { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }, { path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
          {
            name: 'api',
            projected: {
              sources: [
                { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
                { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }], optional: true } },
                { downwardAPI: { items: [{ path: 'namespace', fieldRef: { fieldPath: 'metadata.namespace' } }] } },
              ],
            },
          },
        ],
      }, { metadata: { labels: { app: 'vols' } } }),
    );
    const p = await eventually(async () => {
      const p = await get('vols');
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'vols Running');
    const id = cs(p, 'main').containerID.replace('containerd://', '');
    const cat = async (f: string) => (await kubelet.runtime.execSync(id, ['cat', f], 5)).stdout.toString();
    assert.equal(await cat('/creds/username'), 'admin');
    assert.equal(await cat('/info/labels'), 'app="vols"');
    assert.equal(await cat('/info/name'), 'vols');
    assert.equal(await cat('/var/run/secrets/kubernetes.io/serviceaccount/namespace'), 'default');
    const token = await cat('/var/run/secrets/kubernetes.io/serviceaccount/token');
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    assert.equal(claims.sub, 'system:serviceaccount:default:default');
    assert.equal(claims['kubernetes.io'].pod.name, 'vols');
    await deletePod('vols');
  });

  it('reports ErrImagePull then ImagePullBackOff for an image no registry has', async () => {
    await client.pods.create(NS, pod('nopull', { containers: [{ name: 'c', image: 'registry.invalid/none:1', imagePullPolicy: 'IfNotPresent' }] }));
    const seen = new Set<string>();
    await eventually(async () => {
      const r = cs(await get('nopull'), 'c')?.state?.waiting?.reason;
      if (r) seen.add(r);
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff');
    }, 'ErrImagePull and ImagePullBackOff', 40_000);
    const p = await get('nopull');
    assert.equal(p.status.phase, 'Pending');
    await deletePod('nopull');
  });

  it('removes the web pod and every CNI chain it created', async () => {
    await deletePod('web');
    await eventually(async () => (await tc.cri.runtime.listPodSandbox()).length === 0, 'no sandboxes left');
    const extra = natChains().filter((c) => !chainsBefore.has(c));
    assert.deepEqual(extra, []);
  });
});
