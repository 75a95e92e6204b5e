// Scheduling-cycle cost with the default plugins on 1,000 nodes: snapshot update, PreFilter,
// Filter (adaptive sample), Score, Reserve/Permit and assume, per pod. No API involved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheSnapshot, SchedulerCache } from '../../src/scheduler/cache.js';
import { defaultSchedulerConfig } from '../../src/scheduler/config.js';
import { Framework } from '../../src/scheduler/framework/runtime.js';
import { podInfo } from '../../src/scheduler/framework/node-info.js';
import { CycleState } from '../../src/scheduler/framework/types.js';
import { DEFAULT_PLUGINS, inTreeRegistry } from '../../src/scheduler/plugins/index.js';

const NODES = 1000;
const PODS = 2000;

test(`cycle time per pod with ${NODES} nodes and the default plugins`, async () => {
  const cfg = await defaultSchedulerConfig({ registry: inTreeRegistry(), defaultPlugins: DEFAULT_PLUGINS });
  const cache = new SchedulerCache();
  const snapshot = new CacheSnapshot();
  const listers = { namespaceLabels: () => ({}), priorityClass: () => undefined, pvc: () => undefined, pv: () => undefined, pdbs: () => [], selectorsForPod: () => [] };
  const fwk = new Framework(cfg.profiles[0], cfg.registry, { snapshot, listers, nominatedPods: () => [] });
  for (let i = 0; i < NODES; i++)
    cache.addNode({
      metadata: { name: `node-${i}`, labels: { 'kubernetes.io/hostname': `node-${i}`, 'topology.kubernetes.io/zone': `zone-${i % 3}` } },
      status: { allocatable: { cpu: '32', memory: '128Gi', pods: '110' }, images: [{ names: ['nginx:1.25'], sizeBytes: 70_000_000 }] },
    });
  // Existing load: 10 pods per node.
  for (let i = 0; i < NODES * 10; i++)
    cache.addPod({
      metadata: { name: `existing-${i}`, namespace: 'default', uid: `e-${i}`, labels: { app: `app-${i % 20}` } },
      spec: { nodeName: `node-${i % NODES}`, containers: [{ name: 'c', image: 'nginx:1.25', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
    });
  const pods = Array.from({ length: PODS }, (_, i) => ({
    metadata: { name: `p-${i}`, namespace: 'default', uid: `p-${i}`, labels: { app: `web-${i % 10}` } },
    spec: { containers: [{ name: 'c', image: 'nginx:1.25', resources: { requests: { cpu: '250m', memory: '256Mi' } } }] },
  }));
  const cycle = async (i: number) => {
    const pi = podInfo(pods[i]);
    cache.updateSnapshot(snapshot);
    const state = new CycleState();
    const { nodeName } = await fwk.schedulePod(state, pi.pod, snapshot);
    const assumed = cache.assumePod(pi, nodeName);
    assert.ok(fwk.runReservePluginsReserve(state, assumed, nodeName).isSuccess());
    assert.ok(fwk.runPermitPlugins(state, assumed, nodeName).isSuccess());
    return nodeName;
  };
  for (let i = 0; i < 200; i++) await cycle(i); // warm-up
  const start = performance.now();
  const used = new Set<string>();
  for (let i = 200; i < PODS; i++) used.add(await cycle(i));
  const perPod = (performance.now() - start) / (PODS - 200);
  console.log(`# ${NODES} nodes, ${NODES * 10} existing pods: ${perPod.toFixed(3)} ms per pod (${Math.round(1000 / perPod)} pods/s), ${used.size} distinct nodes used`);
  assert.ok(used.size > 100, 'pods spread over many nodes');
  assert.ok(perPod < 50, `cycle too slow: ${perPod} ms`);
});
