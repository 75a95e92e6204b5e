// The node's pod network following a changed spec.podCIDR: CNI config and bridge address are
// switched when no pod of the old range runs, and left alone (with the blockers named) while
// one does. The bridge is a fake here; the e2e test node-kubelet-standalone uses a real one.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BridgeOps } from '../../src/kubelet/network/bridge-address.js';
import { CNI_CONFLIST_NAME, writeCniConfig } from '../../src/kubelet/network/cni-config.js';
import { reconcilePodNetwork, writtenSubnet } from '../../src/kubelet/network/pod-network.js';
import { FakeRuntime } from './fake-runtime.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

class FakeBridge implements BridgeOps {
  readonly log: string[] = [];
  constructor(public addrs: string[] | undefined) {}
  async addresses() {
    return this.addrs && [...this.addrs];
  }
  async del(bridge: string, cidr: string) {
    this.log.push(`del ${bridge} ${cidr}`);
    this.addrs = (this.addrs ?? []).filter((a) => a !== cidr);
  }
  async add(bridge: string, cidr: string) {
    this.log.push(`add ${bridge} ${cidr}`);
    this.addrs = [...(this.addrs ?? []).filter((a) => a !== cidr), cidr];
  }
}

function confDir(podCIDR?: string): string {
  const d = mkdtempSync(join(tmpdir(), 'skiff-podnet-'));
  dirs.push(d);
  if (podCIDR) writeCniConfig(d, { podCIDR, bridge: 'br-test' });
  return d;
}

/** A running sandbox of pod ns/name whose address is ip. */
async function runningPod(rt: FakeRuntime, name: string, ip: string): Promise<void> {
  const id = await rt.runPodSandbox({ metadata: { name, namespace: 'default', uid: `uid-${name}`, attempt: 0 } });
  rt.sandboxes.get(id)!.network = { ip };
}

