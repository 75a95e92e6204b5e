// The kubelet server wired to the kubelet by startKubeletNode, over a fake runtime and an
// in-process API server: GET /pods lists the pods the kubelet runs (API pods bound here and
// static pods, not mirror pods) with the kubelet's own status, and containerLogs, exec and
// port-forward resolve pods through the same view (404 for pods the kubelet does not run).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client, isNotFound, type KObject } from '../../src/client/index.js';
import { startKubeletNode, type KubeletNode } from '../../src/kubelet/index.js';
import { kubeletServingCert } from '../../src/kubelet/server/certs.js';
import type { StreamingRuntime } from '../../src/kubelet/server/server.js';
import { ensureServerPki, issueClientCert, type ServerPki } from '../../src/pki/index.js';
import { FakeRuntime } from './fake-runtime.js';

const ADMIN = { name: 'system:admin', groups: ['system:masters'] };
const NODE = 'pods-endpoint-node';
const NS = 'default';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 20_000): Promise<T> {
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

describe('kubelet /pods and pod lookups of the kubelet server', () => {
  let dir: string;
  let manifests: string;
  let api: ApiServer;
  let client: Client;
  let node: KubeletNode;
  let pki: ServerPki;
  let caller: { certPem: string; keyPem: string };
  const rt = new FakeRuntime();
  const logFile = () => join(dir, 'container.log');
  const execCalls: string[] = [];

  // The server streams from the fake runtime; containers get a log file the test writes.
  const streaming: StreamingRuntime = {
    listContainers: (f) => rt.listContainers(f),
    listPodSandboxes: (f) => rt.listPodSandboxes(f),
    containerStatus: async (id) => {
      const st = await rt.containerStatus(id);
      return st && { ...st, logPath: logFile() };
    },
    exec: async (req) => {
      execCalls.push(`${req.containerId} ${req.cmd.join(' ')}`);
      throw new Error('exec stops here');
    },
    attach: async () => {
      throw new Error('attach stops here');
    },
    portForward: async (id) => {
      execCalls.push(`portForward ${id}`);
      throw new Error('port-forward stops here');
    },
  };

  const request = (path: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        { host: '127.0.0.1', port: node.port, path, headers, ca: pki.serverCaCertPem, cert: caller.certPem, key: caller.keyPem, agent: false },
        (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  const upgrade = (path: string) => request(path, { Connection: 'Upgrade', Upgrade: 'SPDY/3.1' });
  const kubeletPods = async (): Promise<KObject> => {
    const res = await request('/pods');
    assert.equal(res.status, 200, res.body);
    return JSON.parse(res.body);
  };
  const podIn = (list: KObject, name: string) => (list.items as KObject[]).find((p) => p.metadata?.name === name);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-kl-pods-'));
    manifests = join(dir, 'manifests');
    mkdirSync(manifests);
    pki = await ensureServerPki(join(dir, 'pki'));
    caller = await issueClientCert(pki, 'kube-apiserver-kubelet-client', []);
    const serving = await kubeletServingCert(pki, NODE, ['127.0.0.1']);
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    client = new Client({ inProcess: { connect: (u) => api.connect(u), user: ADMIN }, component: 'kubelet-pods-test', qps: 0 });
    writeFileSync(
      join(manifests, 'static.yaml'),
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\n  namespace: ${NS}\nspec:\n  containers:\n  - name: web\n    image: fake/web:1\n`,
    );
    node = await startKubeletNode({
      client,
      nodeName: NODE,
      dataDir: dir,
      runtime: rt,
      streamingRuntime: streaming,
      cniConfDir: join(dir, 'cni'),
      podManifestPath: manifests,
      staticPodIntervalMs: 300,
      resyncIntervalMs: 1000,
      plegIntervalMs: 200,
      gcIntervalMs: 1000,
      tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: pki.clientCaCertPem },
      port: 0,
      bindAddress: '127.0.0.1',
      log: () => undefined,
    });
    await client.pods.create(NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'app' },
      spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'fake/app:1' }] },
    });
    await client.pods.create(NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'elsewhere' },
      spec: { nodeName: 'another-node', containers: [{ name: 'main', image: 'fake/app:1' }] },
    });
    await eventually(async () => (await client.pods.get(NS, 'app')).status?.phase === 'Running', 'pod app Running');
    await eventually(async () => (await client.pods.get(NS, `static-web-${NODE}`).catch(() => undefined))?.status?.phase === 'Running', 'mirror pod Running');
  });

  after(async () => {
    await node?.stop();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('GET /pods lists the API pods bound here and the static pods, not mirror pods or other nodes', async () => {
    const list = await kubeletPods();
    assert.equal(list.kind, 'PodList');
    assert.equal(list.apiVersion, 'v1');
    const names = (list.items as KObject[]).map((p) => p.metadata?.name).sort();
    assert.deepEqual(names, ['app', `static-web-${NODE}`]);
    const app = podIn(list, 'app')!;
    const apiApp = await client.pods.get(NS, 'app');
    assert.equal(app.metadata?.uid, apiApp.metadata?.uid);
    assert.equal(app.status?.phase, 'Running');
    const cs = app.status?.containerStatuses?.[0];
    assert.equal(cs?.name, 'main');
    assert.match(cs?.containerID ?? '', /^containerd:\/\//);
    assert.ok(rt.containers.has(cs.containerID.slice('containerd://'.length)), 'the container id is the runtime one');
    // The static pod as the kubelet has it: its own uid (the mirror's differs), with status.
    const st = podIn(list, `static-web-${NODE}`)!;
    const mirror = await client.pods.get(NS, `static-web-${NODE}`);
    assert.notEqual(st.metadata?.uid, mirror.metadata?.uid);
    assert.equal(st.metadata?.annotations?.['kubernetes.io/config.mirror'], undefined);
    assert.equal(st.metadata?.annotations?.['kubernetes.io/config.source'], 'file');
    assert.equal(st.status?.phase, 'Running');
  });

  it('the status in /pods is the kubelet’s own, not whatever the API holds', async () => {
    // Someone else overwrites the status in the API; the kubelet's view is unchanged.
    await client.pods.patch(NS, 'app', { status: { phase: 'Unknown', message: 'overwritten' } }, 'merge', { subresource: 'status' });
    await eventually(async () => (await client.pods.get(NS, 'app')).status?.phase === 'Unknown', 'API status overwritten');
    await sleep(300); // the informer delivers the update to the kubelet
    const app = podIn(await kubeletPods(), 'app')!;
    assert.equal(app.status?.phase, 'Running');
    assert.equal(app.status?.message, undefined);
  });

  it('containerLogs resolves the pod through the kubelet: status-based container, 404 for pods not run here', async () => {
    writeFileSync(logFile(), '2026-01-01T00:00:00.000000000Z stdout F hello from app\n');
    const ok = await request(`/containerLogs/${NS}/app/main`);
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.body, 'hello from app\n');
    const st = await request(`/containerLogs/${NS}/static-web-${NODE}/web`);
    assert.equal(st.status, 200, st.body);
    const prev = await request(`/containerLogs/${NS}/app/main?previous=true`);
    assert.equal(prev.status, 400);
    assert.equal(prev.body, 'previous terminated container "main" in pod "app" not found');
    const noContainer = await request(`/containerLogs/${NS}/app/nope`);
    assert.equal(noContainer.status, 404);
    assert.equal(noContainer.body, 'container "nope" not found in pod "app"\n');
    for (const name of ['missing', 'elsewhere']) {
      const res = await request(`/containerLogs/${NS}/${name}/main`);
      assert.equal(res.status, 404, name);
      assert.equal(res.body, `pod "${name}" does not exist\n`);
    }
  });

  it('exec and port-forward find the pod the kubelet runs, and 404 others', async () => {
    const app = podIn(await kubeletPods(), 'app')!;
    const id = app.status.containerStatuses[0].containerID.slice('containerd://'.length);
    execCalls.length = 0;
    const res = await upgrade(`/exec/${NS}/app/main?command=ls&output=1`);
    assert.equal(res.status, 500);
    assert.match(res.body, /exec stops here/);
    assert.deepEqual(execCalls, [`${id} ls`]);
    const pf = await upgrade(`/portForward/${NS}/app?port=80`);
    assert.match(pf.body, /port-forward stops here/);
    assert.match(execCalls[1], /^portForward /);
    for (const path of [`/exec/${NS}/missing/main?command=ls`, `/exec/${NS}/elsewhere/main?command=ls`, `/attach/${NS}/missing/main`, `/portForward/${NS}/missing`]) {
      const r = await upgrade(path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body, 'pod does not exist', path);
    }
  });

  it('a deleted pod leaves /pods once the kubelet has torn it down', async () => {
    await client.pods.delete(NS, 'app');
    await eventually(async () => client.pods.get(NS, 'app').then(() => false, (e) => isNotFound(e)), 'pod app gone');
    await eventually(async () => !podIn(await kubeletPods(), 'app'), 'app gone from /pods');
    const res = await request(`/containerLogs/${NS}/app/main`);
    assert.equal(res.status, 404);
  });
});
