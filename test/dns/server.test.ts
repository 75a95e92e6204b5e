// Cluster DNS against a real in-process API server: services and EndpointSlices created through
// the client, queries through Node's resolver (c-ares) and raw dns-packet over UDP and TCP, and
// a fake upstream on 127.0.0.1 for everything outside the cluster domain.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver } from 'node:dns/promises';
import dnsPacket from 'dns-packet';
import { startHarness, type Harness } from '../client/harness.js';
import type { Client, KObject } from '../../src/client/index.js';
import { startDns, ensureKubeDnsService, kubeDnsServiceIP, type DnsServerHandle } from '../../src/dns/index.js';
import { decode, eventually, fakeUpstream, query, tcpQueries, udpQuery, udpRaw, type FakeUpstream } from './helpers.js';

let h: Harness;
let client: Client;
let dns: DnsServerHandle;
let upstream: FakeUpstream;
let port: number;
let resolver: Resolver;
let webIP: string;

const BIG = 60;

function service(name: string, spec: Record<string, unknown>, ns = 'default'): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec };
}

function slice(name: string, svc: string, endpoints: unknown[], ports: unknown[], ns = 'default'): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: ns, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    endpoints,
    ports,
  } as KObject;
}

before(async () => {
  h = await startHarness();
  client = h.client('in-process', { qps: 0 });
  const web = await client.services.create(
    'default',
    service('web', {
      selector: { app: 'web' },
      ports: [
        { name: 'http', port: 80, protocol: 'TCP' },
        { name: 'metrics', port: 9100, protocol: 'UDP' },
      ],
    }),
  );
  webIP = web.spec.clusterIP;
  await client.services.create('default', service('db', { clusterIP: 'None', selector: { app: 'db' }, ports: [{ name: 'pg', port: 5432 }] }));
  await client.endpointSlices.create(
    'default',
    slice(
      'db-a',
      'db',
      [
        { addresses: ['10.244.0.10'], hostname: 'db-0', conditions: { ready: true } },
        { addresses: ['10.244.0.11'], hostname: 'db-1', conditions: { ready: true } },
        { addresses: ['10.244.0.12'], hostname: 'db-2', conditions: { ready: false } },
      ],
      [{ name: 'pg', port: 5432, protocol: 'TCP' }],
    ),
  );
  await client.services.create('default', service('ext', { type: 'ExternalName', externalName: 'www.example.org' }));
  await client.services.create('default', service('big', { clusterIP: 'None', ports: [{ name: 'x', port: 1 }] }));
  await client.endpointSlices.create(
    'default',
    slice(
      'big-a',
      'big',
      Array.from({ length: BIG }, (_, i) => ({ addresses: [`10.245.${i >> 8}.${i & 255}`], conditions: { ready: true } })),
      [{ name: 'x', port: 1, protocol: 'TCP' }],
    ),
  );
  upstream = await fakeUpstream({ 'www.example.org': ['192.0.2.1'], 'upstream.test': ['192.0.2.7'] });
  dns = await startDns({ client, listen: [{ host: '127.0.0.1', port: 0 }], upstream: [`127.0.0.1:${upstream.port}`], upstreamTimeoutMs: 500 });
  port = dns.addresses[0].port;
  resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
});

after(async () => {
  await dns?.stop();
  await upstream?.close();
  await h?.close();
});

test('A record of a ClusterIP service, case-insensitive, question echoed as asked', async () => {
  assert.deepEqual(await resolver.resolve4('web.default.svc.cluster.local'), [webIP]);
  const { msg } = await udpQuery(port, query('WeB.DeFault.SVC.Cluster.LOCAL', 'A'));
  assert.equal(msg.rcode, 'NOERROR');
  assert.equal(msg.flag_aa, true);
  assert.equal(msg.questions![0].name, 'WeB.DeFault.SVC.Cluster.LOCAL');
  assert.deepEqual(
    msg.answers.map((a) => [a.type, a.data, a.ttl]),
    [['A', webIP, 5]],
  );
});

test('the kubernetes service resolves to the first service IP', async () => {
  assert.deepEqual(await eventually(() => resolver.resolve4('kubernetes.default.svc.cluster.local')), ['10.96.0.1']);
});

