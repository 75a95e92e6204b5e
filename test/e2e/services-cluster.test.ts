// Services acceptance with the real kubectl against `skiff server` and its agent: a busybox
// client pod reaches a 3-replica deployment through cluster DNS and the iptables proxy
// (ClusterIP spread, ClientIP affinity, a NodePort on the node's addresses, a headless
// Service in DNS), scaling to 0 rejects connections at once and scaling up restores them
// within 2 s of the new pods being Ready. Needs root, containerd, runc, busybox-static and
// iptables; one such test at a time on the machine (see test/helpers/node-cleanup.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { credentials, fixture, makeClient, spawnKubectl, waitUntil, hostGet } from './util.js';
import { nodeE2eSkipReason, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';

const skip = nodeE2eSkipReason();
const BRIDGE_GATEWAY = '10.42.0.1';

function iptablesSkiffLines(): string[] {
  const r = spawnSync('sh', ['-c', 'iptables-save 2>/dev/null; iptables-legacy-save 2>/dev/null'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes('SKIFF-'));
}

describe('services: ClusterIP, kube-proxy, NodePort and cluster DNS with real pods', { skip, timeout: 240_000 }, () => {
  let c: NodeCluster;
  let exec: (...cmd: string[]) => Promise<string>;
  let api: ReturnType<typeof makeClient>;

  /** Name and IP of each web pod that is Ready. */
  const readyWebPods = async (): Promise<Map<string, string>> => {
    const r = await api.request('GET', '/api/v1/namespaces/default/pods?labelSelector=app%3Dweb');
    const out = new Map<string, string>();
    for (const p of r.json().items ?? []) {
      const ready = (p.status?.conditions ?? []).some((x: any) => x.type === 'Ready' && x.status === 'True');
      if (ready && !p.metadata.deletionTimestamp) out.set(p.metadata.name, p.status.podIP);
    }
    return out;
  };

  before(async () => {
    c = await startNodeCluster({ nodeName: 'skiff-svc-node' });
    api = makeClient(credentials(c.server.kubeconfig));
    exec = async (...cmd) => c.server.k('exec', 'client', '--', ...cmd);
    await c.server.k('apply', '-f', fixture('services/web.yaml'), '-f', fixture('services/client.yaml'));
    await c.server.k('rollout', 'status', 'deployment/web', '--timeout=90s');
    await c.server.k('wait', '--for=condition=Ready', 'pod/client', '--timeout=90s');
    // The proxy syncs at most once a second: wait until every Service leads to every pod.
    const ips = [...(await readyWebPods()).values()];
    const wanted = ['web', 'web-sticky', 'web-nodeport'].flatMap((svc) => ips.map((ip) => `"default/${svc}:http -> ${ip}:8080"`));
    await waitUntil(() => {
      const save = iptablesSkiffLines().join('\n');
      return wanted.every((w) => save.includes(w));
    }, `proxy rules for ${wanted.join(', ')}`, 10_000, 100);
  });

  after(async () => {
    api?.close();
    if (!c) return;
    const report = await c.cleanup();
    assert.deepEqual(report.errors, [], 'cleanup errors');
    assert.deepEqual(report.podsLeft, [], 'pods still there after the cleanup wait');
    assert.deepEqual(iptablesSkiffLines(), [], 'SKIFF- rules left after skiff proxy --cleanup');
  });

  test('a pod reaches web.default.svc.cluster.local, spread across the replicas', async () => {
    const pods = await readyWebPods();
    assert.equal(pods.size, 3);
    const out = await exec('sh', '-c', 'for i in $(seq 30); do wget -qO- http://web.default.svc.cluster.local/hostname || echo FAILED; done');
    const names = out.split('\n').filter(Boolean);
    assert.equal(names.length, 30, out);
    for (const n of names) assert.ok(pods.has(n), `answer ${JSON.stringify(n)} is not a ready web pod (${[...pods.keys()]})`);
    const distinct = new Set(names);
    assert.ok(distinct.size >= 2, `30 requests all went to ${[...distinct]}`);
  });

  test('sessionAffinity: ClientIP sends one client to one pod', async () => {
    const out = await exec('sh', '-c', 'for i in $(seq 10); do wget -qO- http://web-sticky/hostname || echo FAILED; done');
    const names = out.split('\n').filter(Boolean);
    assert.equal(names.length, 10, out);
    assert.equal(new Set(names).size, 1, `affinity broke: ${names.join(', ')}`);
    assert.ok((await readyWebPods()).has(names[0]));
  });

  test('a headless Service resolves to every ready pod IP', async () => {
    const ips = [...(await readyWebPods()).values()].sort();
    const out = await exec('nslookup', 'web-headless.default.svc.cluster.local');
    // The first Address line is the DNS server's (10.96.0.10:53); the answers follow Name lines.
    const answers = out
      .split('Name:')
      .slice(1)
      .flatMap((block) => [...block.matchAll(/Address:\s*(\S+)/g)].map((m) => m[1]))
      .sort();
    assert.deepEqual([...new Set(answers)], ips, out);
  });

  test('a NodePort answers on the node InternalIP and on the bridge gateway', async () => {
    const nodePort = Number(await c.server.k('get', 'svc', 'web-nodeport', '-o', 'jsonpath={.spec.ports[0].nodePort}'));
    assert.ok(nodePort >= 30000 && nodePort <= 32767, String(nodePort));
    const internalIP = (await c.server.k('get', 'node', c.nodeName, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}')).trim();
    assert.match(internalIP, /^\d+\.\d+\.\d+\.\d+$/);
    const pods = await readyWebPods();
    for (const addr of [internalIP, BRIDGE_GATEWAY]) {
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await hostGet(addr, nodePort, '/hostname')).trim());
      for (const n of seen) assert.ok(pods.has(n), `${addr}:${nodePort} answered ${n}`);
    }
  });

  test('scaling to 0 rejects at once; scaling up serves again within 2 s of the pods being Ready', async () => {
    await c.server.k('scale', 'deployment/web', '--replicas=0');
    await waitUntil(async () => (await c.server.k('get', 'pods', '-l', 'app=web', '-o', 'name')).trim() === '', 'web pods gone', 60_000, 200);
    // The Service keeps its cluster IP with no endpoints: the proxy REJECTs with a TCP reset,
    // so the client fails at once instead of waiting out SYN retries.
    await waitUntil(() => iptablesSkiffLines().some((l) => l.includes('default/web:http has no endpoints')), 'the proxy to see no endpoints', 10_000, 100);
    // Busybox's `time` reports the wall time inside the pod (exec overhead excluded).
    const r = await c.server.kubectl(['exec', 'client', '--', 'sh', '-c', 'time timeout 5 wget -qO- http://web/hostname']);
    assert.notEqual(r.code, 0, `wget succeeded with 0 replicas: ${r.stdout}`);
    const real = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.stderr);
    assert.ok(real, r.stderr);
    const seconds = Number(real[1]) * 60 + Number(real[2]);
    assert.ok(seconds < 1, `wget took ${seconds} s to fail: ${r.stderr}`);
    assert.match(r.stderr, /refused/, 'a reset, not a timeout');

    // Scale up while a loop in the client retries every 100 ms, and time both on this host.
    const loop = spawnKubectl(c.server.kubeconfig, [
      'exec', 'client', '--', 'sh', '-c',
      'while true; do if timeout 2 wget -qO- http://web/hostname >/dev/null 2>&1; then echo ok; exit 0; fi; echo fail $(date +%s); usleep 100000; done',
    ]);
    try {
      await loop.waitForOutput(/fail/, 10_000);
      await c.server.k('scale', 'deployment/web', '--replicas=3');
      let okAt = 0;
      const okSeen = loop.waitForOutput(/ok/, 30_000).then(() => (okAt = Date.now()));
      const firstReadyAt = await waitUntil(async () => ((await readyWebPods()).size > 0 ? Date.now() : 0), 'a ready web pod', 60_000, 50);
      await okSeen.catch(async (e) => {
        const ps = await c.server.kubectl(['exec', 'client', '--', 'ps']);
        const direct = await c.server.kubectl(['exec', 'client', '--', 'sh', '-c', 'time timeout 5 wget -qO- http://web/hostname']);
        throw new Error(`${(e as Error).message}\nps: ${ps.stdout}${ps.stderr}\nwget: ${direct.code} ${direct.stdout} ${direct.stderr}\nrules:\n${iptablesSkiffLines().filter((l) => l.includes('default/web:')).join('\n')}`);
      });
      const lag = okAt - firstReadyAt;
      assert.ok(lag < 2000, `service answered ${lag} ms after the first pod was Ready`);
    } finally {
      await loop.kill();
    }
    await c.server.k('rollout', 'status', 'deployment/web', '--timeout=60s');
  });
});
