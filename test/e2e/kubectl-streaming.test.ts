// The real kubectl against logs, exec, attach, cp and port-forward: an API server, a kubelet
// and the kubelet's HTTPS server in this process, pods in a real skiff containerd with the
// bridge network. kubectl talks to a front HTTPS server that serves the streaming
// subresources with src/apiserver/pod-proxy.ts and passes everything else to the API server
// (so this test does not depend on how handlers.ts routes them).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import https from 'node:https';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { handlePodSubresource, handleUpgrade, kubeletConnection, type KubeletConnection } from '../../src/apiserver/pod-proxy.js';
import { parseResourcePath } from '../../src/apiserver/request-info.js';
import { ApiError, internalError } from '../../src/apiserver/errors.js';
import { sendError } from '../../src/apiserver/http.js';
import { systemContext } from '../../src/apiserver/context.js';
import { Client, isNotFound, type KObject } from '../../src/client/index.js';
import { startKubelet, type Kubelet } from '../../src/kubelet/index.js';
import { CriRuntime } from '../../src/kubelet/runtime/cri-runtime.js';
import { criStreamingRuntime, startKubeletServer, type KubeletServer } from '../../src/kubelet/server/server.js';
import { kubeletServingCert } from '../../src/kubelet/server/certs.js';
import { forwardHeaders } from '../../src/kubelet/server/upgrade-proxy.js';
import { issueClientCert, userFromPeerCertificate, writeKubeconfig } from '../../src/pki/index.js';
import { containerdSkipReason, startTestContainerd, BUSYBOX_IMAGE, type TestContainerd } from '../helpers/containerd.js';
import { freePort } from '../helpers/cluster.js';
import { spawnKubectl, waitUntil } from './util.js';

