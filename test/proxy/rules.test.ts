// Rule generation: given services and endpoint slices, the exact iptables-restore text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/api/types.js';
import { portProtoHash, endpointChainName } from '../../src/proxy/chains.js';
import { EndpointSliceCache, type ServiceEndpoints } from '../../src/proxy/endpoints.js';
import { generateRules, JUMP_RULES, type RulesConfig, type SyncPlan } from '../../src/proxy/rules.js';
import { servicePorts, type ServicePortInfo } from '../../src/proxy/service-port.js';
import { service, slice } from './fixtures.js';

const CFG: RulesConfig = { nodeName: 'node-a', clusterCIDR: '10.42.0.0/16' };

function gen(objs: KObject[], cfg: Partial<RulesConfig> = {}, plan: SyncPlan = {}) {
  const services = new Map<string, ServicePortInfo[]>();
  const cache = new EndpointSliceCache(cfg.nodeName ?? CFG.nodeName);
  const touched = new Set<string>();
  for (const o of objs) {
    if (o.kind === 'Service') {
      const ports = servicePorts(o);
      if (ports.length) services.set(`${o.metadata!.namespace}/${o.metadata!.name}`, ports);
    } else {
      const s = cache.update(o, false);
      if (s) touched.add(s);
    }
  }
  const endpoints = new Map<string, ServiceEndpoints>();
  for (const s of touched) endpoints.set(s, cache.endpointsFor(s));
  return generateRules({ services, endpoints }, { ...CFG, ...cfg }, plan);
}

/** The rule lines of one chain (in order), without the "-A CHAIN " prefix. */
function chain(text: string, name: string, table = 'nat'): string[] {
  const section = text.split(`*${table}\n`)[1].split('COMMIT')[0];
  return section
    .split('\n')
    .filter((l) => l.startsWith(`-A ${name} `))
    .map((l) => l.slice(`-A ${name} `.length));
}

function declared(text: string, table = 'nat'): string[] {
  const section = text.split(`*${table}\n`)[1].split('COMMIT')[0];
  return section.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]);
}

const H = portProtoHash('default/web:http', 'tcp');
const SVC = `SKIFF-SVC-${H}`;
const sep = (ip: string, port = 8080) => endpointChainName('default/web:http', 'tcp', `${ip}:${port}`);

test('chain names hash like upstream (base32 of sha256, 16 chars)', () => {
  // Reference values computed independently (Python base64.b32encode(sha256(...))[:16]).
  assert.equal(portProtoHash('default/web:http', 'tcp'), 'CDGGSHYLG3RE2FKL');
  assert.equal(portProtoHash('ns1/svc1', 'tcp'), 'AQI2S6QIMU7PVVRP');
  assert.equal(endpointChainName('default/web:http', 'tcp', '10.42.0.5:8080'), 'SKIFF-SEP-IV4V4L7CGKB7OJNB');
  assert.ok(`SKIFF-SEP-IV4V4L7CGKB7OJNB`.length <= 28);
});