test('AAAA of an IPv4-only service is NODATA with the SOA', async () => {
  const { msg } = await udpQuery(port, query('web.default.svc.cluster.local', 'AAAA'));
  assert.equal(msg.rcode, 'NOERROR');
  assert.equal(msg.answers!.length, 0);
  assert.equal(msg.authorities![0].type, 'SOA');
});

test('SRV for named ports, with the service A record as additional', async () => {
  const srv = await resolver.resolveSrv('_http._tcp.web.default.svc.cluster.local');
  assert.deepEqual(srv, [{ name: 'web.default.svc.cluster.local', port: 80, priority: 0, weight: 100 }]);
  const { msg } = await udpQuery(port, query('_metrics._udp.web.default.svc.cluster.local', 'SRV'));
  assert.deepEqual((msg.answers![0] as any).data, { priority: 0, weight: 100, port: 9100, target: 'web.default.svc.cluster.local' });
  assert.deepEqual(
    msg.additionals!.map((a) => [a.name, a.type, (a as any).data]),
    [['web.default.svc.cluster.local', 'A', webIP]],
  );
  // Wrong protocol or unknown port name: NXDOMAIN.
  const wrong = await udpQuery(port, query('_metrics._tcp.web.default.svc.cluster.local', 'SRV'));
  assert.equal(wrong.msg.rcode, 'NXDOMAIN');
});

test('headless service: ready endpoint addresses, hostnames and SRV per endpoint', async () => {
  assert.deepEqual((await resolver.resolve4('db.default.svc.cluster.local')).sort(), ['10.244.0.10', '10.244.0.11']);
  assert.deepEqual(await resolver.resolve4('db-1.db.default.svc.cluster.local'), ['10.244.0.11']);
  await assert.rejects(resolver.resolve4('db-2.db.default.svc.cluster.local'), { code: 'ENOTFOUND' });
  const srv = await resolver.resolveSrv('_pg._tcp.db.default.svc.cluster.local');
  assert.deepEqual(
    srv.map((s) => `${s.priority} ${s.weight} ${s.port} ${s.name}`).sort(),
    ['0 50 5432 db-0.db.default.svc.cluster.local', '0 50 5432 db-1.db.default.svc.cluster.local'],
  );
  const { msg } = await udpQuery(port, query('_pg._tcp.db.default.svc.cluster.local', 'SRV'));
  assert.deepEqual(msg.additionals!.map((a) => `${a.name} ${(a as any).data}`).sort(), [
    'db-0.db.default.svc.cluster.local 10.244.0.10',
    'db-1.db.default.svc.cluster.local 10.244.0.11',
  ]);
});

test('headless endpoints follow EndpointSlice changes', async () => {
  const s = await client.endpointSlices.get('default', 'db-a');
  s.endpoints[2].conditions.ready = true;
  await client.endpointSlices.update('default', s);
  await eventually(async () => assert.deepEqual((await resolver.resolve4('db.default.svc.cluster.local')).sort(), ['10.244.0.10', '10.244.0.11', '10.244.0.12']));
  assert.deepEqual(await resolver.resolve4('db-2.db.default.svc.cluster.local'), ['10.244.0.12']);
});

test('ExternalName: CNAME, with the target resolved by the upstream', async () => {
  assert.deepEqual(await resolver.resolveCname('ext.default.svc.cluster.local'), ['www.example.org']);
  const { msg } = await udpQuery(port, query('ext.default.svc.cluster.local', 'A'));
  assert.deepEqual(
    msg.answers!.map((a) => `${a.name} ${a.type} ${(a as any).data}`),
    ['ext.default.svc.cluster.local CNAME www.example.org', 'www.example.org A 192.0.2.1'],
  );
  assert.deepEqual(await resolver.resolve4('ext.default.svc.cluster.local'), ['192.0.2.1']);
});

test('pod A records from the dashed address', async () => {
  assert.deepEqual(await resolver.resolve4('10-244-1-5.default.pod.cluster.local'), ['10.244.1.5']);
  assert.deepEqual(await resolver.resolve6('fd00--1.default.pod.cluster.local'), ['fd00::1']);
  await assert.rejects(resolver.resolve4('not-an-ip.default.pod.cluster.local'), { code: 'ENOTFOUND' });
});