describe('pod network after a pod CIDR change', () => {
  it('first start: writes the config; a bridge that does not exist yet is left to CNI', async () => {
    const dir = confDir();
    const ops = new FakeBridge(undefined);
    const res = await reconcilePodNetwork({ podCIDR: '10.42.1.0/24', bridge: 'br-test', cniConfDir: dir, runtime: new FakeRuntime(), ops });
    assert.deepEqual(res, { state: 'ok', written: true, previous: undefined, bridgeFixed: [] });
    assert.equal(writtenSubnet(dir), '10.42.1.0/24');
    assert.deepEqual(ops.log, []);
  });

  it('same range: nothing changes', async () => {
    const dir = confDir('10.42.1.0/24');
    const ops = new FakeBridge(['10.42.1.1/24']);
    const res = await reconcilePodNetwork({ podCIDR: '10.42.1.0/24', bridge: 'br-test', cniConfDir: dir, runtime: new FakeRuntime(), ops });
    assert.deepEqual(res, { state: 'ok', written: false, previous: undefined, bridgeFixed: [] });
    assert.deepEqual(ops.log, []);
  });

  it('changed range, no pods of the old one: config rewritten, old bridge address replaced by the new gateway', async () => {
    const dir = confDir('10.42.1.0/24');
    const ops = new FakeBridge(['10.42.1.1/24']);
    const rt = new FakeRuntime();
    await runningPod(rt, 'already-new', '10.42.7.5'); // a pod of the new range does not block
    const res = await reconcilePodNetwork({ podCIDR: '10.42.7.0/24', bridge: 'br-test', cniConfDir: dir, runtime: rt, ops });
    assert.deepEqual(res, { state: 'ok', written: true, previous: ['10.42.1.0/24'], bridgeFixed: ['10.42.1.1/24'] });
    assert.equal(writtenSubnet(dir), '10.42.7.0/24');
    assert.deepEqual(ops.log, ['del br-test 10.42.1.1/24', 'add br-test 10.42.7.1/24']);
    assert.deepEqual(ops.addrs, ['10.42.7.1/24']);
  });

  it('config already new but the bridge still has the old address (a restart in between): the bridge is fixed', async () => {
    const dir = confDir('10.42.7.0/24');
    const ops = new FakeBridge(['10.42.1.1/24']);
    const res = await reconcilePodNetwork({ podCIDR: '10.42.7.0/24', bridge: 'br-test', cniConfDir: dir, runtime: new FakeRuntime(), ops });
    assert.deepEqual(res, { state: 'ok', written: false, previous: ['10.42.1.0/24'], bridgeFixed: ['10.42.1.1/24'] });
    assert.deepEqual(ops.addrs, ['10.42.7.1/24']);
  });

  it('pods of the old range still run: nothing changes, they are named; once they are gone it switches', async () => {
    const dir = confDir('10.42.1.0/24');
    const before = readFileSync(join(dir, CNI_CONFLIST_NAME), 'utf8');
    const ops = new FakeBridge(['10.42.1.1/24']);
    const rt = new FakeRuntime();
    await runningPod(rt, 'old', '10.42.1.9');
    const res = await reconcilePodNetwork({ podCIDR: '10.42.7.0/24', bridge: 'br-test', cniConfDir: dir, runtime: rt, ops });
    assert.deepEqual(res, { state: 'blocked', previous: ['10.42.1.0/24'], pods: ['default/old (10.42.1.9)'] });
    assert.equal(readFileSync(join(dir, CNI_CONFLIST_NAME), 'utf8'), before);
    assert.deepEqual(ops.log, []);
    // A stopped sandbox of the old range does not block.
    for (const s of rt.sandboxes.values()) await rt.stopPodSandbox(s.id);
    const again = await reconcilePodNetwork({ podCIDR: '10.42.7.0/24', bridge: 'br-test', cniConfDir: dir, runtime: rt, ops });
    assert.equal(again.state, 'ok');
    assert.equal(writtenSubnet(dir), '10.42.7.0/24');
  });

  it('a wider range that contains the old one: pods keep their addresses, nothing blocks', async () => {
    const dir = confDir('10.42.1.0/24');
    const ops = new FakeBridge(['10.42.1.1/24']);
    const rt = new FakeRuntime();
    await runningPod(rt, 'inside', '10.42.1.9');
    const res = await reconcilePodNetwork({ podCIDR: '10.42.0.0/16', bridge: 'br-test', cniConfDir: dir, runtime: rt, ops });
    assert.equal(res.state, 'ok');
    assert.deepEqual(ops.addrs, ['10.42.0.1/16']);
  });
});

describe('bridge addresses through iproute2', { skip: process.getuid?.() !== 0 ? 'needs root' : undefined }, () => {
  it('reads, replaces and removes IPv4 addresses of a bridge; a missing bridge reads as undefined', async () => {
    const { ipBridgeOps } = await import('../../src/kubelet/network/bridge-address.js');
    const { spawnSync } = await import('node:child_process');
    const br = `skiffnt${process.pid % 10000}`;
    assert.equal(await ipBridgeOps.addresses(br), undefined);
    assert.equal(spawnSync('ip', ['link', 'add', br, 'type', 'bridge']).status, 0);
    try {
      assert.deepEqual(await ipBridgeOps.addresses(br), []);
      await ipBridgeOps.add(br, '10.254.1.1/24');
      assert.deepEqual(await ipBridgeOps.addresses(br), ['10.254.1.1/24']);
      const dir = confDir('10.254.1.0/24');
      const res = await reconcilePodNetwork({ podCIDR: '10.254.9.0/24', bridge: br, cniConfDir: dir, runtime: new FakeRuntime() });
      assert.deepEqual(res, { state: 'ok', written: true, previous: ['10.254.1.0/24'], bridgeFixed: ['10.254.1.1/24'] });
      assert.deepEqual(await ipBridgeOps.addresses(br), ['10.254.9.1/24']);
    } finally {
      spawnSync('ip', ['link', 'del', br]);
    }
  });
});
