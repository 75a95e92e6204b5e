// Node IPAM controller: unique pod CIDRs from the cluster CIDR, rebuilt on restart, reused after
// node deletion, CIDRNotAvailable when the range is full.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startControllerEnv as startEnv, waitForIgnoringErrors as waitFor, type ControllerEnv as Env } from './harness.js';
import { NodeIpamController } from '../../src/controllers/nodeipam/controller.js';
import { CIDRSet } from '../../src/controllers/nodeipam/cidr-set.js';

let env: Env;
before(async () => {
  env = await startEnv([new NodeIpamController()], { clusterCIDR: '10.42.0.0/16', nodeCIDRMaskSize: 24 });
});
after(async () => {
  await env.close();
});

async function cidrs(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of (await env.client.nodes.list()).items) if (n.spec?.podCIDR) out.set(n.metadata!.name!, n.spec.podCIDR);
  return out;
}

test('50 nodes get unique /24s from the cluster CIDR; a deleted node\'s CIDR is reused', async () => {
  await Promise.all(Array.from({ length: 50 }, (_, i) => env.client.nodes.create(null, { metadata: { name: `n-${i}` } })));
  const all = await waitFor(async () => {
    const m = await cidrs();
    return m.size === 50 && m;
  }, 15_000, '50 pod CIDRs');
  const values = [...all.values()];
  assert.equal(new Set(values).size, 50, 'no duplicates');
  for (const c of values) assert.match(c, /^10\.42\.\d{1,3}\.0\/24$/);
  const n0 = await env.client.nodes.get(null, 'n-0');
  assert.deepEqual(n0.spec!.podCIDRs, [n0.spec!.podCIDR]);

  // Free two, add two: the freed blocks are handed out again (the range is not exhausted, so
  // reuse is only guaranteed once it wraps; check they are free to take instead).
  const freed = [all.get('n-3')!, all.get('n-7')!];
  await env.client.nodes.delete(null, 'n-3');
  await env.client.nodes.delete(null, 'n-7');
  await waitFor(async () => !(await cidrs()).has('n-3') && !(await cidrs()).has('n-7'), 5_000, 'deleted');
  await env.client.nodes.create(null, { metadata: { name: 'late-1' } });
  const late = await waitFor(async () => (await cidrs()).get('late-1'), 10_000, 'late-1 CIDR');
  assert.ok(!values.includes(late) || freed.includes(late), 'no CIDR of a live node');
});

test('a small range: full → CIDRNotAvailable; a deletion frees a block for the waiting node', async () => {
  const small = await startEnv([new NodeIpamController()], { clusterCIDR: '10.99.0.0/30', nodeCIDRMaskSize: 31 });
  try {
    await small.client.nodes.create(null, { metadata: { name: 'a' } });
    await small.client.nodes.create(null, { metadata: { name: 'b' } });
    await waitFor(async () => (await small.client.nodes.list()).items.filter((n) => n.spec?.podCIDR).length === 2, 10_000, 'two CIDRs');
    await small.client.nodes.create(null, { metadata: { name: 'c' } });
    await waitFor(async () => {
      const evs = (await small.client.coreEvents.list('default')).items;
      return evs.some((e) => e.reason === 'CIDRNotAvailable' && e.involvedObject?.name === 'c');
    }, 10_000, 'CIDRNotAvailable event');
    const bCidr = (await small.client.nodes.get(null, 'b')).spec!.podCIDR;
    await small.client.nodes.delete(null, 'b');
    const c = await waitFor(async () => (await small.client.nodes.get(null, 'c')).spec?.podCIDR, 3_000, 'c gets the freed block at once');
    assert.equal(c, bCidr);
  } finally {
    await small.close();
  }
});

test('on start the used set is rebuilt from the nodes', async () => {
  const bare = await startEnv([]);
  try {
    // Blocks the allocator would hand out first are already taken by existing nodes.
    await bare.client.nodes.create(null, { metadata: { name: 'old-0' }, spec: { podCIDR: '10.42.0.0/24', podCIDRs: ['10.42.0.0/24'] } });
    await bare.client.nodes.create(null, { metadata: { name: 'old-1' }, spec: { podCIDR: '10.42.1.0/24', podCIDRs: ['10.42.1.0/24'] } });
    await bare.run([new NodeIpamController()]);
    await bare.client.nodes.create(null, { metadata: { name: 'new-0' } });
    await bare.client.nodes.create(null, { metadata: { name: 'new-1' } });
    const got = await waitFor(async () => {
      const items = (await bare.client.nodes.list()).items;
      const c = items.filter((n) => n.metadata!.name!.startsWith('new-')).map((n) => n.spec?.podCIDR);
      return c.every(Boolean) && c.length === 2 && c;
    }, 10_000, 'new nodes allocated');
    for (const c of got) assert.ok(!['10.42.0.0/24', '10.42.1.0/24'].includes(c), `${c} was taken`);
    assert.notEqual(got[0], got[1]);
  } finally {
    await bare.close();
  }
});

test('CIDRSet (unit): round robin, occupy, release, full', () => {
  const s = new CIDRSet('10.0.0.0/22', 24);
  assert.equal(s.capacity, 4);
  assert.equal(s.allocateNext(), '10.0.0.0/24');
  assert.ok(s.occupy('10.0.1.0/24'));
  assert.equal(s.allocateNext(), '10.0.2.0/24');
  assert.equal(s.allocateNext(), '10.0.3.0/24');
  assert.throws(() => s.allocateNext(), /no remaining CIDRs/);
  s.release('10.0.1.0/24');
  assert.equal(s.allocateNext(), '10.0.1.0/24');
  assert.equal(s.occupy('10.1.0.0/24'), false);
  assert.equal(s.occupy('10.0.0.0/25'), false);
});
