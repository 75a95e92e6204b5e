// Stale UDP conntrack entries: which `conntrack -D` filters a sync produces, and that the
// proxier runs them after applying the rules (the conntrack tool is faked here).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { staleUdpFilters, deleteConntrack } from '../../src/proxy/conntrack.js';
import { EndpointSliceCache } from '../../src/proxy/endpoints.js';
import { Proxier } from '../../src/proxy/proxier.js';
import { servicePorts } from '../../src/proxy/service-port.js';
import type { CommandRunner } from '../../src/proxy/runner.js';
import { service, slice, type Ep } from './fixtures.js';

const dns = (o: { nodePort?: number } = {}) =>
  service('dns', { type: o.nodePort ? 'NodePort' : 'ClusterIP', clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP', ...(o.nodePort ? { nodePort: o.nodePort } : {}) }] });
const dnsSlice = (eps: Ep[]) => slice('dns', eps, { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] });

function endpointsOf(eps: Ep[]) {
  const c = new EndpointSliceCache('node-a');
  c.update(dnsSlice(eps), false);
  return c.endpointsFor('default/dns');
}

test('an endpoint leaving a UDP service: its flows via the service addresses are deleted', () => {
  const ports = servicePorts(dns({ nodePort: 30053 }));
  const f = staleUdpFilters({ ports, endpoints: endpointsOf([{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }]) }, { ports, endpoints: endpointsOf([{ ip: '10.42.0.6' }]) });
  assert.deepEqual(f, [
    ['--orig-dst', '10.96.0.53', '-p', 'udp', '--orig-port-dst', '53', '--dst-nat', '10.42.0.5'],
    ['-p', 'udp', '--orig-port-dst', '30053', '--dst-nat', '10.42.0.5'],
  ]);
});

test('a UDP service getting its first endpoint: all its flows are deleted; TCP and unchanged services: nothing', () => {
  const ports = servicePorts(dns());
  assert.deepEqual(staleUdpFilters({ ports }, { ports, endpoints: endpointsOf([{ ip: '10.42.0.5' }]) }), [['--orig-dst', '10.96.0.53', '-p', 'udp', '--orig-port-dst', '53']]);
  const same = endpointsOf([{ ip: '10.42.0.5' }]);
  assert.deepEqual(staleUdpFilters({ ports, endpoints: same }, { ports, endpoints: endpointsOf([{ ip: '10.42.0.5' }]) }), []);
  // A not-ready endpoint no longer takes traffic: stale too.
  assert.equal(staleUdpFilters({ ports, endpoints: same }, { ports, endpoints: endpointsOf([{ ip: '10.42.0.5', ready: false, serving: false }]) }).length, 1);
  const tcp = servicePorts(service('web'));
  assert.deepEqual(staleUdpFilters({ ports: tcp }, { ports: tcp, endpoints: new Map() }), []);
  // The service deleted: its endpoints' flows go.
  assert.equal(staleUdpFilters({ ports, endpoints: same }, {}).length, 1);
});

test('deleteConntrack: "0 flow entries" is fine, a missing tool is reported once', async () => {
  const calls: string[][] = [];
  const ok: CommandRunner = { run: async (cmd, args) => (calls.push([cmd, ...args]), { code: 1, stdout: '', stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' }) };
  assert.deepEqual(await deleteConntrack(ok, [['-p', 'udp'], ['--orig-dst', '10.96.0.53']]), []);
  assert.deepEqual(calls, [['conntrack', '-D', '-p', 'udp'], ['conntrack', '-D', '--orig-dst', '10.96.0.53']]);
  const missing: CommandRunner = { run: async () => ({ code: 127, stdout: '', stderr: 'spawn conntrack ENOENT' }) };
  assert.equal((await deleteConntrack(missing, [['-p', 'udp'], ['-p', 'udp']])).length, 1);
});

test('the proxier deletes stale UDP flows after the restore that changed the endpoints', async () => {
  const log: string[] = [];
  const runner: CommandRunner = {
    run: async (cmd, args) => {
      log.push([cmd, ...args].join(' '));
      return { code: 0, stdout: cmd.endsWith('-save') ? '' : '', stderr: '' };
    },
  };
  const p = new Proxier({ nodeName: 'node-a', runner, iptables: 'iptables-legacy', localhostNodePorts: false, minSyncPeriodMs: 0, fullSyncPeriodMs: 0 });
  p.onService(dns());
  p.onEndpointSlice(dnsSlice([{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }]));
  p.setSynced('services');
  p.setSynced('endpointslices');
  await p.syncNow();
  // First sync: the service got endpoints, so flows made while it had none are dropped.
  assert.deepEqual(log.filter((l) => l.startsWith('conntrack')), ['conntrack -D --orig-dst 10.96.0.53 -p udp --orig-port-dst 53']);
  log.length = 0;
  p.onEndpointSlice(dnsSlice([{ ip: '10.42.0.6' }]));
  await p.syncNow();
  const restoreAt = log.findIndex((l) => l.startsWith('iptables-legacy-restore'));
  const ctAt = log.findIndex((l) => l.startsWith('conntrack'));
  assert.ok(restoreAt >= 0 && ctAt > restoreAt, log.join('\n'));
  assert.deepEqual(log.slice(ctAt), ['conntrack -D --orig-dst 10.96.0.53 -p udp --orig-port-dst 53 --dst-nat 10.42.0.5']);
  await p.stop();
});