test('cluster IP with three ready endpoints: even probabilistic spread, masquerade off-cluster, hairpin', () => {
  const r = gen([service('web'), slice('web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }, { ip: '10.42.1.7', node: 'node-b' }])]);
  assert.deepEqual(chain(r.text, 'SKIFF-SERVICES'), [
    `-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http cluster IP" -j ${SVC}`,
    `-m comment --comment "skiff service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j SKIFF-NODEPORTS`,
  ]);
  assert.deepEqual(chain(r.text, SVC), [
    `! -s 10.42.0.0/16 -d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http cluster IP" -j SKIFF-MARK-MASQ`,
    `-m comment --comment "default/web:http -> 10.42.0.5:8080" -m statistic --mode random --probability 0.3333333333 -j ${sep('10.42.0.5')}`,
    `-m comment --comment "default/web:http -> 10.42.0.6:8080" -m statistic --mode random --probability 0.5000000000 -j ${sep('10.42.0.6')}`,
    `-m comment --comment "default/web:http -> 10.42.1.7:8080" -j ${sep('10.42.1.7')}`,
  ]);
  assert.deepEqual(chain(r.text, sep('10.42.0.6')), [
    `-s 10.42.0.6/32 -m comment --comment "default/web:http" -j SKIFF-MARK-MASQ`,
    `-p tcp -m comment --comment "default/web:http" -m tcp -j DNAT --to-destination 10.42.0.6:8080`,
  ]);
  assert.deepEqual(chain(r.text, 'SKIFF-POSTROUTING'), [
    '-m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-j MARK --xor-mark 0x4000',
    '-m comment --comment "skiff service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ]);
  assert.deepEqual(chain(r.text, 'SKIFF-MARK-MASQ'), ['-j MARK --or-mark 0x4000']);
  assert.deepEqual(chain(r.text, 'SKIFF-SERVICES', 'filter'), []);
  assert.deepEqual(declared(r.text, 'filter'), ['SKIFF-SERVICES', 'SKIFF-EXTERNAL-SERVICES', 'SKIFF-FORWARD', 'SKIFF-FIREWALL']);
  assert.deepEqual(new Set(declared(r.text)), new Set(['SKIFF-SERVICES', 'SKIFF-NODEPORTS', 'SKIFF-POSTROUTING', 'SKIFF-MARK-MASQ', SVC, sep('10.42.0.5'), sep('10.42.0.6'), sep('10.42.1.7')]));
  assert.deepEqual(chain(r.text, 'SKIFF-FORWARD', 'filter'), [
    '-m conntrack --ctstate INVALID -j DROP',
    '-m comment --comment "skiff forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
    '-m comment --comment "skiff forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
  ]);
  assert.ok(r.text.startsWith('*filter\n') && r.text.endsWith('COMMIT\n'));
});

test('masqueradeAll marks every cluster IP connection; no cluster CIDR means no masquerade rule', () => {
  const objs = [service('web'), slice('web', [{ ip: '10.42.0.5' }])];
  assert.match(chain(gen(objs, { masqueradeAll: true }).text, SVC)[0], /^-d 10\.96\.0\.10\/32 .* -j SKIFF-MARK-MASQ$/);
  assert.deepEqual(chain(gen(objs, { clusterCIDR: '' }).text, SVC), [`-m comment --comment "default/web:http -> 10.42.0.5:8080" -j ${sep('10.42.0.5')}`]);
});

test('no endpoints: REJECT in the filter table, no nat chains', () => {
  const r = gen([service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }), slice('web', [{ ip: '10.42.0.5', ready: false, serving: false }])]);
  assert.deepEqual(chain(r.text, 'SKIFF-SERVICES', 'filter'), [
    '-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http has no endpoints" -j REJECT --reject-with tcp-reset',
  ]);
  assert.deepEqual(chain(r.text, 'SKIFF-EXTERNAL-SERVICES', 'filter'), [
    '-p tcp -m comment --comment "default/web:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j REJECT --reject-with tcp-reset',
  ]);
  assert.equal(chain(r.text, 'SKIFF-SERVICES').length, 1); // just the nodeports tail
  assert.deepEqual(chain(r.text, 'SKIFF-NODEPORTS'), []);
  assert.equal(r.activeChains.size, 0);
  // UDP has no reset: ICMP port unreachable.
  const u = gen([service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] })]);
  assert.deepEqual(chain(u.text, 'SKIFF-SERVICES', 'filter'), [
    '-d 10.96.0.10/32 -p udp -m udp --dport 53 -m comment --comment "default/dns:dns has no endpoints" -j REJECT --reject-with icmp-port-unreachable',
  ]);
});