test('PTR for service IPs and headless endpoint IPs', async () => {
  assert.deepEqual(await resolver.reverse(webIP), ['web.default.svc.cluster.local']);
  assert.deepEqual(await resolver.reverse('10.244.0.10'), ['db-0.db.default.svc.cluster.local']);
  assert.deepEqual(await resolver.reverse('10.245.0.3'), ['10-245-0-3.big.default.svc.cluster.local']);
});

test('unknown names in the cluster domain: NXDOMAIN with the SOA in authority', async () => {
  for (const name of ['nope.default.svc.cluster.local', 'a.b.c.d.e.svc.cluster.local', 'what.cluster.local', 'nope.db.default.svc.cluster.local']) {
    const { msg } = await udpQuery(port, query(name, 'A'));
    assert.equal(msg.rcode, 'NXDOMAIN', name);
    assert.equal(msg.flag_aa, true);
    assert.equal(msg.answers!.length, 0);
    const soa = msg.authorities![0] as any;
    assert.equal(soa.type, 'SOA');
    assert.equal(soa.name, 'cluster.local');
    assert.equal(soa.data.mname, 'ns.dns.cluster.local');
    assert.equal(soa.data.rname, 'hostmaster.cluster.local');
  }
  // Namespaces with services and the zone's fixed labels exist without records: NODATA.
  for (const name of ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local']) {
    const { msg } = await udpQuery(port, query(name, 'A'));
    assert.equal(msg.rcode, 'NOERROR', name);
    assert.equal(msg.answers!.length, 0);
  }
  assert.equal((await udpQuery(port, query('nothere.svc.cluster.local', 'A'))).msg.rcode, 'NXDOMAIN');
  await assert.rejects(resolver.resolve4('nope.default.svc.cluster.local'), { code: 'ENOTFOUND' });
});

test('SOA at the apex and the dns-version TXT record', async () => {
  const soa = await resolver.resolveSoa('cluster.local');
  assert.equal(soa.nsname, 'ns.dns.cluster.local');
  assert.deepEqual(await resolver.resolveTxt('dns-version.cluster.local'), [['1.1.0']]);
});

test('deleted services disappear', async () => {
  await client.services.create('default', service('gone', { ports: [{ port: 1 }] }));
  await eventually(() => resolver.resolve4('gone.default.svc.cluster.local'));
  await client.services.delete('default', 'gone');
  await eventually(async () => assert.equal((await udpQuery(port, query('gone.default.svc.cluster.local', 'A'))).msg.rcode, 'NXDOMAIN'));
});

test('TCP: several queries on one connection', async () => {
  const replies = await tcpQueries(port, [query('web.default.svc.cluster.local', 'A', { id: 7 }), query('_pg._tcp.db.default.svc.cluster.local', 'SRV', { id: 8 })]);
  const byId = new Map(replies.map((r) => [r.id, r]));
  assert.equal((byId.get(7)!.answers![0] as any).data, webIP);
  assert.equal(byId.get(8)!.answers!.length, 3);
});

test('truncation: a big answer sets TC over UDP and comes whole over TCP', async () => {
  const { raw, msg } = await udpQuery(port, query('big.default.svc.cluster.local', 'A'));
  assert.ok(raw.length <= 512, `UDP reply of ${raw.length} bytes`);
  assert.equal(msg.flag_tc, true);
  assert.ok(msg.answers!.length > 0 && msg.answers!.length < BIG);
  // A larger EDNS size fits all answers.
  const edns = await udpQuery(port, query('big.default.svc.cluster.local', 'A', { edns: 4096 }));
  assert.equal(edns.msg.flag_tc, false);
  assert.equal(edns.msg.answers!.length, BIG);
  assert.ok(edns.msg.additionals!.some((a) => a.type === 'OPT'));
  // An EDNS size too small for everything truncates at that size.
  const small = await udpQuery(port, query('big.default.svc.cluster.local', 'A', { edns: 1024 }));
  assert.equal(small.msg.flag_tc, true);
  assert.ok(small.raw.length <= 1024 && small.raw.length > 512);
  const [tcp] = await tcpQueries(port, [query('big.default.svc.cluster.local', 'A')]);
  assert.equal(tcp.flag_tc, false);
  assert.equal(tcp.answers!.length, BIG);
  // c-ares retries over TCP on TC by itself.
  assert.equal((await resolver.resolve4('big.default.svc.cluster.local')).length, BIG);
});