const skip = containerdSkipReason() ?? (spawnSync('kubectl', ['version', '--client']).status === 0 ? undefined : 'kubectl not found');
const NODE = 'stream-node';
const POD_CIDR = '10.244.78.0/24';
const BRIDGE = 'skiffst0';
const NS = 'default';
const ADMIN = { name: 'system:admin', groups: ['system:masters'] };
const STREAM_SUBS = new Set(['log', 'exec', 'attach', 'portforward', 'proxy']);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A front for kubectl: the streaming subresources here, the rest relayed to the API server as admin. */
async function startFront(api: ApiServer, kubelet: KubeletConnection, admin: { certPem: string; keyPem: string }) {
  const env = { registry: api.registry, kubelet };
  const byPlural = new Map(api.resources.filter((r) => r.group === '').map((r) => [r.plural, r]));
  const authenticate = (req: IncomingMessage) => {
    const s = req.socket as TLSSocket;
    return s.authorized ? userFromPeerCertificate(s.getPeerCertificate()) : undefined;
  };
  const server = https.createServer(
    { key: api.pki.servingKeyPem, cert: api.pki.servingCertPem, ca: api.pki.clientCaCertPem, requestCert: true, rejectUnauthorized: false },
    (req: IncomingMessage, res: ServerResponse) => {
      const path = new URL(req.url ?? '/', 'https://x').pathname;
      const parts = path.split('/').filter(Boolean);
      // pods/{name}/proxy/... and nodes/{name}/proxy/... are longer than parseResourcePath takes.
      const info = parseResourcePath(parts.slice(0, parts[2] === 'namespaces' ? 7 : 5).join('/').replace(/^/, '/'));
      if (info?.name && info.subresource && STREAM_SUBS.has(info.subresource) && info.group === '') {
        const r = byPlural.get(info.resource)!;
        handlePodSubresource(env, systemContext('test'), req, res, r, info.namespace, info.name, info.subresource).catch((e) =>
          sendError(res, e instanceof ApiError ? e : internalError(e)),
        );
        return;
      }
      const out = https.request(
        {
          host: '127.0.0.1',
          port: api.port,
          method: req.method,
          path: req.url,
          headers: forwardHeaders(req, `127.0.0.1:${api.port}`) as unknown as http.OutgoingHttpHeaders,
          ca: api.pki.serverCaCertPem,
          cert: admin.certPem,
          key: admin.keyPem,
          agent: false,
        },
        (pres) => {
          res.writeHead(pres.statusCode ?? 502, pres.headers);
          pres.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      res.on('close', () => out.destroy());
      req.pipe(out);
    },
  );
  server.requestTimeout = 0;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => handleUpgrade(req, socket, head, { ...env, authenticate }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  return { server, port: typeof addr === 'object' && addr ? addr.port : 0 };
}

describe('kubectl logs / exec / attach / cp / port-forward', { skip }, () => {
  let dir: string;
  let api: ApiServer;
  let client: Client;
  let tc: TestContainerd;
  let kubelet: Kubelet;
  let ks: KubeletServer;
  let front: Awaited<ReturnType<typeof startFront>>;
  let kubeconfig: string;
  const logs: string[] = [];

  const kubectl = (args: string[], input?: string, timeoutMs = 30_000): Promise<Run> =>
    new Promise((resolve) => {
      const p = execFile('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0, stdout, stderr }),
      );
      if (input !== undefined) p.stdin!.end(input);
      else p.stdin!.end();
    });
  const k = async (...args: string[]) => {
    const r = await kubectl(args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const box = (name: string, script: string, extra: KObject = {}): KObject => ({ name, image: BUSYBOX_IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', script], ...extra });
  const pod = (name: string, containers: KObject[], extra: KObject = {}): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS },
    spec: { nodeName: NODE, terminationGracePeriodSeconds: 1, containers, ...extra },
  });
  const running = (name: string) =>
    waitUntil(async () => {
      const p = await client.pods.get(NS, name);
      return p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((c: KObject) => c.state?.running) ? p : undefined;
    }, `pod ${name} running`, 60_000, 100);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-stream-'));
    tc = await startTestContainerd();
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    client = new Client({ inProcess: { connect: (u) => api.connect(u), user: ADMIN }, component: 'stream-test', qps: 0 });
    kubelet = await startKubelet({
      client,
      nodeName: NODE,
      dataDir: dir,
      runtime: new CriRuntime(tc.cri),
      cniConfDir: tc.cniConfDir,
      podCIDR: POD_CIDR,
      bridgeName: BRIDGE,
      plegIntervalMs: 300,
      nodeStatusUpdateIntervalMs: 1000,
      crashLoopBackoff: { baseMs: 500, maxMs: 1000 },
      imagePullBackoff: { baseMs: 500, maxMs: 1000 },
      log: (level, msg) => logs.push(`${level}: ${msg}`),
    });
    const serving = await kubeletServingCert(api.pki, NODE, []);
    ks = await startKubeletServer({
      nodeName: NODE,
      runtime: criStreamingRuntime(tc.cri),
      tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: api.pki.clientCaCertPem },
      getPod: (ns, name) => client.pods.get(ns, name).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e))),
      port: await freePort(),
      bindAddress: '127.0.0.1',
      log: (level, msg) => logs.push(`server ${level}: ${msg}`),
    });
    const conn = await kubeletConnection(api.pki);
    conn.resolve = () => ({ host: '127.0.0.1', port: ks.port });
    const admin = await issueClientCert(api.pki, 'system:admin', ['system:masters']);
    front = await startFront(api, conn, admin);
    kubeconfig = join(dir, 'kubeconfig.yaml');
    writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${front.port}`, caPem: api.pki.serverCaCertPem, certPem: admin.certPem, keyPem: admin.keyPem });

    await client.pods.create(
      NS,
      pod('web', [
        box('web', 'mkdir -p /www && echo hello-from-web > /www/index.html && echo started web && sleep 0.2 && echo oops >&2 && exec httpd -f -p 8080 -h /www', {
          ports: [{ containerPort: 8080 }],
        }),
        box('ticker', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done'),
      ]),
    );
    await running('web');
  });

  after(async () => {
    try {
      await client.pods.delete(NS, 'web', { gracePeriodSeconds: 0 }).catch(() => undefined);
      await waitUntil(async () => client.pods.get(NS, 'web').then(() => false, (e) => isNotFound(e)), 'web gone', 30_000, 200).catch(() => undefined);
    } finally {
      front?.server.closeAllConnections();
      front?.server.close();
      await ks?.close();
      await kubelet?.stop();
      client?.close();
      await api?.close();
      await tc?.stop();
      spawnSync('ip', ['link', 'del', BRIDGE]);
      rmSync(dir, { recursive: true, force: true });
      if (process.env.STREAM_TEST_LOG) process.stderr.write(logs.join('\n') + '\n');
    }
  });

  it('kubectl logs: -c, --tail, --timestamps, stderr included', async () => {
    const out = await waitUntil(async () => {
      const o = await k('logs', 'web', '-c', 'web');
      return o.includes('oops') ? o : undefined;
    }, 'web logs', 10_000, 100);
    assert.equal(out, 'started web\noops\n');
    await waitUntil(async () => (await k('logs', 'web', '-c', 'ticker')).includes('tick 5'), 'ticker output', 10_000, 200);
    const tail = await k('logs', 'web', '-c', 'ticker', '--tail=2');
    const lines = tail.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^tick \d+$/);
    assert.equal(Number(lines[1].split(' ')[1]), Number(lines[0].split(' ')[1]) + 1);
    const ts = await k('logs', 'web', '-c', 'web', '--timestamps');
    assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) started web\n/);
    const since = await k('logs', 'web', '-c', 'ticker', '--since=1s');
    assert.ok(since.split('\n').filter(Boolean).length <= 6, `--since=1s gave ${since}`);
    const limited = await k('logs', 'web', '-c', 'ticker', '--limit-bytes=5');
    assert.equal(limited, 'tick ');
  });

  it('kubectl logs -f streams new lines', async () => {
    const bg = spawnKubectl(kubeconfig, ['logs', '-f', 'web', '-c', 'ticker', '--tail=1']);
    try {
      const first = await bg.waitForOutput(/tick (\d+)\n/, 10_000);
      const n = Number(/tick (\d+)/.exec(first)![1]);
      await bg.waitForOutput(new RegExp(`tick ${n + 3}\\n`), 10_000);
      assert.match(bg.output(), new RegExp(`^tick ${n}\\ntick ${n + 1}\\ntick ${n + 2}\\n`));
    } finally {
      await bg.kill();
    }
  });

  it('kubectl logs errors: unknown container, missing container name', async () => {
    const r = await kubectl(['logs', 'web', '-c', 'nope']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /container nope is not valid for pod web/);
    const missing = await kubectl(['logs', 'ghost']);
    assert.match(missing.stderr, /pods "ghost" not found/);
  });

  it('kubectl logs --previous, and why a waiting container has no logs', async () => {
    await client.pods.create(
      NS,
      pod('crash', [
        box('crasher', 'echo run-$RANDOM; exit 1'),
        { name: 'nopull', image: 'registry.invalid/nope:1', imagePullPolicy: 'IfNotPresent' },
      ]),
    );
    await waitUntil(async () => {
      const p = await client.pods.get(NS, 'crash');
      const st = (n: string) => (p.status?.containerStatuses ?? []).find((c: KObject) => c.name === n);
      return (st('crasher')?.restartCount ?? 0) >= 1 && /ImagePull|ErrImagePull/.test(st('nopull')?.state?.waiting?.reason ?? '');
    }, 'crash restarted and nopull waiting', 60_000, 200);
    const prev = await k('logs', 'crash', '-c', 'crasher', '--previous');
    assert.match(prev, /^run-\d+\n$/);
    const cur = await k('logs', 'crash', '-c', 'crasher');
    assert.match(cur, /^run-\d+\n$/);
    const waiting = await kubectl(['logs', 'crash', '-c', 'nopull']);
    assert.notEqual(waiting.code, 0);
    assert.match(waiting.stderr, /Error from server \(BadRequest\): container "nopull" in pod "crash" is waiting to start: (image can't be pulled|trying and failing to pull image)/);
    const noPrev = await kubectl(['logs', 'crash', '-c', 'nopull', '--previous']);
    assert.match(noPrev.stderr, /previous terminated container "nopull" in pod "crash" not found/);
    const which = await kubectl(['logs', 'crash']);
    assert.equal(which.code, 0, 'kubectl picks the first container itself');
    await client.pods.delete(NS, 'crash', { gracePeriodSeconds: 0 });
  });

  it('kubectl exec runs a command; -i passes stdin; exit codes come back', async () => {
    assert.equal(await k('exec', 'web', '-c', 'web', '--', 'hostname'), 'web\n');
    const cat = await kubectl(['exec', '-i', 'web', '-c', 'web', '--', 'cat'], 'hello stdin\nsecond line\n');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'hello stdin\nsecond line\n');
    const fail = await kubectl(['exec', 'web', '-c', 'web', '--', 'sh', '-c', 'echo to-err >&2; exit 3']);
    assert.equal(fail.code, 3);
    assert.equal(fail.stderr.split('\n')[0], 'to-err');
    const bad = await kubectl(['exec', 'web', '-c', 'nope', '--', 'true']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /container nope is not valid for pod web/);
  });

  it('@kubernetes/client-node Exec: WebSocket, negotiated to v5.channel.k8s.io (translated to SPDY by the API server)', async () => {
    const { KubeConfig, Exec } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => (text += d));
    const status = await new Promise<KObject>((resolve, reject) => {
      new Exec(kc)
        .exec(NS, 'web', 'web', ['sh', '-c', 'echo via-client-node'], out, null, null, false, (st) => resolve(st as KObject))
        .then((ws) => assert.equal(ws.protocol, 'v5.channel.k8s.io'), reject);
    });
    assert.equal(status.status, 'Success');
    await waitUntil(() => text === 'via-client-node\n', 'client-node exec output', 5000, 20);
  });

  it('kubectl cp copies into and out of the container', async () => {
    const src = join(dir, 'upload.txt');
    const content = 'line one\n' + 'x'.repeat(100_000) + '\nend\n';
    writeFileSync(src, content);
    await k('cp', src, `${NS}/web:/tmp/upload.txt`, '-c', 'web');
    assert.equal(await k('exec', 'web', '-c', 'web', '--', 'wc', '-c', '/tmp/upload.txt'), `${content.length} /tmp/upload.txt\n`);
    const back = join(dir, 'download.txt');
    await k('cp', `${NS}/web:/tmp/upload.txt`, back, '-c', 'web');
    assert.equal(readFileSync(back, 'utf8'), content);
  });

  it('kubectl attach reads the output of the running container', async () => {
    const bg = spawnKubectl(kubeconfig, ['attach', 'web', '-c', 'ticker']);
    try {
      await bg.waitForOutput(/tick \d+\n/, 10_000);
    } finally {
      await bg.kill();
    }
  });

  it('pods/proxy reaches the pod port; nodes/proxy reaches the kubelet', async () => {
    assert.equal(await k('get', '--raw', `/api/v1/namespaces/${NS}/pods/web:8080/proxy/index.html`), 'hello-from-web\n');
    assert.equal(await k('get', '--raw', `/api/v1/nodes/${NODE}/proxy/healthz`), 'ok');
    const list = JSON.parse(await k('get', '--raw', `/api/v1/nodes/${NODE}/proxy/pods`));
    assert.equal(list.kind, 'PodList');
  });

  it('kubectl port-forward serves the pod port on localhost', async () => {
    const local = await freePort();
    const bg = spawnKubectl(kubeconfig, ['port-forward', 'pod/web', `${local}:8080`]);
    try {
      await bg.waitForOutput(/Forwarding from 127\.0\.0\.1:\d+ -> 8080/, 15_000);
      for (let i = 0; i < 3; i++) {
        const body = await new Promise<string>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port: local, path: '/', agent: false, timeout: 5000 }, (res) => {
              let b = '';
              res.on('data', (d) => (b += d));
              res.on('end', () => resolve(b));
            })
            .on('error', reject);
        });
        assert.equal(body, 'hello-from-web\n');
      }
    } catch (e) {
      throw new Error(`${(e as Error).message}; kubectl port-forward said: ${bg.stderr()}${bg.output()}`);
    } finally {
      await bg.kill();
    }
  });
});
