// The proxy against real iptables and real TCP traffic, all inside private network namespaces
// made by the test (see netns-harness.ts): cluster IP spread, hairpin, NodePort, external
// traffic policy Local, ClientIP affinity, fast REJECT without endpoints, incremental syncs,
// a restart that keeps established connections, and cleanup.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { Proxier } from '../../src/proxy/proxier.js';
import { cleanupProxyRules } from '../../src/proxy/cleanup.js';
import { Iptables } from '../../src/proxy/iptables.js';
import { createTestNet, netnsUnavailable, EXT_CLIENT_IP, NODE_BRIDGE_IP, NODE_EXT_IP, type TestNet, type ConnResult } from './netns-harness.js';
import { service, slice, type Ep } from './fixtures.js';

const skip = netnsUnavailable();
if (skip) process.stdout.write(`# skipping proxy netns tests: ${skip}\n`);

const CLUSTER_IP = '10.96.0.10';
const SKIFF_BIN = fileURLToPath(new URL('../../../bin/skiff', import.meta.url));
const NODE_PORT = 30080;

function names(rs: ConnResult[]): Set<string> {
  return new Set(rs.filter((r) => r.ok).map((r) => r.data!.split(' ')[0]));
}

describe('proxy in network namespaces', { skip }, () => {
  let net: TestNet;
  let proxier: Proxier;
  let eps: Ep[];

  const newProxier = () => {
    const p = new Proxier({ nodeName: 'node-a', runner: net.runner, minSyncPeriodMs: 0, fullSyncPeriodMs: 0 });
    return p;
  };
  const setEndpoints = (list: Ep[], name = 'web') => proxier.onEndpointSlice(slice(name, list));
  const ipt = () => new Iptables(net.runner);

  before(async () => {
    net = await createTestNet(3);
    eps = net.pods.map((p) => ({ ip: p.ip, node: 'node-a' }));
    proxier = newProxier();
    proxier.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    setEndpoints(eps);
    proxier.setSynced('services');
    proxier.setSynced('endpointslices');
    const r = await proxier.syncNow();
    assert.equal(r.full, true);
  });

  after(async () => {
    await proxier?.stop();
    await net?.teardown();
  });

  test('cluster IP from the node spreads over all endpoints', async () => {
    const rs = await net.connect(net.node, CLUSTER_IP, 80, 40);
    assert.ok(rs.every((r) => r.ok), JSON.stringify(rs.filter((r) => !r.ok)));
    assert.deepEqual(names(rs), new Set(['pod1', 'pod2', 'pod3']));
    // The node's own address (the bridge, inside the cluster CIDR) is kept as the source.
    assert.ok(rs.every((r) => r.data!.endsWith(` ${NODE_BRIDGE_IP}`)));
  });

  test('cluster IP from a pod: spread, pod source kept, hairpin to itself masqueraded', async () => {
    const p1 = net.pods[0];
    const rs = await net.connect(p1.ns, CLUSTER_IP, 80, 40);
    assert.ok(rs.every((r) => r.ok), JSON.stringify(rs.filter((r) => !r.ok)));
    assert.deepEqual(names(rs), new Set(['pod1', 'pod2', 'pod3']));
    for (const r of rs) {
      const [who, src] = r.data!.split(' ');
      // Reaching itself it must see the node's address, or it would reply to itself directly.
      assert.equal(src, who === 'pod1' ? NODE_BRIDGE_IP : p1.ip, r.data);
    }
  });

  test('NodePort on the node address, from outside: masqueraded (Cluster policy)', async () => {
    const rs = await net.connect(net.ext, NODE_EXT_IP, NODE_PORT, 20);
    assert.ok(rs.every((r) => r.ok), JSON.stringify(rs.filter((r) => !r.ok)));
    assert.ok(names(rs).size >= 2);
    assert.ok(rs.every((r) => r.data!.endsWith(` ${NODE_BRIDGE_IP}`)));
    // And from the node itself to its own address.
    const own = await net.connect(net.node, NODE_EXT_IP, NODE_PORT, 5);
    assert.ok(own.every((r) => r.ok), JSON.stringify(own));
  });

  test('NodePort on 127.0.0.1 from the node (route_localnet), masqueraded to the bridge address', async () => {
    const rs = await net.connect(net.node, '127.0.0.1', NODE_PORT, 10);
    assert.ok(rs.every((r) => r.ok), JSON.stringify(rs.filter((r) => !r.ok)));
    assert.ok(rs.every((r) => r.data!.endsWith(` ${NODE_BRIDGE_IP}`)), JSON.stringify(rs));
    const save = (await net.runner.run('iptables-save', ['-t', 'filter'])).stdout;
    assert.match(save, /-A SKIFF-FIREWALL ! -s 127\.0\.0\.0\/8 -d 127\.0\.0\.0\/8 .*block incoming localnet connections.* -j DROP/);
  });

  test('externalTrafficPolicy Local: only local endpoints, client address preserved', async () => {
    proxier.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    setEndpoints([{ ip: net.pods[0].ip, node: 'node-a' }, { ip: net.pods[1].ip, node: 'node-b' }, { ip: net.pods[2].ip, node: 'node-b' }]);
    const r = await proxier.syncNow();
    assert.equal(r.full, false);
    const rs = await net.connect(net.ext, NODE_EXT_IP, NODE_PORT, 15);
    assert.ok(rs.every((x) => x.ok), JSON.stringify(rs));
    assert.deepEqual(names(rs), new Set(['pod1']));
    assert.ok(rs.every((x) => x.data === `pod1 ${EXT_CLIENT_IP}`), JSON.stringify(rs));
    // The cluster IP still reaches every endpoint.
    assert.equal(names(await net.connect(net.node, CLUSTER_IP, 80, 40)).size, 3);
    proxier.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    setEndpoints(eps);
    await proxier.syncNow();
  });

  test('ClientIP session affinity sticks to one endpoint', async () => {
    proxier.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, sessionAffinity: 'ClientIP', affinityTimeout: 300, ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    await proxier.syncNow();
    const fromPod = await net.connect(net.pods[2].ns, CLUSTER_IP, 80, 15);
    assert.ok(fromPod.every((r) => r.ok));
    assert.equal(names(fromPod).size, 1, JSON.stringify(fromPod));
    const fromExt = await net.connect(net.ext, NODE_EXT_IP, NODE_PORT, 10);
    assert.equal(names(fromExt).size, 1, JSON.stringify(fromExt));
    proxier.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    await proxier.syncNow();
  });

  test('incremental sync: scaling down deletes the endpoint chains; to zero, connections are refused fast', async () => {
    setEndpoints([{ ip: net.pods[1].ip, node: 'node-a' }]);
    const r = await proxier.syncNow();
    assert.equal(r.full, false);
    assert.equal(r.rules.deletedChains, 2);
    const saved = (await ipt().save('nat')).get('nat')!;
    assert.equal([...saved.chains].filter((c) => c.startsWith('SKIFF-SEP-')).length, 1);
    assert.deepEqual(names(await net.connect(net.node, CLUSTER_IP, 80, 10)), new Set(['pod2']));

    setEndpoints([]);
    const r0 = await proxier.syncNow();
    assert.equal(r0.rules.activeChains.size, 0);
    const nat = (await ipt().save('nat')).get('nat')!;
    assert.deepEqual([...nat.chains].filter((c) => c.startsWith('SKIFF-SVC-') || c.startsWith('SKIFF-SEP-') || c.startsWith('SKIFF-EXT-')), []);
    for (const [ns, host, port] of [
      [net.node, CLUSTER_IP, 80],
      [net.pods[0].ns, CLUSTER_IP, 80],
      [net.ext, NODE_EXT_IP, NODE_PORT],
    ] as const) {
      const rs = await net.connect(ns, host, port, 3);
      for (const x of rs) {
        assert.equal(x.ok, false, `${ns} -> ${host}:${port}`);
        assert.equal(x.err, 'ECONNREFUSED', `${ns} -> ${host}:${port}: ${x.err}`);
        assert.ok(x.ms < 1000, `refused after ${x.ms} ms`);
      }
    }
    setEndpoints(eps);
    await proxier.syncNow();
    assert.equal(names(await net.connect(net.node, CLUSTER_IP, 80, 30)).size, 3);
  });

  test('a restarted proxy reconciles in one full sync and established connections keep working', async () => {
    const conn = await net.persistent(net.pods[0].ns, CLUSTER_IP, 80);
    assert.equal(await conn.send('before'), 'before');
    // A stale chain left behind by an earlier run, and a missing jump rule, are both fixed.
    await ipt().restore('*nat\n:SKIFF-SEP-STALECHAIN00000 - [0:0]\n-D PREROUTING -m comment --comment "skiff service portals" -j SKIFF-SERVICES\nCOMMIT\n');
    await proxier.stop();
    proxier = newProxier();
    proxier.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    setEndpoints(eps);
    proxier.setSynced('services');
    proxier.setSynced('endpointslices');
    const r = await proxier.syncNow();
    assert.equal(r.full, true);
    assert.equal(r.rules.deletedChains, 1);
    const nat = (await ipt().save('nat')).get('nat')!;
    assert.ok(!nat.chains.has('SKIFF-SEP-STALECHAIN00000'));
    assert.equal(nat.rules.filter((l) => l.startsWith('-A PREROUTING ') && l.endsWith('-j SKIFF-SERVICES')).length, 1);
    assert.equal(nat.rules.filter((l) => l.startsWith('-A OUTPUT ') && l.endsWith('-j SKIFF-SERVICES')).length, 1, 'jump rules are not duplicated');
    assert.equal(await conn.send('after'), 'after');
    conn.close();
    // Pods' traffic (PREROUTING) works again.
    assert.equal(names(await net.connect(net.pods[1].ns, CLUSTER_IP, 80, 30)).size, 3);
  });

  test('cleanup removes every SKIFF- chain and jump rule', async () => {
    await proxier.stop();
    const res = await cleanupProxyRules({ runner: net.runner });
    assert.ok(res.chains >= 8 && res.jumps === 11, JSON.stringify(res));
    const r = await net.runner.run('iptables-save', []);
    assert.equal(r.code, 0);
    assert.ok(!r.stdout.includes('SKIFF-'), r.stdout);
    // Idempotent.
    assert.deepEqual(await cleanupProxyRules({ runner: net.runner }), { chains: 0, jumps: 0 });
  });

  test('`skiff proxy --cleanup` removes the rules of a running setup and exits', async () => {
    const p = newProxier();
    p.onService(service('web', { type: 'NodePort', clusterIP: CLUSTER_IP, ports: [{ name: 'http', port: 80, nodePort: NODE_PORT }] }));
    p.onEndpointSlice(slice('web', eps));
    p.setSynced('services');
    p.setSynced('endpointslices');
    await p.syncNow();
    await p.stop();
    assert.ok((await net.runner.run('iptables-save', [])).stdout.includes('SKIFF-SEP-'));
    const r = await net.runner.run(process.execPath, [SKIFF_BIN, 'proxy', '--cleanup']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /iptables-nft: removed \d+ chains and 11 jump rules/);
    const after = await net.runner.run('iptables-save', []);
    assert.ok(!after.stdout.includes('SKIFF-'), after.stdout);
    const legacy = await net.runner.run('iptables-legacy-save', []);
    assert.ok(!legacy.stdout.includes('SKIFF-'));
  });
});
