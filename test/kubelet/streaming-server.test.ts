// The kubelet's HTTPS server against a real containerd, with a busybox container started
// straight through the CRI (no kubelet, so containers are found by their CRI labels):
// client-certificate checks, /containerLogs (tail, timestamps, follow until the container
// exits, upstream's messages), and exec/attach proxied to containerd's streaming server,
// spoken here over WebSocket v4.channel.k8s.io; the WebSocket v5 upgrade that kubectl tries
// first is refused by containerd with 403, which is what makes kubectl fall back to SPDY.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { ensureServerPki, issueClientCert, type ServerPki } from '../../src/pki/index.js';
import type { PodSandboxConfig } from '../../src/kubelet/cri/client.js';
import { criStreamingRuntime, startKubeletServer, type KubeletServer } from '../../src/kubelet/server/server.js';
import { kubeletServingCert } from '../../src/kubelet/server/certs.js';
import { containerLabels, sandboxLabels } from '../../src/kubelet/pods/labels.js';
import { containerdSkipReason, startTestContainerd, BUSYBOX_IMAGE, type TestContainerd } from '../helpers/containerd.js';

const skip = containerdSkipReason();
const NS = 'default';
const POD = 'logger';
const HOST_NS = { namespaceOptions: { network: 'NODE' as const, pid: 'CONTAINER' as const, ipc: 'POD' as const } };

interface Cert {
  certPem: string;
  keyPem: string;
}

