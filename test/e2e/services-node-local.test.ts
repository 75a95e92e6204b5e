// Services e2e, node-local paths: the API server keeps Endpoints and EndpointSlice `kubernetes`
// (so a pod reaches https://kubernetes.default.svc through the proxy), and a NodePort answers
// on 127.0.0.1 from the node, as with upstream kube-proxy in iptables mode. The server binds
// 0.0.0.0 here so its advertise address (the host's primary IPv4) is reachable from pods.
// Needs root, containerd, runc, busybox-static, iptables; holds the node e2e lock.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { credentials, fixture, makeClient, waitUntil, hostGet } from './util.js';
import { nodeE2eSkipReason, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';
import { primaryIPv4 } from '../../src/kubelet/node/host-info.js';

const skip = nodeE2eSkipReason();

describe('services: kubernetes.default.svc from a pod, NodePort on localhost', { skip, timeout: 240_000 }, () => {
  let c: NodeCluster;
  let api: ReturnType<typeof makeClient>;
  let apiPort: number;
  let netnsBefore: Set<string>;
  const netnsNames = () =>
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => l.split(' ')[0])
      .filter(Boolean);

  before(async () => {
    c = await startNodeCluster({ nodeName: 'skiff-svc-local', extraArgs: ['--bind-address', '0.0.0.0'] });
    api = makeClient(credentials(c.server.kubeconfig));
    apiPort = Number(new URL(c.server.url).port);
    netnsBefore = new Set(netnsNames());
    await c.server.k('apply', '-f', fixture('services/web.yaml'), '-f', fixture('services/client.yaml'));
    await c.server.k('rollout', 'status', 'deployment/web', '--timeout=90s');
    await c.server.k('wait', '--for=condition=Ready', 'pod/client', '--timeout=90s');
  });

  after(async () => {
    api?.close();
    if (!c) return;
    const report = await c.cleanup();
    assert.deepEqual(report.errors, [], 'cleanup errors');
  });

  test('Endpoints and EndpointSlice kubernetes point at the advertise address and HTTPS port, and come back when deleted', async () => {
    const want = primaryIPv4() ?? '127.0.0.1';
    const ep = (await api.request('GET', '/api/v1/namespaces/default/endpoints/kubernetes')).json();
    assert.deepEqual(ep.subsets, [{ addresses: [{ ip: want }], ports: [{ name: 'https', port: apiPort, protocol: 'TCP' }] }]);
    assert.equal(ep.metadata.labels['endpointslice.kubernetes.io/skip-mirror'], 'true');
    const sl = (await api.request('GET', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes')).json();
    assert.equal(sl.metadata.labels['kubernetes.io/service-name'], 'kubernetes');
    assert.deepEqual(sl.endpoints.map((e: any) => [e.addresses, e.conditions.ready]), [[[want], true]]);
    assert.deepEqual(sl.ports, [{ name: 'https', port: apiPort, protocol: 'TCP' }]);
    await c.server.k('delete', 'endpoints', 'kubernetes');
    await waitUntil(async () => (await api.request('GET', '/api/v1/namespaces/default/endpoints/kubernetes')).status === 200, 'Endpoints kubernetes recreated', 20_000, 500);
  });

  test('a pod reaches kubernetes.default.svc:443 through the proxy, and the API server answers HTTPS there', async () => {
    // busybox's static wget crashes on this image, so: a TCP connect by name from the pod
    // (cluster DNS + the proxy's DNAT to the advertise address)...
    const out = await waitUntil(async () => {
      const r = await c.server.kubectl(['exec', 'client', '--', 'sh', '-c', 'nc -w 3 kubernetes.default.svc 443 </dev/null; echo rc=$?']);
      return r.stdout.includes('rc=0') ? r.stdout : undefined;
    }, 'a TCP connection to kubernetes.default.svc:443 from the pod', 30_000, 1000);
    assert.match(out, /rc=0/);
    // ...and a real HTTPS request from the pod's network namespace to the cluster IP.
    const podIP = (await c.server.k('get', 'pod', 'client', '-o', 'jsonpath={.status.podIP}')).trim();
    const ns = netnsNames().find((n) => !netnsBefore.has(n) && spawnSync('ip', ['netns', 'exec', n, 'ip', '-4', '-o', 'addr'], { encoding: 'utf8' }).stdout.includes(` ${podIP}/`));
    assert.ok(ns, `no network namespace holds ${podIP}`);
    const script = `require('https').get({ host: '10.96.0.1', port: 443, path: '/version', servername: 'kubernetes.default.svc', rejectUnauthorized: false, timeout: 5000 }, (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => console.log(r.statusCode, b)); }).on('error', (e) => { console.log('ERR', e.message); });`;
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8', timeout: 15_000 });
    assert.match(r.stdout, /^(200 .*gitVersion|40[13] )/, r.stdout + r.stderr);
  });

  test('a NodePort answers on 127.0.0.1 from the node', async () => {
    const nodePort = Number(await c.server.k('get', 'svc', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}'));
    const pods = (await api.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb')).json().items.map((p: any) => p.metadata.name);
    const name = await waitUntil(async () => (await hostGet('127.0.0.1', nodePort, '/hostname').catch(() => '')).trim(), `127.0.0.1:${nodePort}`, 15_000, 200);
    assert.ok(pods.includes(name), `${name} is not a web pod (${pods})`);
    for (let i = 0; i < 5; i++) assert.ok(pods.includes((await hostGet('127.0.0.1', nodePort, '/hostname')).trim()));
  });
});
