// Pod garbage collector against a real API server: terminated pods beyond the threshold
// (evicted first, then oldest), pods on nodes that stay missing past the quarantine (marked
// Failed with a DisruptionTarget condition first), terminating pods on out-of-service nodes,
// and unscheduled terminating pods.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/api/types.js';
import { PodGCController } from '../../src/controllers/podgc/controller.js';
import { SharedInformer } from '../../src/client/index.js';
import { startEnv, waitFor, gone, podSpec, type Env } from './garbage-collector-harness.js';

let env: Env | undefined;
afterEach(async () => {
  await env?.close();
  env = undefined;
});

const ns = 'default';
async function pod(e: Env, name: string, spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}): Promise<KObject> {
  return e.client.pods.create(ns, { metadata: { name, ...meta }, spec: { ...podSpec, ...spec } });
}
async function setStatus(e: Env, name: string, status: Record<string, unknown>): Promise<void> {
  await e.client.pods.patch(ns, name, { status }, 'merge', { subresource: 'status' });
}
const exists = async (e: Env, name: string) => !(await gone(() => e.client.pods.get(ns, name)));

test('terminated pods beyond the threshold: evicted first, then the oldest', async () => {
  const e = (env = await startEnv([new PodGCController({ gcCheckPeriodMs: 100 })], { terminatedPodGCThreshold: 3 }));
  await pod(e, 'running');
  await setStatus(e, 'running', { phase: 'Running' });
  for (const n of ['p-a', 'p-b', 'p-c', 'p-d', 'p-e', 'p-f']) {
    await pod(e, n);
    await setStatus(e, n, { phase: n < 'p-d' ? 'Succeeded' : 'Failed' });
  }
  await pod(e, 'p-z-evicted');
  await setStatus(e, 'p-z-evicted', { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' });
  await waitFor(async () => (await e.client.pods.list(ns)).items.length === 4, 10_000, 'pods collected down to the threshold');
  const left = (await e.client.pods.list(ns)).items.map((p) => p.metadata!.name).sort();
  assert.deepEqual(left, ['p-d', 'p-e', 'p-f', 'running']);
});

test('pods on a node that stays missing are marked Failed with DisruptionTarget, then deleted', async () => {
  const e = (env = await startEnv([new PodGCController({ gcCheckPeriodMs: 100, quarantineMs: 1500 })], { terminatedPodGCThreshold: 0 }));
  await e.client.nodes.create(null, { metadata: { name: 'real-node' } });
  const watcher = new SharedInformer(e.client.pods);
  const finalStates = new Map<string, KObject>();
  watcher.addEventHandler({ onDelete: (p) => finalStates.set(p.metadata!.name!, p) });
  watcher.start();
  await watcher.waitForSync();
  try {
    await pod(e, 'on-real', { nodeName: 'real-node' });
    await pod(e, 'on-ghost', { nodeName: 'ghost-node' });
    await setStatus(e, 'on-ghost', { phase: 'Running' });
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(await exists(e, 'on-ghost'), 'kept during the quarantine');
    await waitFor(async () => !(await exists(e, 'on-ghost')), 10_000, 'orphaned pod deleted');
    assert.ok(await exists(e, 'on-real'));
    const last = await waitFor(() => finalStates.get('on-ghost'), 5000, 'delete event');
    assert.equal(last.status.phase, 'Failed');
    const cond = last.status.conditions.find((c: any) => c.type === 'DisruptionTarget');
    assert.deepEqual([cond.status, cond.reason, cond.message], ['True', 'DeletionByPodGC', 'PodGC: node no longer exists']);
  } finally {
    watcher.stop();
  }
});

test('terminating pods on a not-ready out-of-service node are force deleted', async () => {
  const e = (env = await startEnv([new PodGCController({ gcCheckPeriodMs: 100 })], { terminatedPodGCThreshold: 0 }));
  await e.client.nodes.create(null, {
    metadata: { name: 'down' },
    spec: { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] },
  });
  await e.client.nodes.patch(null, 'down', { status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletNotReady' }] } }, 'merge', { subresource: 'status' });
  await e.client.nodes.create(null, { metadata: { name: 'fine' } });
  await e.client.nodes.patch(null, 'fine', { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }] } }, 'merge', { subresource: 'status' });
  await pod(e, 'stuck', { nodeName: 'down' });
  await pod(e, 'healthy', { nodeName: 'fine' });
  await e.client.pods.delete(ns, 'stuck');
  await e.client.pods.delete(ns, 'healthy');
  await waitFor(async () => !(await exists(e, 'stuck')), 10_000, 'terminating pod on out-of-service node deleted');
  await new Promise((r) => setTimeout(r, 300));
  const healthy = await e.client.pods.get(ns, 'healthy');
  assert.ok(healthy.metadata?.deletionTimestamp, 'a pod on a ready node waits for its kubelet');
});

test('unscheduled terminating pods are marked Failed and deleted', async () => {
  const e = (env = await startEnv([new PodGCController({ gcCheckPeriodMs: 100 })], { terminatedPodGCThreshold: 0 }));
  await pod(e, 'pending', {}, { finalizers: ['example.com/hold'] });
  await e.client.pods.delete(ns, 'pending');
  const p = await waitFor(async () => {
    const o = await e.client.pods.get(ns, 'pending');
    return o.status?.phase === 'Failed' ? o : undefined;
  }, 10_000, 'pod marked Failed');
  assert.ok(p.metadata?.deletionTimestamp);
  await e.client.pods.patch(ns, 'pending', { metadata: { finalizers: null } }, 'merge');
  await waitFor(async () => !(await exists(e, 'pending')), 10_000, 'pod gone once its finalizer is removed');
});