describe('kubelet server against containerd', { skip }, () => {
  let dir: string;
  let tc: TestContainerd;
  let pki: ServerPki;
  let server: KubeletServer;
  let apiClient: Cert;
  let stranger: Cert;
  let sandboxId: string;

  const get = (path: string, cert: Cert | null = apiClient, onData?: (s: string, req: import('node:http').ClientRequest) => void) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.get(
        { host: '127.0.0.1', port: server.port, path, ca: pki.serverCaCertPem, cert: cert?.certPem, key: cert?.keyPem, agent: false },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
            onData?.(body, req);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          res.on('error', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
    });

  /** Runs a WebSocket channel session; returns the data per channel once the server closes. */
  const wsSession = (path: string, protocols: string[], send?: Buffer[]) =>
    new Promise<{ protocol: string; channels: Map<number, string> }>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${server.port}${path}`, protocols, { ca: pki.serverCaCertPem, cert: apiClient.certPem, key: apiClient.keyPem });
      const channels = new Map<number, string>();
      ws.on('open', () => {
        for (const m of send ?? []) ws.send(m);
      });
      ws.on('message', (d: Buffer) => {
        if (!d.length) return;
        channels.set(d[0], (channels.get(d[0]) ?? '') + d.subarray(1).toString('utf8'));
      });
      ws.on('close', () => resolve({ protocol: ws.protocol, channels }));
      ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
      ws.on('error', reject);
    });

  async function runContainer(name: string, script: string, uid: string, sb: PodSandboxConfig): Promise<string> {
    const pod = { metadata: { name: POD, namespace: NS, uid } };
    const id = await tc.cri.runtime.createContainer(
      sandboxId,
      {
        metadata: { name, attempt: 0 },
        image: { image: BUSYBOX_IMAGE },
        command: ['sh', '-c', script],
        logPath: `${name}/0.log`,
        labels: containerLabels(pod, name, false),
        linux: { securityContext: HOST_NS },
      },
      sb,
    );
    await tc.cri.runtime.startContainer(id);
    return id;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-kls-'));
    tc = await startTestContainerd();
    pki = await ensureServerPki(dir);
    apiClient = await issueClientCert(pki, 'kube-apiserver-kubelet-client', []);
    stranger = await issueClientCert(pki, 'jane', ['developers']);
    const serving = await kubeletServingCert(pki, 'n1', []);
    server = await startKubeletServer({
      nodeName: 'n1',
      runtime: criStreamingRuntime(tc.cri),
      tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: pki.clientCaCertPem },
      port: 0,
      bindAddress: '127.0.0.1',
    });
    const uid = randomUUID();
    const sb: PodSandboxConfig = {
      metadata: { name: POD, uid, namespace: NS, attempt: 0 },
      logDirectory: join(tc.logDir, uid),
      labels: sandboxLabels({ metadata: { name: POD, namespace: NS, uid } }),
      linux: { securityContext: HOST_NS },
    };
    sandboxId = await tc.cri.runtime.runPodSandbox(sb);
    await runContainer('main', 'echo hello; sleep 0.1; echo err >&2; sleep 0.1; i=0; while [ $i -lt 100 ]; do echo tick $i; i=$((i+1)); sleep 0.1; done', uid, sb);
    await runContainer('short', 'echo bye', uid, sb);
  });

  after(async () => {
    await server?.close();
    await tc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('allows only the API server client certificate', async () => {
    assert.equal((await get('/healthz', null)).body, 'ok');
    assert.equal((await get(`/containerLogs/${NS}/${POD}/main`, null)).status, 401);
    const denied = await get(`/containerLogs/${NS}/${POD}/main`, stranger);
    assert.equal(denied.status, 403);
    assert.match(denied.body, /^Forbidden \(user=jane, verb=get, resource=nodes, subresource\(s\)=\[proxy\]\)/);
  });

  it('serves container logs: all, tail, timestamps, limitBytes', async () => {
    let all = '';
    for (let i = 0; i < 50 && !all.includes('tick 3\n'); i++) {
      all = (await get(`/containerLogs/${NS}/${POD}/main`)).body;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(all, /^hello\nerr\ntick 0\ntick 1\ntick 2\ntick 3\n/);
    const tail = (await get(`/containerLogs/${NS}/${POD}/main?tailLines=1`)).body;
    assert.match(tail, /^tick \d+\n$/);
    const ts = (await get(`/containerLogs/${NS}/${POD}/main?timestamps=true&limitBytes=200`)).body;
    assert.match(ts.split('\n')[0], /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) hello$/);
    assert.equal((await get(`/containerLogs/${NS}/${POD}/main?limitBytes=3`)).body, 'hel');
    const missing = await get(`/containerLogs/${NS}/${POD}/nope`);
    assert.equal(missing.status, 400);
    assert.equal(missing.body, `container "nope" in pod "${POD}" is waiting to start - no logs yet`);
  });

  it('follows a log until the client leaves, and to the end of an exited container', async () => {
    const seen = await get(`/containerLogs/${NS}/${POD}/main?follow=true&tailLines=0`, apiClient, (body, req) => {
      if ((body.match(/tick/g) ?? []).length >= 3) req.destroy();
    }).catch(() => ({ status: 200, body: 'destroyed' }));
    assert.ok(seen.status === 200);
    // The short container has exited: follow returns what there is and ends.
    let short = { status: 0, body: '' };
    for (let i = 0; i < 50 && short.body !== 'bye\n'; i++) {
      short = await get(`/containerLogs/${NS}/${POD}/short?follow=true`);
      if (short.body !== 'bye\n') await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(short, { status: 200, body: 'bye\n' });
  });

  it('exec over WebSocket v4.channel.k8s.io: stdout, stderr and the exit status', async () => {
    const cmd = ['sh', '-c', 'echo out; echo err >&2; exit 0'].map((c) => `command=${encodeURIComponent(c)}`).join('&');
    const r = await wsSession(`/exec/${NS}/${POD}/main?${cmd}&output=1&error=1`, ['v4.channel.k8s.io']);
    assert.equal(r.protocol, 'v4.channel.k8s.io');
    assert.equal(r.channels.get(1), 'out\n');
    assert.equal(r.channels.get(2), 'err\n');
    assert.equal(JSON.parse(r.channels.get(3)!).status, 'Success');
    const fail = await wsSession(`/exec/${NS}/${POD}/main?command=false&output=1&error=1`, ['v4.channel.k8s.io']);
    const st = JSON.parse(fail.channels.get(3)!);
    assert.equal(st.status, 'Failure');
    assert.equal(st.reason, 'NonZeroExitCode');
  });

  it('refuses the v5 WebSocket upgrade (containerd 1.6 has no v5), so kubectl falls back to SPDY', async () => {
    await assert.rejects(wsSession(`/exec/${NS}/${POD}/main?command=true&output=1`, ['v5.channel.k8s.io']), /upgrade refused: 403/);
  });

  it('exec errors: a container that is not running, a missing pod, a plain request', async () => {
    await assert.rejects(wsSession(`/exec/${NS}/${POD}/short?command=true&output=1`, ['v4.channel.k8s.io']), /upgrade refused: 500/);
    await assert.rejects(wsSession(`/exec/${NS}/ghost/main?command=true&output=1`, ['v4.channel.k8s.io']), /upgrade refused: 500/);
    const plain = await get(`/exec/${NS}/${POD}/main?command=true`);
    assert.equal(plain.status, 400);
  });
});
