// A binding call that fails after the API server wrote the binding (a timeout after the write)
// must not make the scheduler forget the pod: it would drop out of the counts of the following
// cycles until the informer brings it back, and a topology spread constraint could be broken
// (the bench once ended with zone skew 2 under maxSkew 1). The scheduler asks the API server
// before forgetting.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client, type KObject } from '../../src/client/index.js';
import { startScheduler, type RunningScheduler } from '../../src/scheduler/scheduler.js';

const ZONE = 'topology.kubernetes.io/zone';

/** Writes the binding, then reports a failure, for the pods named in `flaky`. */
class BindWritesThenFails extends Client {
  readonly flaky = new Set<string>();
  failed = 0;
  override async bind(ns: string, pod: string, node: string, opts: { uid?: string; dryRun?: boolean } = {}): Promise<KObject> {
    const out = await super.bind(ns, pod, node, opts);
    if (this.flaky.has(pod)) {
      this.failed++;
      throw new Error(`POST pods/${pod}/binding: timed out after 60000 ms`);
    }
    return out;
  }
}

let api: ApiServer;
let dir: string;
let client: BindWritesThenFails;
let sched: RunningScheduler;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-sched-bind-'));
  api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  client = new BindWritesThenFails({
    inProcess: { connect: (u) => api.connect(u), user: { name: 'system:kube-scheduler', groups: ['system:authenticated', 'system:masters'] } },
    component: 'kube-scheduler',
    qps: 0,
  });
  for (let i = 0; i < 3; i++) {
    const name = `n${i}`;
    const status = { capacity: { cpu: '4', memory: '8Gi', pods: '110' }, allocatable: { cpu: '4', memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] };
    const created = await client.nodes.create(null, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, [ZONE]: `z${i}` } }, status });
    if (!created.status?.allocatable) await client.nodes.updateStatus(null, { ...created, status });
  }
  sched = await startScheduler({ client, identity: 'test-bind-failure_1', leaderElect: false });
});

after(async () => {
  await sched?.stop();
  client?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

function spreadPod(name: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'spread' } },
    spec: {
      containers: [{ name: 'c', image: 'busybox' }],
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'spread' } } }],
    },
  };
}

test('a binding written despite a failed call keeps the pod in the cache; spreading stays within maxSkew', async () => {
  const names = Array.from({ length: 9 }, (_, i) => `s-${i}`);
  for (const n of names) if (Number(n.slice(2)) % 2 === 0) client.flaky.add(n);
  for (const n of names) await client.pods.create('default', spreadPod(n));
  const nodeOf = new Map<string, string>();
  for (const deadline = Date.now() + 15_000; nodeOf.size < names.length; ) {
    if (Date.now() > deadline) throw new Error(`only ${nodeOf.size} of ${names.length} pods bound`);
    for (const p of (await client.pods.list('default')).items) if (p.spec?.nodeName) nodeOf.set(p.metadata!.name!, p.spec.nodeName);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(client.failed >= 1, 'some binding calls failed');
  // Every pod is bound once, and the scheduler counted none of them as an error.
  assert.equal(sched.scheduler.stats.errors, 0);
  assert.equal(sched.scheduler.stats.scheduled, names.length);
  for (const n of names) {
    const pod = await client.pods.get('default', n);
    assert.ok(sched.scheduler.cache.hasPod(pod), `${n} in the cache`);
  }
  const perNode = new Map<string, number>();
  for (const n of nodeOf.values()) perNode.set(n, (perNode.get(n) ?? 0) + 1);
  assert.deepEqual([...perNode.values()].sort(), [3, 3, 3]);
  const failedEvents = (await client.events.list('default')).items.filter((e: any) => e.reason === 'FailedScheduling');
  assert.equal(failedEvents.length, 0);
});
