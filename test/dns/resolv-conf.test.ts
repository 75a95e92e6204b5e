// Pod resolver configuration: the kubelet's dnsPolicy and dnsConfig rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatResolvConf, parseResolvConf, podDnsConfig, resolvConf, type PodDnsOptions } from '../../src/dns/index.js';

const HOST = `# generated
nameserver 192.168.1.1
nameserver 192.168.1.2
search old.example
search corp.example.com. example.com
options timeout:2 attempts:3
`;

const base: PodDnsOptions = { clusterDns: ['10.96.0.10'], clusterDomain: 'cluster.local', hostResolvConf: HOST };

function pod(spec: Record<string, unknown>, namespace = 'team-a') {
  return { metadata: { namespace }, spec };
}

test('parseResolvConf: nameservers accumulate, the last search and options lines win', () => {
  assert.deepEqual(parseResolvConf(HOST), {
    servers: ['192.168.1.1', '192.168.1.2'],
    searches: ['corp.example.com', 'example.com'],
    options: ['timeout:2', 'attempts:3'],
  });
});

test('resolvConf: the ClusterFirst file for a namespace', () => {
  assert.equal(
    resolvConf({ nameserver: '10.96.0.10', namespace: 'team-a', clusterDomain: 'cluster.local' }),
    'search team-a.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n',
  );
  assert.equal(
    resolvConf({ nameserver: ['10.96.0.10', 'fd00::a'], namespace: 'x', clusterDomain: 'k8s.test', options: ['ndots:5', 'edns0'] }),
    'search x.svc.k8s.test svc.k8s.test k8s.test\nnameserver 10.96.0.10\nnameserver fd00::a\noptions ndots:5 edns0\n',
  );
});

test('ClusterFirst: cluster DNS, cluster searches before the host searches, ndots:5', () => {
  for (const spec of [{ dnsPolicy: 'ClusterFirst' }, {}, { dnsPolicy: 'ClusterFirstWithHostNet' }]) {
    assert.deepEqual(podDnsConfig(pod(spec), base), {
      servers: ['10.96.0.10'],
      searches: ['team-a.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example.com', 'example.com'],
      options: ['ndots:5'],
    });
  }
});

test('Default, and ClusterFirst on the host network: the host resolv.conf', () => {
  const host = { servers: ['192.168.1.1', '192.168.1.2'], searches: ['corp.example.com', 'example.com'], options: ['timeout:2', 'attempts:3'] };
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), base), host);
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'ClusterFirst', hostNetwork: true }), base), host);
});

test('ClusterFirstWithHostNet on the host network: cluster DNS', () => {
  const cfg = podDnsConfig(pod({ dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true }), base);
  assert.deepEqual(cfg.servers, ['10.96.0.10']);
  assert.equal(cfg.searches[0], 'team-a.svc.cluster.local');
  assert.deepEqual(cfg.options, ['ndots:5']);
});

test('None: only the pod dnsConfig', () => {
  const cfg = podDnsConfig(
    pod({
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.2.3.4'],
        searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'],
        options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
      },
    }),
    base,
  );
  assert.deepEqual(cfg, { servers: ['1.2.3.4'], searches: ['ns1.svc.cluster-domain.example', 'my.dns.search.suffix'], options: ['ndots:2', 'edns0'] });
  assert.equal(formatResolvConf(cfg), 'search ns1.svc.cluster-domain.example my.dns.search.suffix\nnameserver 1.2.3.4\noptions ndots:2 edns0\n');
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'None' }), base), { servers: [], searches: [], options: [] });
});

test('dnsConfig merges into ClusterFirst: appended without duplicates, options overridden by name', () => {
  const cfg = podDnsConfig(
    pod({
      dnsConfig: {
        nameservers: ['10.96.0.10', '8.8.8.8'],
        searches: ['svc.cluster.local', 'extra.example'],
        options: [{ name: 'ndots', value: '1' }, { name: 'single-request-reopen' }],
      },
    }),
    base,
  );
  assert.deepEqual(cfg, {
    servers: ['10.96.0.10', '8.8.8.8'],
    searches: ['team-a.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'corp.example.com', 'example.com', 'extra.example'],
    options: ['ndots:1', 'single-request-reopen'],
  });
});

test('limits: three nameservers, 32 search domains, 2048 characters, 253 per domain', () => {
  const warnings: string[] = [];
  const cfg = podDnsConfig(
    pod({
      dnsPolicy: 'None',
      dnsConfig: {
        nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3', '4.4.4.4'],
        searches: [`${'a'.repeat(254)}`, ...Array.from({ length: 40 }, (_, i) => `s${i}.example`)],
      },
    }),
    { ...base, warn: (reason, msg) => warnings.push(`${reason}: ${msg}`) },
  );
  assert.deepEqual(cfg.servers, ['1.1.1.1', '2.2.2.2', '3.3.3.3']);
  assert.equal(cfg.searches.length, 31); // 32 kept, then the over-long one dropped
  assert.equal(cfg.searches[0], 's0.example');
  assert.ok(warnings.some((w) => w.startsWith('DNSConfigForming: Nameserver limits were exceeded')));
  assert.ok(warnings.some((w) => w.startsWith('DNSConfigForming: Search Line limits were exceeded')));

  const long = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'x'.repeat(150)}.example`);
  const cut = podDnsConfig(pod({ dnsPolicy: 'None', dnsConfig: { searches: long } }), base);
  assert.ok(cut.searches.join(' ').length <= 2048);
  assert.deepEqual(cut.searches, long.slice(0, cut.searches.length));
});

test('no cluster DNS configured: ClusterFirst falls back to Default with a warning', () => {
  const warnings: string[] = [];
  const cfg = podDnsConfig(pod({}), { ...base, clusterDns: [], warn: (r) => warnings.push(r) });
  assert.deepEqual(cfg.servers, ['192.168.1.1', '192.168.1.2']);
  assert.deepEqual(warnings, ['MissingClusterDNS']);
});

test('no host resolv.conf (--resolv-conf=""): host-policy pods get the local resolver and search "."', () => {
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), { ...base, hostResolvConf: null }), { servers: ['127.0.0.1'], searches: ['.'], options: [] });
  assert.deepEqual(podDnsConfig(pod({ dnsPolicy: 'Default' }), { ...base, hostResolvConf: null, nodeIPs: ['fd00::5'] }).servers, ['::1']);
  // ClusterFirst pods are unaffected.
  assert.deepEqual(podDnsConfig(pod({}), { ...base, hostResolvConf: null }).searches, ['team-a.svc.cluster.local', 'svc.cluster.local', 'cluster.local']);
});