test('ClientIP session affinity: recent checks first, then the spread; SEP chains record the client', () => {
  const r = gen([service('web', { sessionAffinity: 'ClientIP', affinityTimeout: 60 }), slice('web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }])]);
  const a = sep('10.42.0.5');
  const b = sep('10.42.0.6');
  assert.deepEqual(chain(r.text, SVC).slice(1), [
    `-m comment --comment "default/web:http -> 10.42.0.5:8080" -m recent --rcheck --seconds 60 --reap --name ${a} --mask 255.255.255.255 --rsource -j ${a}`,
    `-m comment --comment "default/web:http -> 10.42.0.6:8080" -m recent --rcheck --seconds 60 --reap --name ${b} --mask 255.255.255.255 --rsource -j ${b}`,
    `-m comment --comment "default/web:http -> 10.42.0.5:8080" -m statistic --mode random --probability 0.5000000000 -j ${a}`,
    `-m comment --comment "default/web:http -> 10.42.0.6:8080" -j ${b}`,
  ]);
  assert.equal(chain(r.text, a)[1], `-p tcp -m comment --comment "default/web:http" -m recent --set --name ${a} --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.42.0.5:8080`);
  // Default timeout is 3 hours.
  const d = gen([service('web', { sessionAffinity: 'ClientIP' }), slice('web', [{ ip: '10.42.0.5' }])]);
  assert.match(chain(d.text, SVC)[1], /--seconds 10800 /);
});

test('NodePort with externalTrafficPolicy Local: only local endpoints for outside traffic, no masquerade', () => {
  const r = gen([
    service('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
    slice('web', [{ ip: '10.42.0.5', node: 'node-a' }, { ip: '10.42.1.7', node: 'node-b' }]),
  ]);
  const XLB = `SKIFF-XLB-${H}`;
  const EXT = `SKIFF-EXT-${H}`;
  assert.deepEqual(chain(r.text, 'SKIFF-NODEPORTS'), [`-p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j ${EXT}`]);
  assert.deepEqual(chain(r.text, EXT), [
    `-s 10.42.0.0/16 -m comment --comment "pod traffic for default/web:http external destinations" -j ${SVC}`,
    `-m comment --comment "masquerade LOCAL traffic for default/web:http external destinations" -m addrtype --src-type LOCAL -j SKIFF-MARK-MASQ`,
    `-m comment --comment "route LOCAL traffic for default/web:http external destinations" -m addrtype --src-type LOCAL -j ${SVC}`,
    `-j ${XLB}`,
  ]);
  assert.deepEqual(chain(r.text, XLB), [`-m comment --comment "default/web:http -> 10.42.0.5:8080" -j ${sep('10.42.0.5')}`]);
  assert.equal(chain(r.text, SVC).length, 3); // masquerade + two endpoints
  // Cluster policy: the EXT chain masquerades and goes to the SVC chain.
  const c = gen([service('web', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }), slice('web', [{ ip: '10.42.0.5' }])]);
  assert.deepEqual(chain(c.text, EXT), [`-m comment --comment "masquerade traffic for default/web:http external destinations" -j SKIFF-MARK-MASQ`, `-j ${SVC}`]);
});

test('externalTrafficPolicy Local without local endpoints: external traffic dropped, pods still served', () => {
  const r = gen([
    service('web', { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
    slice('web', [{ ip: '10.42.1.7', node: 'node-b' }]),
  ]);
  assert.deepEqual(chain(r.text, 'SKIFF-EXTERNAL-SERVICES', 'filter'), [
    '-p tcp -m comment --comment "default/web:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30080 -j DROP',
  ]);
  assert.equal(chain(r.text, `SKIFF-EXT-${H}`).length, 3); // short-circuits, no jump to the empty local chain
  assert.ok(!declared(r.text).includes(`SKIFF-XLB-${H}`));
});

test('internalTrafficPolicy Local: cluster IP goes to local endpoints only, DROP when there are none', () => {
  const objs = (node: string) => [service('web', { internalTrafficPolicy: 'Local' }), slice('web', [{ ip: '10.42.0.5', node }])];
  const r = gen(objs('node-a'));
  const XLB = `SKIFF-XLB-${H}`;
  assert.match(chain(r.text, 'SKIFF-SERVICES')[0], new RegExp(`-j ${XLB}$`));
  assert.ok(!declared(r.text).includes(SVC));
  assert.equal(chain(r.text, XLB).length, 2);
  const none = gen(objs('node-b'));
  assert.deepEqual(chain(none.text, 'SKIFF-SERVICES', 'filter'), [
    '-d 10.96.0.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http has no local endpoints" -j DROP',
  ]);
});

test('terminating endpoints are used only when no endpoint is ready', () => {
  const r = gen([service('web'), slice('web', [{ ip: '10.42.0.5', ready: false, serving: true, terminating: true }, { ip: '10.42.0.6', ready: false, serving: false, terminating: true }])]);
  assert.deepEqual(chain(r.text, SVC).slice(1), [`-m comment --comment "default/web:http -> 10.42.0.5:8080" -j ${sep('10.42.0.5')}`]);
  const r2 = gen([service('web'), slice('web', [{ ip: '10.42.0.5', ready: false, serving: true, terminating: true }, { ip: '10.42.0.7' }])]);
  assert.deepEqual(chain(r2.text, SVC).slice(1), [`-m comment --comment "default/web:http -> 10.42.0.7:8080" -j ${sep('10.42.0.7')}`]);
});

test('zone hints narrow cluster endpoints when every ready endpoint has one', () => {
  const objs = [service('web'), slice('web', [{ ip: '10.42.0.5', hints: ['z1'] }, { ip: '10.42.1.6', hints: ['z2'] }])];
  assert.equal(chain(gen(objs, { zone: 'z1' }).text, SVC).length, 2);
  assert.equal(chain(gen(objs, { zone: 'z3' }).text, SVC).length, 3);
  assert.equal(chain(gen(objs).text, SVC).length, 3);
});

test('headless and ExternalName services are ignored', () => {
  const r = gen([
    service('headless', { clusterIP: 'None' }),
    slice('headless', [{ ip: '10.42.0.5' }]),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'example.com' } } as KObject,
  ]);
  assert.equal(chain(r.text, 'SKIFF-SERVICES').length, 1);
  assert.equal(r.activeChains.size, 0);
});

test('external IPs and load balancer IPs with source ranges', () => {
  const r = gen([
    service('web', { type: 'LoadBalancer', externalIPs: ['192.0.2.10'], lbIngress: ['192.0.2.20'], sourceRanges: ['10.0.0.0/8'], ports: [{ name: 'http', port: 80, nodePort: 30080 }] }),
    slice('web', [{ ip: '10.42.0.5' }]),
  ]);
  const svcRules = chain(r.text, 'SKIFF-SERVICES');
  assert.ok(svcRules.includes(`-d 192.0.2.10/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http external IP" -j SKIFF-EXT-${H}`));
  assert.ok(svcRules.includes(`-d 192.0.2.20/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http loadbalancer IP" -j SKIFF-FW-${H}`));
  assert.deepEqual(chain(r.text, `SKIFF-FW-${H}`), [`-s 10.0.0.0/8 -m comment --comment "default/web:http loadbalancer IP" -j SKIFF-EXT-${H}`]);
  assert.deepEqual(chain(r.text, 'SKIFF-FIREWALL', 'filter'), [
    `-d 192.0.2.20/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http traffic not accepted by SKIFF-FW-${H}" -j DROP`,
  ]);
});

test('incremental sync writes only changed services; stale chains are flushed and deleted', () => {
  const objs = [service('web'), slice('web', [{ ip: '10.42.0.5' }, { ip: '10.42.0.6' }]), service('api', { clusterIP: '10.96.0.11' }), slice('api', [{ ip: '10.42.0.9' }])];
  const full = gen(objs);
  const apiSvc = `SKIFF-SVC-${portProtoHash('default/api:http', 'tcp')}`;
  assert.ok(declared(full.text).includes(apiSvc));
  // web scaled to one endpoint; only web changed.
  const objs2 = [objs[0], slice('web', [{ ip: '10.42.0.5' }]), objs[2], objs[3]];
  const inc = gen(objs2, {}, { changedServices: new Set(['default/web']), existingChains: full.activeChains });
  const d = declared(inc.text);
  assert.ok(d.includes(SVC) && d.includes(sep('10.42.0.5')));
  assert.ok(!d.includes(apiSvc), 'unchanged service chains are not rewritten');
  assert.ok(inc.activeChains.has(apiSvc), 'but stay active');
  assert.ok(d.includes(sep('10.42.0.6')) && inc.text.includes(`-X ${sep('10.42.0.6')}\n`));
  assert.equal(inc.deletedChains, 1);
  // Both services' cluster IP rules are always present in the rewritten SKIFF-SERVICES.
  assert.equal(chain(inc.text, 'SKIFF-SERVICES').length, 3);
  // Chains not ours are never deleted.
  const other = gen(objs, {}, { existingChains: ['KUBE-SVC-XYZ', 'SKIFF-SEP-GONE'] });
  assert.ok(!other.text.includes('KUBE-SVC-XYZ') && other.text.includes('-X SKIFF-SEP-GONE'));
});

test('missing jump rules are inserted in the same transaction', () => {
  const r = gen([], {}, { missingJumps: JUMP_RULES });
  assert.ok(r.text.includes('-I PREROUTING -m comment --comment "skiff service portals" -j SKIFF-SERVICES\n'));
  assert.ok(r.text.includes('-I POSTROUTING -m comment --comment "skiff postrouting rules" -j SKIFF-POSTROUTING\n'));
  assert.ok(r.text.includes('-I FORWARD -m conntrack --ctstate NEW -m comment --comment "skiff service portals" -j SKIFF-SERVICES\n'));
  assert.equal(chain(r.text, 'PREROUTING').length, 0);
});

test('large clusters drop per-endpoint comments', () => {
  const eps = Array.from({ length: 1001 }, (_, i) => ({ ip: `10.42.${i >> 8}.${i & 255}` }));
  const r = gen([service('web'), slice('web', eps)]);
  assert.equal(chain(r.text, SVC)[1], `-m statistic --mode random --probability 0.0009990010 -j ${sep(eps[0].ip)}`);
});

test('multiple ports and UDP get separate chains; slices merge per port name', () => {
  const r = gen([
    service('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }),
    slice('dns', [{ ip: '10.42.0.5' }], { name: 'dns-1', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }),
    slice('dns', [{ ip: '10.42.0.6' }], { name: 'dns-2', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53 }] }),
  ]);
  const udp = `SKIFF-SVC-${portProtoHash('default/dns:dns', 'udp')}`;
  const tcp = `SKIFF-SVC-${portProtoHash('default/dns:dns-tcp', 'tcp')}`;
  assert.equal(chain(r.text, udp).length, 3);
  assert.equal(chain(r.text, tcp).length, 3);
  assert.ok(chain(r.text, 'SKIFF-SERVICES').some((l) => l.startsWith('-d 10.96.0.10/32 -p udp -m udp --dport 53')));
  const ep = endpointChainName('default/dns:dns', 'udp', '10.42.0.5:53');
  assert.equal(chain(r.text, ep)[1], '-p udp -m comment --comment "default/dns:dns" -m udp -j DNAT --to-destination 10.42.0.5:53');
});
