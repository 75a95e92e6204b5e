// The scheduler against a real API server in-process: pods get bound, unschedulable pods get
// the FailedScheduling event and PodScheduled condition, and move back when a node appears.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client } from '../../src/client/index.js';
import { startScheduler, type RunningScheduler } from '../../src/scheduler/scheduler.js';

let api: ApiServer;
let dir: string;
let client: Client;
let sched: RunningScheduler;
const IDENTITY = 'test-scheduler_1';

function node(name: string, cpu: string, extra: any = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(extra.labels ?? {}) } },
    spec: { ...(extra.spec ?? {}) },
    status: {
      capacity: { cpu, memory: '8Gi', pods: '110' },
      allocatable: { cpu, memory: '8Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready', lastHeartbeatTime: new Date().toISOString(), lastTransitionTime: new Date().toISOString() }],
    },
  };
}

function pod(name: string, cpu: string, extra: any = {}): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'test' } },
    spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu } } }], ...extra },
  };
}

async function createNode(n: any): Promise<void> {
  const created = await client.nodes.create(null, n);
  if (!created.status?.allocatable) await client.nodes.updateStatus(null, { ...created, status: n.status });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function boundNode(name: string): Promise<string | undefined> {
  const p = await client.pods.get('default', name);
  return p.spec?.nodeName || undefined;
}

async function eventsFor(name: string, reason: string): Promise<any[]> {
  const list = await client.events.list('default');
  return list.items.filter((e: any) => e.regarding?.name === name && e.reason === reason);
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-sched-'));
  api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  client = new Client({
    inProcess: { connect: (u) => api.connect(u), user: { name: 'system:kube-scheduler', groups: ['system:authenticated', 'system:masters'] } },
    component: 'kube-scheduler',
    qps: 0,
  });
  await createNode(node('worker-1', '2'));
  await createNode(node('worker-2', '2'));
  await createNode(node('control-plane', '8', { spec: { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] } }));
  sched = await startScheduler({ client, identity: IDENTITY, leaderElect: true });
});

after(async () => {
  await sched?.stop();
  client?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the leader holds Lease kube-system/kube-scheduler', async () => {
  const lease = await waitFor('lease', async () => {
    try {
      const l = await client.leases.get('kube-system', 'kube-scheduler');
      return l.spec?.holderIdentity ? l : undefined;
    } catch {
      return undefined;
    }
  });
  assert.equal(lease.spec.holderIdentity, IDENTITY);
});

test('pods are bound to untainted nodes with room, with a Scheduled event', async () => {
  for (let i = 0; i < 4; i++) await client.pods.create('default', pod(`small-${i}`, '500m'));
  const nodes: string[] = [];
  for (let i = 0; i < 4; i++) nodes.push(await waitFor(`small-${i} bound`, () => boundNode(`small-${i}`)));
  for (const n of nodes) assert.ok(n === 'worker-1' || n === 'worker-2', `bound to ${n}`);
  // LeastAllocated + balanced allocation spread 4 equal pods 2/2.
  assert.equal(nodes.filter((n) => n === 'worker-1').length, 2);
  const ev = await waitFor('Scheduled event', async () => (await eventsFor('small-0', 'Scheduled'))[0]);
  assert.equal(ev.type, 'Normal');
  assert.equal(ev.note, `Successfully assigned default/small-0 to ${nodes[0]}`);
  assert.equal(ev.reportingController, 'default-scheduler');
  assert.equal(ev.action, 'Binding');
});

test('an unschedulable pod gets FailedScheduling and PodScheduled=False, then fits when a node is added', async () => {
  await client.pods.create('default', pod('huge', '3'));
  const ev = await waitFor('FailedScheduling event', async () => (await eventsFor('huge', 'FailedScheduling'))[0]);
  console.log(`# FailedScheduling: ${ev.note}`);
  assert.equal(ev.type, 'Warning');
  assert.equal(ev.action, 'Scheduling');
  assert.ok(
    ev.note.startsWith('0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu. preemption: 0/3 nodes are available:'),
    ev.note,
  );
  const cond = await waitFor('PodScheduled condition', async () => {
    const p = await client.pods.get('default', 'huge');
    return (p.status?.conditions ?? []).find((c: any) => c.type === 'PodScheduled');
  });
  assert.equal(cond.status, 'False');
  assert.equal(cond.reason, 'Unschedulable');
  assert.equal(cond.message, ev.note);

  await createNode(node('big', '16'));
  assert.equal(await waitFor('huge bound after node add', () => boundNode('huge')), 'big');
});

test('pods for other schedulers and gated pods are left alone', async () => {
  await client.pods.create('default', pod('other', '100m', { schedulerName: 'someone-else' }));
  await client.pods.create('default', pod('gated', '100m', { schedulingGates: [{ name: 'example.com/hold' }] }));
  await client.pods.create('default', pod('marker', '100m'));
  await waitFor('marker bound', () => boundNode('marker'));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await boundNode('other'), undefined);
  assert.equal(await boundNode('gated'), undefined);
  // Removing the gate lets it be scheduled.
  await client.pods.patch('default', 'gated', [{ op: 'remove', path: '/spec/schedulingGates' }], 'json');
  assert.ok(await waitFor('gated bound after ungating', () => boundNode('gated')));
});

test('cycle statistics are kept', () => {
  const s = sched.scheduler;
  assert.ok(s.stats.scheduled >= 6);
  assert.ok(s.stats.unschedulable >= 1);
  assert.ok(s.averageCycleMs() > 0);
});
