// Disruption controller and the pods/eviction handler: PDB status over a deployment's ready
// pods (int and percent budgets, scale from the owning Deployment), and evictions that take
// disruptions from the budget until it refuses with 429.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startCluster, waitFor, isReady, template, type Cluster } from './deployment-harness.js';
import { handleEviction } from '../../src/apiserver/eviction.js';
import { systemContext } from '../../src/apiserver/context.js';
import type { HandlerEnv } from '../../src/apiserver/handlers.js';
import { ApiError } from '../../src/apiserver/errors.js';
import { scaledValue, countHealthyPods } from '../../src/controllers/disruption/controller.js';
import type { KObject } from '../../src/client/index.js';

let c: Cluster;
const ns = 'pdb-test';
before(async () => {
  c = await startCluster({ controllers: ['replicaset', 'deployment', 'disruption'] });
  await c.client.namespaces.create(null, { metadata: { name: ns } });
});
after(async () => {
  await c.close();
});

const appPods = (app: string) => c.pods.list(ns).filter((p) => p.metadata?.labels?.app === app && !p.metadata?.deletionTimestamp);

async function pdbStatus(name: string, pred: (s: any) => boolean): Promise<any> {
  return waitFor(async () => {
    const s = (await c.client.podDisruptionBudgets.get(ns, name)).status;
    return s && pred(s) && s;
  }, 10_000, `pdb ${name} status`);
}

/** Calls the eviction handler as the server would for POST pods/<name>/eviction. */
async function evict(name: string): Promise<{ code: number; body: any }> {
  const body = Buffer.from(JSON.stringify({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace: ns } }));
  const req = Object.assign(Readable.from([body]), { method: 'POST', headers: { 'content-type': 'application/json' } }) as unknown as IncomingMessage;
  let code = 0;
  let out = '';
  const res = { writeHead: (c: number) => void (code = c), end: (b: Buffer) => void (out = b.toString()) } as unknown as ServerResponse;
  const env = { registry: c.api.registry, cache: c.api.cache } as unknown as HandlerEnv;
  const pods = c.api.resources.find((r) => r.group === '' && r.plural === 'pods')!;
  try {
    await handleEviction(env, systemContext('test'), req, res, pods, ns, name);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { code: e.code, body: e.toStatus() };
  }
  return { code, body: JSON.parse(out) };
}

test('helpers: percent scaling rounds up; evicted and deleting pods are not healthy', () => {
  assert.equal(scaledValue('34%', 3), 2);
  assert.equal(scaledValue(1, 10), 1);
  const ready = (name: string, extra: any = {}): KObject => ({ metadata: { name, ...extra }, status: { conditions: [{ type: 'Ready', status: 'True' }] } });
  const now = Date.now();
  const pods = [ready('a'), ready('b', { deletionTimestamp: new Date(now).toISOString() }), ready('c'), { metadata: { name: 'd' } }];
  assert.equal(countHealthyPods(pods, { c: new Date(now - 1000).toISOString() }, now), 1);
  assert.equal(countHealthyPods(pods, { c: new Date(now - 3 * 60_000).toISOString() }, now), 2, 'stale disruption entries expire');
});

test('status for minAvailable and maxUnavailable budgets over a deployment', async () => {
  await c.client.deployments.create(ns, { metadata: { name: 'web' }, spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: template({ app: 'web' }) } });
  await waitFor(() => appPods('web').filter(isReady).length === 3, 10_000, '3 ready pods');

  await c.client.podDisruptionBudgets.create(ns, { metadata: { name: 'min2' }, spec: { minAvailable: 2, selector: { matchLabels: { app: 'web' } } } });
  const s = await pdbStatus('min2', (s) => s.observedGeneration === 1 && s.currentHealthy === 3);
  assert.equal(s.desiredHealthy, 2);
  assert.equal(s.expectedPods, 3);
  assert.equal(s.disruptionsAllowed, 1);
  assert.equal(s.conditions.length, 1);
  assert.deepEqual({ ...s.conditions[0], lastTransitionTime: undefined }, { type: 'DisruptionAllowed', status: 'True', reason: 'SufficientPods', message: '', lastTransitionTime: undefined });

  // maxUnavailable as a percent: expected pods come from the Deployment's replicas.
  await c.client.podDisruptionBudgets.create(ns, { metadata: { name: 'max' }, spec: { maxUnavailable: '34%', selector: { matchLabels: { app: 'web' } } } });
  const m = await pdbStatus('max', (s) => s.currentHealthy === 3);
  assert.deepEqual([m.expectedPods, m.desiredHealthy, m.disruptionsAllowed], [3, 1, 2]);
  await c.client.podDisruptionBudgets.delete(ns, 'max');

  // Raising minAvailable above the healthy count: no disruptions.
  await c.client.podDisruptionBudgets.patch(ns, 'min2', { spec: { minAvailable: 3 } }, 'merge');
  const full = await pdbStatus('min2', (s) => s.observedGeneration === 2);
  assert.deepEqual([full.desiredHealthy, full.disruptionsAllowed, full.conditions[0].status, full.conditions[0].reason], [3, 0, 'False', 'InsufficientPods']);
  await c.client.podDisruptionBudgets.patch(ns, 'min2', { spec: { minAvailable: 2 } }, 'merge');
  await pdbStatus('min2', (s) => s.observedGeneration === 3 && s.disruptionsAllowed === 1);
});

test('eviction takes a disruption, then answers 429 while the replacement is not ready', async () => {
  const initial = new Set(appPods('web').map((p) => p.metadata!.name!));
  c.holdBack((p) => p.metadata?.labels?.app === 'web' && !initial.has(p.metadata!.name!));
  const [first, second] = [...initial];

  const ok = await evict(first);
  assert.equal(ok.code, 201);
  assert.equal(ok.body.status, 'Success');
  await assert.rejects(c.client.pods.get(ns, first), (e: any) => e.code === 404);
  const after1 = await c.client.podDisruptionBudgets.get(ns, 'min2');
  assert.equal(after1.status.disruptionsAllowed, 0);

  const refused = await evict(second);
  assert.equal(refused.code, 429);
  assert.equal(refused.body.reason, 'TooManyRequests');
  assert.equal(refused.body.message, "Cannot evict pod as it would violate the pod's disruption budget.");
  assert.match(refused.body.details.causes[0].message, /^The disruption budget min2 needs 2 healthy pods and has \d currently$/);
  assert.equal(refused.body.details.causes[0].reason, 'DisruptionBudget');
  assert.ok(await c.client.pods.get(ns, second));

  // The controller settles: the evicted pod is gone, its replacement is not ready yet.
  // (minAvailable as an int: expected pods are the selected pods, replacement included.)
  const s = await pdbStatus('min2', (s) => s.currentHealthy === 2 && !s.disruptedPods && s.expectedPods === 3);
  assert.equal(s.disruptionsAllowed, 0);

  // Once the replacement is ready the budget allows one disruption again.
  c.holdBack(undefined);
  await pdbStatus('min2', (s) => s.currentHealthy === 3 && s.disruptionsAllowed === 1);
  assert.equal((await evict(second)).code, 201);

  // An unknown pod: 404.
  assert.equal((await evict('nope')).code, 404);
});
