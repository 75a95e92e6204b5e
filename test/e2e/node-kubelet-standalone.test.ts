// `skiff kubelet` alone is a complete node: with the credentials `skiff agent --no-kubelet`
// wrote, it registers, runs pods, and serves `kubectl logs`/`exec` through the API server on a
// port of its own, which the Node's daemonEndpoints report (no annotation needed). Then the
// node joins again with another pod CIDR: the kubelet rewrites the CNI config and moves the
// bridge to the new gateway, and new pods get addresses of the new range.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cidrContains } from '../../src/kubelet/network/cni-config.js';
import { containerdPaths } from '../../src/kubelet/containerd/paths.js';
import { writtenSubnet } from '../../src/kubelet/network/pod-network.js';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { acquireNodeLock, bridgesPresent, cleanupNodeCluster, DEFAULT_BRIDGE, nodeE2eSkipReason, SKIFF, sleep, stopChild, waitNodeReady } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';
const NODE = 'skiff-e2e-standalone';
const BRIDGE = 'skiffk0';
const CIDR1 = '10.244.71.0/24';
const CIDR2 = '10.244.72.0/24';

function bridgeAddrs(br: string): string[] {
  const r = spawnSync('ip', ['-j', '-4', 'addr', 'show', 'dev', br], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return (JSON.parse(r.stdout) as any[]).flatMap((l) => (l.addr_info ?? []).map((a: any) => `${a.local}/${a.prefixlen}`));
}

describe('standalone skiff kubelet: a complete node agent', { skip, timeout: 300_000 }, () => {
  let release: (() => Promise<void>) | undefined;
  let s: TestServer | undefined;
  let dataDir = '';
  let kubelet: ChildProcess | undefined;
  let kubeletLog = '';
  let port = 0;

  const startKubelet = async (podCIDR: string) => {
    kubeletLog = '';
    kubelet = spawn(process.execPath, [SKIFF, 'kubelet', '--kubeconfig', join(dataDir, 'agent', 'kubelet.kubeconfig'), '--data-dir', dataDir,
      '--node-name', NODE, '--node-ip', '127.0.0.1', '--pod-cidr', podCIDR, '--bridge-name', BRIDGE, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    kubelet.stdout!.on('data', (d) => (kubeletLog += d));
    kubelet.stderr!.on('data', (d) => (kubeletLog += d));
    const p = await until('the kubelet server port', async () => {
      if (kubelet!.exitCode !== null) throw new Error(`skiff kubelet exited (${kubelet!.exitCode}):\n${kubeletLog}`);
      return Number(/kubelet server on port (\d+)/.exec(kubeletLog)?.[1]) || undefined;
    }, 90_000).catch((e) => {
      throw new Error(`${(e as Error).message}\n${kubeletLog.slice(-3000)}`);
    });
    await waitNodeReady(s!, NODE, 90_000).catch((e) => {
      throw new Error(`${(e as Error).message}\nkubelet output:\n${kubeletLog.slice(-3000)}`);
    });
    return p;
  };
  const pod = (name: string, text: string) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeName: NODE,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', `echo ${text}; exec sleep 3600`] }],
    },
  });
  const runPod = async (name: string, text: string) => {
    const r = await s!.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod(name, text)) });
    assert.equal(r.code, 0, r.stderr);
    return until(`${name} Running`, async () => {
      const p = JSON.parse(await s!.k('get', 'pod', name, '-o', 'json'));
      return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running && p;
    }, 60_000).catch(async (e) => {
      const ev = await s!.kubectl(['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={range .items[*]}{.reason}: {.message}{"\\n"}{end}']);
      throw new Error(`${(e as Error).message}\nevents:\n${ev.stdout.slice(-2000)}\nkubelet output:\n${kubeletLog.slice(-2000)}`);
    });
  };
  const deletePod = async (name: string) => {
    await s!.kubectl(['delete', 'pod', name, '--wait=true'], { timeoutMs: 60_000 });
  };

  before(async () => {
    release = await acquireNodeLock();
    const leftover = bridgesPresent([DEFAULT_BRIDGE, BRIDGE]);
    if (leftover.length) throw new Error(`bridge ${leftover.join(', ')} exists before the test (ip link del ${leftover[0]})`);
    // No node IPAM: the kubelet's --pod-cidr is the node's range, so the test can change it.
    s = await startServer({ extraArgs: ['--controllers', '*,-node-ipam', '--disable-dns'] });
    dataDir = mkdtempSync('/tmp/skiff-kubelet-e2e-');
  });

  after(async () => {
    try {
      if (s) {
        const report = await cleanupNodeCluster(s, { agents: kubelet ? [kubelet] : [], extraDataDirs: dataDir ? [dataDir] : [], bridges: [BRIDGE] });
        if (report.errors.length || report.podsLeft.length || report.killed.length) console.log('node cleanup report:', JSON.stringify(report));
      }
    } finally {
      await release?.();
    }
  });

  it('skiff kubelet --help names the kubelet server and TLS flags', () => {
    const r = spawnSync(process.execPath, [SKIFF, 'kubelet', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    for (const flag of ['--kubeconfig', '--port', '--address', '--tls-cert-file', '--tls-private-key-file', '--client-ca-file', '--bridge-name']) assert.ok(r.stdout.includes(flag), flag);
  });

  it('joins with skiff agent --no-kubelet, then skiff kubelet registers with its real kubelet port', async () => {
    const token = readFileSync(join(s!.dataDir, 'server', 'token'), 'utf8').trim();
    const join1 = spawnSync(process.execPath, [SKIFF, 'agent', '--server', s!.url, '--token', token, '--data-dir', dataDir, '--node-name', NODE, '--node-ip', '127.0.0.1', '--no-kubelet'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(join1.status, 0, join1.stderr);
    port = await startKubelet(CIDR1);
    assert.notEqual(port, 10250);
    const node = JSON.parse(await s!.k('get', 'node', NODE, '-o', 'json'));
    assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, port);
    assert.equal(node.spec.podCIDR, CIDR1);
    assert.doesNotMatch(kubeletLog, /self-signed|no --client-ca-file/, 'the agent tree’s serving cert and client CA are used');
  });

  it('runs a pod; kubectl logs and exec reach the standalone kubelet', async () => {
    const p = await runPod('solo', 'hello-from-standalone');
    assert.ok(cidrContains(CIDR1, p.status.podIP), `${p.status.podIP} in ${CIDR1}`);
    assert.equal(p.status.qosClass, 'BestEffort');
    const logs = await until('logs', async () => (await s!.k('logs', 'solo')).includes('hello-from-standalone') || undefined, 20_000);
    assert.ok(logs);
    const ex = await s!.kubectl(['exec', 'solo', '--', 'echo', 'exec-ok']);
    if (ex.code !== 0) {
      const verbose = await s!.kubectl(['exec', '-v=7', 'solo', '--', 'echo', 'exec-ok']);
      assert.fail(`kubectl exec: exit ${ex.code}: ${ex.stderr}\n-v=7:\n${verbose.stderr.slice(-3000)}\nkubelet output:\n${kubeletLog.slice(-2000)}`);
    }
    assert.equal(ex.stdout.trim(), 'exec-ok');
    assert.deepEqual(bridgeAddrs(BRIDGE), ['10.244.71.1/24']);
    await deletePod('solo');
  });

  it('joins again with another pod CIDR: CNI config and bridge address follow, new pods get the new range', async () => {
    await stopChild(kubelet!, 15_000);
    kubelet = undefined;
    await s!.k('delete', 'node', NODE);
    await startKubelet(CIDR2);
    assert.equal((await s!.k('get', 'node', NODE, '-o', 'jsonpath={.spec.podCIDR}')).trim(), CIDR2);
    await until('the bridge readdressed', async () => bridgeAddrs(BRIDGE).join() === '10.244.72.1/24', 20_000).catch((e) => {
      throw new Error(`${(e as Error).message}: ${bridgeAddrs(BRIDGE).join()}\n${kubeletLog.slice(-2000)}`);
    });
    assert.equal(writtenSubnet(containerdPaths(dataDir).cniConfDir), CIDR2);
    assert.match(kubeletLog, /pod CIDR changed from 10\.244\.71\.0\/24 to 10\.244\.72\.0\/24/);
    const p = await runPod('solo2', 'second-range');
    assert.ok(cidrContains(CIDR2, p.status.podIP), `${p.status.podIP} in ${CIDR2}`);
    assert.ok((await s!.k('logs', 'solo2')).includes('second-range'));
    assert.ok(existsSync(`/sys/class/net/${BRIDGE}`));
    await deletePod('solo2');
  });
});
