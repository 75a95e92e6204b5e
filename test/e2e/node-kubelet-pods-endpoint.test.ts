// The kubelet's GET /pods on a real node (skiff server with its agent), reached the way upstream
// tools reach it: through the API server's nodes/proxy. It lists the pods bound to the node with
// the kubelet's own status (container ids, pod IP), and `kubectl logs` / `kubectl exec`, which
// now find the pod through the same kubelet view, still work; a deleted pod leaves the list.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { TestServer } from '../helpers/cluster.js';
import { nodeE2eSkipReason, sleep, startNodeCluster, type NodeCluster } from '../helpers/node-cleanup.js';
import { until } from './util.js';

const skip = nodeE2eSkipReason();
const IMAGE = 'skiff.local/busybox:latest';

describe('kubelet GET /pods through nodes/proxy on a real node', { skip, timeout: 180_000 }, () => {
  let cluster: NodeCluster;
  let s: TestServer;
  const kubeletPods = async (): Promise<any> => JSON.parse(await s.k('get', '--raw', `/api/v1/nodes/${cluster.nodeName}/proxy/pods`));
  const named = (list: any, name: string) => (list.items as any[]).find((p) => p.metadata?.name === name && p.metadata?.namespace === 'default');

  before(async () => {
    cluster = await startNodeCluster({ nodeName: 'skiff-e2e-node' });
    s = cluster.server;
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'listed' },
      spec: {
        terminationGracePeriodSeconds: 2,
        containers: [{ name: 'c', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sh', '-c', 'echo listed-started; trap "exit 0" TERM; while true; do sleep 1; done'] }],
      },
    };
    const r = await s.kubectl(['apply', '-f', '-'], { input: JSON.stringify(pod) });
    assert.equal(r.code, 0, r.stderr);
    await until('pod listed Running', async () => {
      const p = JSON.parse(await s.k('get', 'pod', 'listed', '-o', 'json'));
      return p.status?.phase === 'Running' && p.status.containerStatuses?.[0]?.state?.running;
    });
  });

  after(async () => {
    if (!cluster) return;
    const report = await cluster.cleanup();
    if (report.errors.length || report.podsLeft.length || report.killed.length) console.log('node cleanup report:', JSON.stringify(report));
  });

  it('lists the pods bound to the node with the kubelet’s status', async () => {
    const list = await kubeletPods();
    assert.equal(list.kind, 'PodList');
    assert.equal(list.apiVersion, 'v1');
    for (const p of list.items) assert.equal(p.spec?.nodeName, cluster.nodeName, `${p.metadata?.namespace}/${p.metadata?.name}`);
    const mine = named(list, 'listed');
    assert.ok(mine, `pod listed in ${JSON.stringify(list.items.map((p: any) => p.metadata?.name))}`);
    const api = JSON.parse(await s.k('get', 'pod', 'listed', '-o', 'json'));
    assert.equal(mine.metadata.uid, api.metadata.uid);
    assert.equal(mine.status.phase, 'Running');
    assert.equal(mine.status.podIP, api.status.podIP);
    assert.equal(mine.status.containerStatuses[0].containerID, api.status.containerStatuses[0].containerID);
    assert.match(mine.status.containerStatuses[0].containerID, /^containerd:\/\/[0-9a-f]{64}$/);
  });

  it('kubectl logs and exec find the pod through the kubelet', async () => {
    assert.match(await s.k('logs', 'listed'), /listed-started/);
    assert.equal((await s.k('exec', 'listed', '--', 'echo', 'hi')).trim(), 'hi');
    const missing = await s.kubectl(['logs', 'listed', '-c', 'nope']);
    assert.notEqual(missing.code, 0);
  });

  it('a deleted pod leaves /pods', async () => {
    await s.k('delete', 'pod', 'listed', '--wait=true');
    await until('listed gone from /pods', async () => !named(await kubeletPods(), 'listed'), 30_000);
  });
});
