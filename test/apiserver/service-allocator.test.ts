// Cluster IP and NodePort allocation: uniqueness, requested values, release, repair on restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStore } from '../../src/storage/memory.js';
import { ServiceAllocator, parseCidr, firstServiceIP, ipToNumber } from '../../src/apiserver/service-allocator.js';
import { ApiError } from '../../src/apiserver/errors.js';

const svc = (name: string, spec: any = {}) => ({ metadata: { name, namespace: 'default' }, spec: { type: 'ClusterIP', ports: [{ port: 80 }], ...spec } });

test('CIDR parsing and the kubernetes service IP', () => {
  const c = parseCidr('10.96.0.0/12');
  assert.equal(c.size, 2 ** 20);
  assert.equal(firstServiceIP(c), '10.96.0.1');
  assert.equal(firstServiceIP(parseCidr('10.43.7.9/16')), '10.43.0.1');
  assert.throws(() => parseCidr('10.0.0.0/33'));
});

test('allocations are unique, requested ones honoured or rejected, and released', async () => {
  const store = new MemoryStore();
  const a = new ServiceAllocator(store, parseCidr('10.0.0.0/29'), { min: 30000, max: 30002 }); // 5 usable IPs
  await a.start([]);
  const ips = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const s = svc(`s${i}`);
    await a.allocate(s, undefined, false);
    assert.ok(!ips.has(s.spec.clusterIP));
    ips.add(s.spec.clusterIP);
    const n = ipToNumber(s.spec.clusterIP)!;
    assert.ok(n >= ipToNumber('10.0.0.2')! && n <= ipToNumber('10.0.0.6')!);
  }
  await assert.rejects(a.allocate(svc('full'), undefined, false), (e: unknown) => e instanceof ApiError && e.code === 422);
  const first = [...ips][0];
  await a.release(svc('x', { clusterIP: first, clusterIPs: [first] }), undefined);
  const again = svc('again', { clusterIP: first });
  await a.allocate(again, undefined, false);
  assert.equal(again.spec.clusterIP, first);
  await assert.rejects(a.allocate(svc('dup', { clusterIP: first }), undefined, false), /already allocated/);
  await assert.rejects(a.allocate(svc('out', { clusterIP: '192.168.0.1' }), undefined, false), /not in the valid range/);

  const np = svc('np', { type: 'NodePort', ports: [{ port: 80 }, { port: 81, nodePort: 30001 }] , clusterIP: 'None'});
  await a.allocate(np, undefined, false);
  assert.notEqual(np.spec.ports[0].nodePort, 30001);
  await assert.rejects(a.allocate(svc('np2', { type: 'NodePort', clusterIP: 'None', ports: [{ port: 80, nodePort: 30001 }] }), undefined, false), /provided port is already allocated/);
});

test('a failed write rolls back; restart repairs leaked keys', async () => {
  const store = new MemoryStore();
  const a = new ServiceAllocator(store, parseCidr('10.0.0.0/29'));
  await a.start([]);
  const s = svc('s', { clusterIP: '10.0.0.3' });
  const rollback = await a.allocate(s, undefined, false);
  await rollback();
  await a.allocate(svc('t', { clusterIP: '10.0.0.3' }), undefined, false);
  // A fresh allocator (restart) where only service "u" exists: t's key is released.
  const b = new ServiceAllocator(store, parseCidr('10.0.0.0/29'));
  await b.start([svc('u', { clusterIP: '10.0.0.4', clusterIPs: ['10.0.0.4'] })]);
  await b.allocate(svc('v', { clusterIP: '10.0.0.3' }), undefined, false);
  await assert.rejects(b.allocate(svc('w', { clusterIP: '10.0.0.4' }), undefined, false), /already allocated/);
});