test('names outside the cluster domain go to the upstream', async () => {
  assert.deepEqual(await resolver.resolve4('upstream.test'), ['192.0.2.7']);
  assert.ok(upstream.seen.includes('upstream.test'));
  const { msg } = await udpQuery(port, query('missing.test', 'A', { id: 4242 }));
  assert.equal(msg.id, 4242);
  assert.equal(msg.rcode, 'NXDOMAIN');
  // Reverse names of addresses the cluster does not know are forwarded too.
  const before = upstream.seen.length;
  await udpQuery(port, query('9.9.9.9.in-addr.arpa', 'PTR'));
  assert.equal(upstream.seen.length, before + 1);
});

test('an unreachable upstream gives SERVFAIL', async () => {
  const dead = await fakeUpstream({});
  const deadPort = dead.port;
  await dead.close();
  const other = await startDns({ client, listen: [{ host: '127.0.0.1', port: 0 }], upstream: [`127.0.0.1:${deadPort}`], upstreamTimeoutMs: 200 });
  try {
    const { msg } = await udpQuery(other.addresses[0].port, query('upstream.test', 'A'));
    assert.equal(msg.rcode, 'SERVFAIL');
    // Cluster names still answer.
    const local = await udpQuery(other.addresses[0].port, query('web.default.svc.cluster.local', 'A'));
    assert.equal((local.msg.answers![0] as any).data, webIP);
  } finally {
    await other.stop();
  }
});

test('malformed and unsupported queries', async () => {
  // Two questions: FORMERR.
  const two = dnsPacket.encode({ type: 'query', id: 9, questions: [{ name: 'a.cluster.local', type: 'A' }, { name: 'b.cluster.local', type: 'A' }] });
  assert.equal(decode(await udpRaw(port, two)).rcode, 'FORMERR');
  // Opcode NOTIFY: NOTIMP.
  const notify = Buffer.from(dnsPacket.encode(query('cluster.local', 'SOA')));
  notify.writeUInt16BE((notify.readUInt16BE(2) & ~0x7800) | (4 << 11), 2);
  assert.equal(decode(await udpRaw(port, notify)).rcode, 'NOTIMP');
  // Another class in the cluster domain: REFUSED, and nothing reaches the upstream.
  const seen = upstream.seen.length;
  const chaos = dnsPacket.encode({ type: 'query', id: 10, questions: [{ name: 'web.default.svc.cluster.local', type: 'TXT', class: 'CH' }] });
  assert.equal(decode(await udpRaw(port, chaos)).rcode, 'REFUSED');
  // A label with a dot inside is no cluster name.
  const dotted = Buffer.from(dnsPacket.encode(query('wXb.default.svc.cluster.local', 'A')));
  dotted[13] = 0x2e;
  assert.equal(decode(await udpRaw(port, dotted)).rcode, 'NXDOMAIN');
  assert.equal(upstream.seen.length, seen);
});

test('ensureKubeDnsService creates kube-system/kube-dns at the 10th service address', async () => {
  assert.equal(kubeDnsServiceIP(), '10.96.0.10');
  assert.equal(kubeDnsServiceIP('10.43.0.0/16'), '10.43.0.10');
  const svc = await ensureKubeDnsService(client, kubeDnsServiceIP());
  assert.equal(svc.spec.clusterIP, '10.96.0.10');
  assert.deepEqual(svc.metadata!.labels, { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' });
  assert.deepEqual(
    svc.spec.ports.map((p: any) => `${p.name} ${p.port}/${p.protocol}`),
    ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP'],
  );
  const again = await ensureKubeDnsService(client, kubeDnsServiceIP());
  assert.equal(again.metadata!.uid, svc.metadata!.uid);
  assert.deepEqual(await eventually(() => resolver.resolve4('kube-dns.kube-system.svc.cluster.local')), ['10.96.0.10']);
  assert.deepEqual(await resolver.resolve4('ns.dns.cluster.local'), ['10.96.0.10']);
});
