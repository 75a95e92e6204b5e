// Resource quota controller: status.hard mirrors spec.hard, used counts existing objects
// (scopes, count/<resource>.<group> through discovery, storage requests), and kubectl's
// quota table; plus the quantity arithmetic it relies on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, waitFor, type Cluster } from './deployment-harness.js';
import { formatQuantity, parseQuantity } from '../../src/controllers/resourcequota/quantity.js';

let c: Cluster;
const ns = 'rq-ctrl';
before(async () => {
  c = await startCluster({ controllers: ['resourcequota'] });
  await c.client.namespaces.create(null, { metadata: { name: ns } });
});
after(async () => {
  await c.close();
});

test('quantities: exact sums and upstream canonical strings', () => {
  const f = (s: string | number) => formatQuantity(parseQuantity(s)!);
  assert.deepEqual(['100m', '1.5', '1500', '2000', '1024Mi', '1536Mi', '0.5Gi', '1e3', 3, '1Ki', '0'].map(f), ['100m', '1500m', '1500', '2k', '1Gi', '1536Mi', '512Mi', '1k', '3', '1Ki', '0']);
});

test('used counts existing objects by scope, kind and storage', async () => {
  const container = (resources?: any) => ({ name: 'app', image: 'nginx', ...(resources ? { resources } : {}) });
  await c.client.pods.create(ns, { metadata: { name: 'besteffort' }, spec: { containers: [container()] } });
  await c.client.pods.create(ns, { metadata: { name: 'burstable' }, spec: { containers: [container({ requests: { cpu: '250m', memory: '64Mi' } })] } });
  await c.client.deployments.create(ns, { metadata: { name: 'd' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [container()] } } } });
  await c.client.persistentVolumeClaims.create(ns, { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'fast', resources: { requests: { storage: '2Gi' } } } });

  await c.client.resourceQuotas.create(ns, { metadata: { name: 'all' }, spec: { hard: { pods: '10', 'requests.cpu': '2', 'count/deployments.apps': '3', 'requests.storage': '10Gi', 'fast.storageclass.storage.k8s.io/persistentvolumeclaims': '1', 'limits.memory': '2048Mi' } } });
  await c.client.resourceQuotas.create(ns, { metadata: { name: 'be' }, spec: { hard: { pods: '5' }, scopes: ['BestEffort'] } });
  await c.client.resourceQuotas.create(ns, { metadata: { name: 'nbe' }, spec: { hard: { pods: '5', memory: '1Gi' }, scopes: ['NotBestEffort'] } });

  const all = await waitFor(async () => (await c.client.resourceQuotas.get(ns, 'all')).status?.used && (await c.client.resourceQuotas.get(ns, 'all')).status, 10_000, 'all');
  assert.deepEqual(all.hard, { 'count/deployments.apps': '3', 'fast.storageclass.storage.k8s.io/persistentvolumeclaims': '1', 'limits.memory': '2Gi', pods: '10', 'requests.cpu': '2', 'requests.storage': '10Gi' });
  assert.deepEqual(all.used, { 'count/deployments.apps': '1', 'fast.storageclass.storage.k8s.io/persistentvolumeclaims': '1', 'limits.memory': '0', pods: '2', 'requests.cpu': '250m', 'requests.storage': '2Gi' });
  const be = await waitFor(async () => (await c.client.resourceQuotas.get(ns, 'be')).status?.used, 10_000, 'be');
  assert.deepEqual(be, { pods: '1' });
  const nbe = await waitFor(async () => (await c.client.resourceQuotas.get(ns, 'nbe')).status?.used, 10_000, 'nbe');
  assert.deepEqual(nbe, { memory: '64Mi', pods: '1' });

  // A spec change is reflected in status.hard (and used for the new name).
  await c.client.resourceQuotas.patch(ns, 'be', { spec: { hard: { pods: '4', 'count/pods': '9' } } }, 'merge');
  await waitFor(async () => (await c.client.resourceQuotas.get(ns, 'be')).status?.hard?.pods === '4', 10_000, 'new hard');

  const out = await c.kubectl('get', 'quota', 'all', '-n', ns);
  assert.equal(out.code, 0, out.stderr);
  const [header, row] = out.stdout.trim().split('\n');
  assert.match(header, /^NAME\s+AGE\s+REQUEST\s+LIMIT$/);
  assert.match(row, /^all\s+\S+\s+count\/deployments.apps: 1\/3, fast.storageclass.storage.k8s.io\/persistentvolumeclaims: 1\/1, pods: 2\/10, requests.cpu: 250m\/2, requests.storage: 2Gi\/10Gi\s+limits.memory: 0\/2Gi$/);
});
