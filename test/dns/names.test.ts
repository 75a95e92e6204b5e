// Address helpers behind pod records and reverse lookups.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalIP, dashedIP, inZone, ipFromDashed, reverseName, reverseNameToIP } from '../../src/dns/names.js';

test('reverse names round-trip for IPv4 and IPv6', () => {
  assert.equal(reverseName('10.96.0.10'), '10.0.96.10.in-addr.arpa');
  assert.equal(reverseNameToIP('10.0.96.10.in-addr.arpa'), '10.96.0.10');
  const v6 = reverseName('fd00:10:96::a')!;
  assert.equal(v6, 'a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa');
  assert.equal(reverseNameToIP(v6), canonicalIP('fd00:10:96::a'));
  assert.equal(canonicalIP('::ffff:1.2.3.4'), '0000:0000:0000:0000:0000:ffff:0102:0304');
  for (const bad of ['1.2.3.in-addr.arpa', '256.1.1.1.in-addr.arpa', '01.1.1.1.in-addr.arpa', 'x.ip6.arpa']) assert.equal(reverseNameToIP(bad), undefined, bad);
});

test('dashed addresses for pod records', () => {
  assert.equal(dashedIP('10.244.1.5'), '10-244-1-5');
  assert.equal(dashedIP('FD00::1'), 'fd00--1');
  assert.deepEqual(ipFromDashed('10-244-1-5'), { ip: '10.244.1.5', v6: false });
  assert.deepEqual(ipFromDashed('fd00--1'), { ip: 'fd00::1', v6: true });
  assert.equal(ipFromDashed('10-244-1'), undefined);
  assert.equal(ipFromDashed('web'), undefined);
});

test('zone membership is by whole labels', () => {
  assert.ok(inZone('cluster.local', 'cluster.local'));
  assert.ok(inZone('a.cluster.local', 'cluster.local'));
  assert.ok(!inZone('acluster.local', 'cluster.local'));
  assert.ok(!inZone('local', 'cluster.local'));
});
