// Flag parsing, templates and fake addresses of hollow nodes (no server).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allocatePodIP, cidrPodRange, fallbackPodRange, intToIpv4, nodeIP } from '../../src/hollow/addresses.js';
import { NodeProfile, loadNodeTemplate, parseLabels, parseTaints } from '../../src/hollow/node-template.js';
import { parseDuration } from '../../src/cmd/hollow-nodes.js';

describe('hollow node template', () => {
  it('parses --labels and --taints', () => {
    assert.deepEqual(parseLabels('a=b, tier=gold,empty='), { a: 'b', tier: 'gold', empty: '' });
    assert.throws(() => parseLabels('novalue'), /key=value/);
    assert.deepEqual(parseTaints('gpu=true:NoSchedule,dedicated:NoExecute'), [
      { key: 'gpu', value: 'true', effect: 'NoSchedule' },
      { key: 'dedicated', effect: 'NoExecute' },
    ]);
    assert.throws(() => parseTaints('x=y:Sometimes'), /effect/);
  });

  it('merges a template file under the flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'skiff-hollow-tpl-'));
    try {
      const file = join(dir, 'node.yaml');
      writeFileSync(
        file,
        `apiVersion: v1
kind: Node
metadata:
  labels: {pool: big, team: a}
  annotations: {note: x}
spec:
  taints: [{key: pool, value: big, effect: NoSchedule}]
status:
  capacity: {cpu: "64", memory: 512Gi, nvidia.com/gpu: "8"}
  allocatable: {cpu: "63"}
  nodeInfo: {osImage: Custom OS}
`,
      );
      const profile = new NodeProfile({ template: loadNodeTemplate(file), labels: { team: 'b' }, memory: '128Gi', zones: 2 });
      const node = profile.node(3, profile.nodeName(3), new Date(0));
      assert.equal(node.metadata!.name, 'hollow-node-3');
      assert.equal(node.metadata!.labels!.pool, 'big');
      assert.equal(node.metadata!.labels!.team, 'b');
      assert.equal(node.metadata!.labels!['topology.kubernetes.io/zone'], 'zone-1');
      assert.equal(node.metadata!.annotations!.note, 'x');
      assert.deepEqual(node.spec.taints, [{ key: 'pool', value: 'big', effect: 'NoSchedule' }]);
      assert.deepEqual(node.status.capacity, { cpu: '64', memory: '128Gi', pods: '110', 'ephemeral-storage': '1Ti', 'nvidia.com/gpu': '8' });
      assert.equal(node.status.allocatable.cpu, '63');
      assert.equal(node.status.allocatable.memory, '128Gi');
      assert.equal(node.status.allocatable['nvidia.com/gpu'], '8');
      assert.equal(node.status.nodeInfo.osImage, 'Custom OS');
      assert.equal(node.status.nodeInfo.kubeletVersion, 'v1.32.4');
      // --taints replaces the template's.
      const tainted = new NodeProfile({ template: loadNodeTemplate(file), taints: [] }).node(0, 'n', new Date());
      assert.equal(tainted.spec.taints, undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('derives unique node and pod addresses', () => {
    assert.equal(nodeIP(0), '172.16.0.1');
    assert.equal(nodeIP(255), '172.16.1.0');
    const all = new Set(Array.from({ length: 5000 }, (_, i) => nodeIP(i)));
    assert.equal(all.size, 5000);
    const r = fallbackPodRange(258);
    assert.equal(intToIpv4(r.first), '10.1.2.1');
    assert.equal(r.size, 254);
    const c = cidrPodRange('10.244.7.0/24')!;
    assert.equal(intToIpv4(c.first), '10.244.7.1');
    assert.equal(c.size, 254);
    assert.equal(cidrPodRange('fd00::/64'), undefined);
    assert.equal(cidrPodRange('10.0.0.0/31'), undefined);
    const a = allocatePodIP(c, 0, new Set(['10.244.7.1', '10.244.7.2']));
    assert.deepEqual(a, { ip: '10.244.7.3', next: 3 });
    const wrap = allocatePodIP(c, 253, new Set());
    assert.deepEqual(wrap, { ip: '10.244.7.254', next: 0 });
  });

  it('parses Go durations', () => {
    assert.equal(parseDuration('1s', 'x'), 1000);
    assert.equal(parseDuration('1m30s', 'x'), 90_000);
    assert.equal(parseDuration('250ms', 'x'), 250);
    assert.equal(parseDuration('0', 'x'), 0);
    assert.equal(parseDuration('1.5h', 'x'), 5_400_000);
    assert.throws(() => parseDuration('10', 'x'), /--x/);
  });
});
