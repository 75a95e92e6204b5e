// startProxy against a real API server (in this process): informers feed the proxier, changes
// are coalesced into few restores, each sync is one iptables-restore, and only changed
// services' chains are rewritten. iptables itself is a recording fake here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, eventually } from '../client/harness.js';
import { startProxy, type CommandRunner } from '../../src/proxy/index.js';
import { portProtoHash } from '../../src/proxy/chains.js';
import { service, slice } from './fixtures.js';

function recordingRunner() {
  const restores: string[] = [];
  let saves = 0;
  const runner: CommandRunner = {
    async run(cmd, args, input) {
      if (cmd.endsWith('-save')) {
        saves++;
        const table = args[1];
        return { code: 0, stdout: `*${table}\n:SKIFF-SVC-OLDSTALECHAIN0001 - [0:0]\nCOMMIT\n`, stderr: '' };
      }
      if (cmd.endsWith('-restore')) {
        assert.deepEqual(args, ['--noflush', '--wait=5']);
        restores.push(input ?? '');
        return { code: 0, stdout: '', stderr: '' };
      }
      return { code: 1, stdout: '', stderr: `unexpected ${cmd}` };
    },
  };
  return { runner, restores, saves: () => saves };
}

const declaredNat = (text: string) =>
  text
    .split('*nat\n')[1]
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0]);

test('startProxy: informers drive coalesced, incremental syncs', async () => {
  const h = await startHarness();
  const client = h.client('in-process', { qps: 0 });
  const rec = recordingRunner();
  const create = async (obj: any) => {
    const r = obj.kind === 'Service' ? client.services : client.endpointSlices;
    const { status: _s, ...body } = obj;
    delete body.metadata.resourceVersion;
    if (body.spec?.clusterIP === '') delete body.spec.clusterIP;
    return r.create(obj.metadata.namespace, body);
  };
  try {
    const web = (await create(service('web', { clusterIP: '' }))) as any;
    await create(slice('web', [{ ip: '10.42.0.5' }]));
    await create(service('headless', { clusterIP: 'None' }));
    const proxy = await startProxy({ client, nodeName: 'node-a', runner: rec.runner, iptables: 'iptables', minSyncPeriodMs: 200, fullSyncPeriodMs: 0, log: () => {} });
    await proxy.firstSync;
    assert.equal(rec.restores.length, 1);
    assert.equal(rec.saves(), 2, 'the first sync is full: it reads both tables');
    const first = rec.restores[0];
    const svcChain = `SKIFF-SVC-${portProtoHash('default/web:http', 'tcp')}`;
    assert.match(first, new RegExp(`-A SKIFF-SERVICES -d ${web.spec.clusterIP}/32 -p tcp -m tcp --dport 80 .* -j ${svcChain}`));
    assert.ok(first.includes('-X SKIFF-SVC-OLDSTALECHAIN0001'), 'stale chains from before the restart are deleted');
    assert.ok(first.includes('-I PREROUTING -m comment --comment "skiff service portals" -j SKIFF-SERVICES'));

    // A burst of changes becomes one incremental sync.
    for (let i = 0; i < 5; i++) await create(service(`api${i}`, { clusterIP: '' }));
    await eventually(() => rec.restores.length >= 2, 5000, 'second sync');
    await new Promise((r) => setTimeout(r, 400));
    assert.ok(rec.restores.length <= 3, `coalesced into ${rec.restores.length - 1} syncs`);
    assert.equal(rec.saves(), 2, 'incremental syncs do not read iptables');
    const all = rec.restores.slice(1).join('\n');
    for (let i = 0; i < 5; i++) assert.match(all, new RegExp(`default/api${i}:http has no endpoints`));

    // An endpoint change rewrites only that service's chains.
    const before = rec.restores.length;
    await create(slice('api0', [{ ip: '10.42.0.9' }]));
    await eventually(() => rec.restores.length > before, 5000, 'endpoint sync');
    const inc = rec.restores[rec.restores.length - 1];
    const api0 = `SKIFF-SVC-${portProtoHash('default/api0:http', 'tcp')}`;
    assert.ok(declaredNat(inc).includes(api0));
    assert.ok(!declaredNat(inc).includes(svcChain), 'unchanged web chains are not rewritten');
    assert.ok(inc.includes(`-j ${svcChain}`), 'but web is still reachable from SKIFF-SERVICES');

    // Deleting a service deletes its chains.
    const n = rec.restores.length;
    await client.services.delete('default', 'api0');
    await eventually(() => rec.restores.length > n, 5000, 'delete sync');
    assert.ok(rec.restores[rec.restores.length - 1].includes(`-X ${api0}`));

    await proxy.stop();
    const after = rec.restores.length;
    await create(service('late', { clusterIP: '' }));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(rec.restores.length, after, 'no syncs after stop');
  } finally {
    await h.close();
  }
});

test('a failed restore is retried as a full sync', async () => {
  let fail = true;
  const restores: string[] = [];
  let saves = 0;
  const runner: CommandRunner = {
    async run(cmd, _args, input) {
      if (cmd.endsWith('-save')) {
        saves++;
        return { code: 0, stdout: '', stderr: '' };
      }
      restores.push(input ?? '');
      if (fail) {
        fail = false;
        return { code: 2, stdout: '', stderr: 'iptables-restore: line 3 failed' };
      }
      return { code: 0, stdout: '', stderr: '' };
    },
  };
  const { Proxier } = await import('../../src/proxy/proxier.js');
  const errors: string[] = [];
  const p = new Proxier({ nodeName: 'n', runner, iptables: 'iptables-legacy', localhostNodePorts: false, minSyncPeriodMs: 0, retryPeriodMs: 50, fullSyncPeriodMs: 0, log: (_l, m) => errors.push(m) });
  p.onService(service('web'));
  p.setSynced('services');
  p.setSynced('endpointslices');
  await p.firstSync;
  assert.equal(restores.length, 2);
  assert.match(errors[0], /line 3 failed[\s\S]*\n3: /, 'the error shows the failing line');
  assert.equal(p.lastResult?.full, true);
  assert.equal(saves, 4, 'both attempts were full syncs');
  await p.stop();
});
