// Hollow kubelets heal what the node lifecycle controller does to a node whose heartbeats came
// late: the node marked Unknown is reported Ready again at once (not a status period later), and
// pods whose Ready condition was flipped to False (MarkPodsNotReady keeps our reason-less
// condition) get Ready back. A Ready=False with a reason (a simulated failing probe) stays, and
// readiness gates still decide.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client, rfc3339, type KObject } from '../../src/client/index.js';
import { startHollowNodes, type HollowNodes } from '../../src/hollow/index.js';

const NODE_USER = { name: 'system:node:hollow', groups: ['system:nodes'] };
const ADMIN = { name: 'system:admin', groups: ['system:masters'] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const cond = (obj: KObject, type: string) => (obj.status?.conditions ?? []).find((c: any) => c.type === type);

describe('hollow nodes restore readiness', () => {
  let dir: string;
  let api: ApiServer;
  let admin: Client;
  let nodeClient: Client;
  let hollow: HollowNodes;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-hollow-ready-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    admin = new Client({ inProcess: { connect: (u) => api.connect(u), user: ADMIN }, component: 'hollow-test', qps: 0 });
    nodeClient = new Client({ inProcess: { connect: (u) => api.connect(u), user: NODE_USER }, component: 'hollow-test', qps: 0 });
    // A node status period far longer than the test: any quick status write is the recovery path.
    hollow = await startHollowNodes({ client: nodeClient, count: 3, heartbeatIntervalMs: 300, statusReportIntervalMs: 600_000 });
  });

  after(async () => {
    await hollow?.stop();
    admin?.close();
    nodeClient?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the node lifecycle controller writes after the grace period. */
  async function markNodeUnknown(name: string): Promise<void> {
    const node = await admin.nodes.get(null, name);
    const now = rfc3339();
    const conditions = node.status.conditions.map((c: any) =>
      c.type === 'Ready' ? { ...c, status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastTransitionTime: now } : c,
    );
    await admin.nodes.updateStatus(null, { ...node, status: { ...node.status, conditions } });
  }

  /** What MarkPodsNotReady writes: the Ready condition's status flipped, everything else kept. */
  async function markPodNotReady(name: string, reason?: string): Promise<void> {
    const pod = await admin.pods.get('default', name);
    const conditions = pod.status.conditions.map((c: any) => (c.type === 'Ready' ? { ...c, status: 'False', ...(reason ? { reason } : {}) } : c));
    await admin.pods.updateStatus('default', { ...pod, status: { ...pod.status, conditions } });
  }

  async function runningPod(name: string, node: string, spec: KObject = {}): Promise<KObject> {
    const created = await admin.pods.create('default', { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], ...spec } });
    await admin.bind('default', name, node, { uid: created.metadata!.uid });
    return eventually(async () => {
      const p = await admin.pods.get('default', name);
      return p.status?.phase === 'Running' && p;
    }, `${name} Running`);
  }

  it('a node marked Unknown is reported Ready again right away, with a new transition time', async () => {
    const before = cond(await admin.nodes.get(null, 'hollow-node-1'), 'Ready');
    await sleep(1100); // a later second for the new lastTransitionTime
    const updates = hollow.stats.nodeStatusUpdates;
    await markNodeUnknown('hollow-node-1');
    const ready = await eventually(async () => {
      const c = cond(await admin.nodes.get(null, 'hollow-node-1'), 'Ready');
      return c.status === 'True' && c;
    }, 'node Ready again', 3000);
    assert.equal(ready.reason, 'KubeletReady');
    assert.notEqual(ready.lastTransitionTime, before.lastTransitionTime);
    assert.equal(hollow.stats.nodesRecovered, 1);
    assert.equal(hollow.stats.nodeStatusUpdates, updates + 1, 'one status write: the recovery (the periodic one is 10 minutes away)');
  });

  it('pods marked not ready (no reason) get Ready back; once their node is back when it was down too', async () => {
    await runningPod('a', 'hollow-node-2');
    await runningPod('b', 'hollow-node-2');
    // The node lifecycle controller's order: the node first, then its pods.
    await markNodeUnknown('hollow-node-2');
    await markPodNotReady('a');
    await markPodNotReady('b');
    for (const name of ['a', 'b']) {
      const pod = await eventually(async () => {
        const p = await admin.pods.get('default', name);
        return cond(p, 'Ready').status === 'True' && p;
      }, `${name} Ready again`);
      assert.equal(pod.status.phase, 'Running');
      assert.equal(cond(pod, 'ContainersReady').status, 'True');
    }
    assert.equal(cond(await admin.nodes.get(null, 'hollow-node-2'), 'Ready').status, 'True');
    assert.ok(hollow.stats.podsReadyRestored >= 2);
  });

  it('a Ready=False with a reason (a failing probe) stays; True again when set so', async () => {
    await runningPod('probed', 'hollow-node-0');
    await markPodNotReady('probed', 'ReadinessProbeFailed');
    await sleep(500);
    const pod = await admin.pods.get('default', 'probed');
    assert.deepEqual({ status: cond(pod, 'Ready').status, reason: cond(pod, 'Ready').reason }, { status: 'False', reason: 'ReadinessProbeFailed' });
    assert.equal(pod.status.phase, 'Running');
  });

  it('readiness gates: Ready only once the gate condition is True', async () => {
    const pod = await runningPod('gated', 'hollow-node-0', { readinessGates: [{ conditionType: 'example.com/lb-ready' }] });
    assert.deepEqual({ status: cond(pod, 'Ready').status, reason: cond(pod, 'Ready').reason }, { status: 'False', reason: 'ReadinessGatesNotReady' });
    await admin.pods.patch('default', 'gated', { status: { conditions: [{ type: 'example.com/lb-ready', status: 'True' }] } }, 'strategic', { subresource: 'status' });
    await eventually(async () => cond(await admin.pods.get('default', 'gated'), 'Ready').status === 'True', 'gated pod Ready');
  });
});
