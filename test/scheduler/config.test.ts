import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSchedulerConfig, parseSchedulerConfig, durationMs } from '../../src/scheduler/config.js';
import { DEFAULT_PLUGINS, inTreeRegistry } from '../../src/scheduler/plugins/index.js';
import { Framework } from '../../src/scheduler/framework/runtime.js';
import { snapshotOf } from '../../src/scheduler/framework/node-info.js';

const opts = () => ({ registry: inTreeRegistry(), defaultPlugins: DEFAULT_PLUGINS });
const listers = { namespaceLabels: () => undefined, priorityClass: () => undefined, pvc: () => undefined, pv: () => undefined, pdbs: () => [] };
const fwkOf = (p: any, registry: any) => new Framework(p, registry, { snapshot: snapshotOf([]), listers });

test('defaults: one default-scheduler profile with upstream plugins and weights', async () => {
  const cfg = await parseSchedulerConfig('apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n', opts());
  assert.equal(cfg.profiles.length, 1);
  assert.equal(cfg.profiles[0].schedulerName, 'default-scheduler');
  assert.equal(cfg.leaderElection.leaderElect, true);
  assert.equal(cfg.leaderElection.resourceName, 'kube-scheduler');
  assert.equal(cfg.podInitialBackoffSeconds, 1);
  assert.equal(cfg.podMaxBackoffSeconds, 10);
  const f = fwkOf(cfg.profiles[0], cfg.registry);
  const weights = Object.fromEntries(f.scorePlugins.map((p, i) => [p.name, f.scoreWeights[i]]));
  assert.equal(weights.TaintToleration, 3);
  assert.equal(weights.NodeAffinity, 2);
  assert.equal(weights.PodTopologySpread, 2);
  assert.equal(weights.InterPodAffinity, 2);
  assert.equal(weights.NodeResourcesFit, 1);
  assert.ok(f.filterPlugins.some((p) => p.name === 'NodeResourcesFit'));
  assert.deepEqual(f.bindPlugins.map((p) => p.name), ['DefaultBinder']);
  assert.deepEqual(f.postFilterPlugins.map((p) => p.name), ['DefaultPreemption']);
});

test('enable/disable/weights and multiple profiles', async () => {
  const cfg = await parseSchedulerConfig(
    `
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
percentageOfNodesToScore: 30
leaderElection:
  leaderElect: false
  leaseDuration: 20s
profiles:
- schedulerName: default-scheduler
  plugins:
    score:
      disabled:
      - name: ImageLocality
      enabled:
      - name: NodeResourcesFit
        weight: 5
- schedulerName: no-scoring
  percentageOfNodesToScore: 50
  plugins:
    multiPoint:
      disabled:
      - name: '*'
      enabled:
      - name: NodeName
      - name: NodeResourcesFit
      - name: DefaultBinder
    filter:
      disabled:
      - name: NodeName
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
`,
    opts(),
  );
  assert.equal(cfg.percentageOfNodesToScore, 30);
  assert.equal(cfg.leaderElection.leaderElect, false);
  assert.equal(cfg.leaderElection.leaseDurationMs, 20_000);
  assert.deepEqual(cfg.profiles.map((p) => p.schedulerName), ['default-scheduler', 'no-scoring']);
  const f1 = fwkOf(cfg.profiles[0], cfg.registry);
  const names1 = f1.scorePlugins.map((p) => p.name);
  assert.ok(!names1.includes('ImageLocality'));
  assert.equal(names1[0], 'NodeResourcesFit', 'explicitly configured plugins come first');
  assert.equal(f1.scoreWeights[0], 5);
  assert.ok(f1.filterPlugins.some((p) => p.name === 'NodeName'));

  const f2 = fwkOf(cfg.profiles[1], cfg.registry);
  assert.equal(f2.percentageOfNodesToScore, 50);
  assert.deepEqual(f2.filterPlugins.map((p) => p.name), ['NodeResourcesFit']);
  assert.deepEqual(f2.scorePlugins.map((p) => p.name), ['NodeResourcesFit']);
  assert.deepEqual(cfg.profiles[1].pluginConfig.get('NodeResourcesFit'), { scoringStrategy: { type: 'MostAllocated' } });

  await assert.rejects(parseSchedulerConfig('profiles: [{schedulerName: a}, {schedulerName: a}]', opts()), /Duplicate value/);
  await assert.rejects(parseSchedulerConfig('profiles: [{plugins: {filter: {enabled: [{name: Nope}]}}}]', opts()), /"Nope" does not exist/);
  await assert.rejects(parseSchedulerConfig('apiVersion: kubescheduler.config.k8s.io/v1beta3', opts()), /unsupported apiVersion/);
  await assert.rejects(parseSchedulerConfig('percentageOfNodesToScore: 101', opts()), /not in valid range/);
  assert.equal(durationMs('1m30s', 0), 90_000);
  assert.equal(durationMs('250ms', 0), 250);
});

test('out-of-tree plugin loaded from an ESM module', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-sched-cfg-'));
  try {
    writeFileSync(
      join(dir, 'zone-pinner.mjs'),
      `export default function factory(args, handle) {
         return {
           name: 'ZonePinner',
           filter(state, pod, node) {
             return node.node.metadata.labels?.zone === args.zone ? { code: 0, reasons: [], isSuccess: () => true, isRejected: () => false } : { code: 2, reasons: ['wrong zone'], isSuccess: () => false, isRejected: () => true };
           },
         };
       }\n`,
    );
    writeFileSync(
      join(dir, 'config.yaml'),
      `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
skiff:
  plugins:
    ZonePinner: ./zone-pinner.mjs
profiles:
- schedulerName: pinned
  plugins:
    filter:
      enabled:
      - name: ZonePinner
  pluginConfig:
  - name: ZonePinner
    args: {zone: east}
`,
    );
    const cfg = await loadSchedulerConfig(join(dir, 'config.yaml'), opts());
    assert.ok(cfg.registry.has('ZonePinner'));
    const f = fwkOf(cfg.profiles[0], cfg.registry);
    const names = f.filterPlugins.map((p) => p.name);
    assert.equal(names[names.length - 1], 'ZonePinner');
    const pl = f.plugins.get('ZonePinner')!;
    assert.equal(pl.filter!(null as any, {}, { node: { metadata: { labels: { zone: 'east' } } } } as any).code, 0);
    writeFileSync(join(dir, 'bad.yaml'), 'skiff: {plugins: {Broken: ./missing.mjs}}\n');
    await assert.rejects(loadSchedulerConfig(join(dir, 'bad.yaml'), opts()), /loading plugin "Broken"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
