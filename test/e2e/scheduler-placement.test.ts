// The scheduler end to end: `skiff server` (scheduler and controller manager in-process), 50
// simulated nodes from a `skiff hollow-nodes` process, and the real kubectl. The test labels,
// taints and patches a few nodes, applies Deployments and Pods from test/fixtures/scheduler,
// and checks that each pod lands where upstream's kube-scheduler would put it, that unschedulable
// pods carry upstream's FailedScheduling message, that a high-priority pod preempts a low one,
// and that the hollow nodes run what was bound (Running, with a pod IP).
//
// Nodes (see test/fixtures/scheduler/placement.yaml): hollow-node-0..49, 32 CPUs, zone-<i % 3>;
//   0..4 disktype=ssd; 40..44 tainted dedicated=infra:NoSchedule; 45..49 the GPU pool
//   (96 CPUs, 1Ti, example.com/gpu: 4, advertised by a status patch as a device plugin would).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { startHollow, type Hollow } from '../helpers/hollow.js';
import { fixture, spawnKubectl, waitUntil, type BackgroundKubectl } from './util.js';

const NODES = 50;
const node = (i: number) => `hollow-node-${i}`;
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);
const SSD = range(0, 4).map(node);
const INFRA = range(40, 44).map(node);
const GPU = range(45, 49).map(node);
const zoneOf = (name: string) => `zone-${Number(name.slice('hollow-node-'.length)) % 3}`;

/** Replicas each Deployment of placement.yaml should get bound (one-per-zone: one per zone of three). */
const EXPECTED_BOUND: Record<string, number> = {
  'ssd-selector': 3,
  'zone1-affinity': 4,
  'prefers-ssd': 3,
  'one-per-node': 5,
  'one-per-zone': 3,
  'zone-spread': 7,
  infra: 3,
  'big-cpu': 2,
  gpu: 2,
};

// Upstream's text for the pods of unschedulable.yaml on this cluster. The five tainted nodes fail
// TaintToleration, which runs before the other filters; reasons are byte-sorted with their counts.
const TAINTED = '5 node(s) had untolerated taint {dedicated: infra}';
const NOT_HELPFUL = `preemption: 0/${NODES} nodes are available: ${NODES} Preemption is not helpful for scheduling.`;
const NO_VICTIMS = `preemption: 0/${NODES} nodes are available: 45 No preemption victims found for incoming pod, 5 Preemption is not helpful for scheduling.`;
const UNSCHEDULABLE: Record<string, string> = {
  'no-such-disk': `0/${NODES} nodes are available: 45 node(s) didn't match Pod's node affinity/selector, ${TAINTED}. ${NOT_HELPFUL}.`,
  // More than any node's allocatable: unresolvable, so preemption is not tried (upstream since 1.30).
  'too-much-cpu': `0/${NODES} nodes are available: 45 Insufficient cpu, ${TAINTED}. ${NOT_HELPFUL}.`,
  'too-many-gpus': `0/${NODES} nodes are available: 45 Insufficient example.com/gpu, ${TAINTED}. ${NOT_HELPFUL}.`,
  'needs-missing-peer': `0/${NODES} nodes are available: 45 node(s) didn't match pod affinity rules, ${TAINTED}. ${NOT_HELPFUL}.`,
};

interface PodSummary {
  name: string;
  app?: string;
  node?: string;
  phase?: string;
  podIP?: string;
  nominated?: string;
  tolerates: boolean;
}

describe('scheduler: placement on 50 hollow nodes (kubectl, Deployments)', () => {
  let s: TestServer;
  let hollow: Hollow | undefined;
  const watchers: BackgroundKubectl[] = [];

  const json = async (...args: string[]) => JSON.parse(await s.k(...args, '-o', 'json'));

  async function pods(): Promise<PodSummary[]> {
    const list = await json('get', 'pods', '-n', 'placement');
    return list.items.map((p: any) => ({
      name: p.metadata.name,
      app: p.metadata.labels?.app,
      node: p.spec.nodeName,
      phase: p.status?.phase,
      podIP: p.status?.podIP,
      nominated: p.status?.nominatedNodeName,
      tolerates: (p.spec.tolerations ?? []).some((t: any) => t.key === 'dedicated'),
    }));
  }

  /** The bound pods of a Deployment, once it has `EXPECTED_BOUND[app]` of them. */
  async function bound(app: string): Promise<PodSummary[]> {
    let last: PodSummary[] = [];
    try {
      return await waitUntil(
        async () => {
          last = (await pods()).filter((p) => p.app === app);
          const b = last.filter((p) => p.node);
          return b.length >= EXPECTED_BOUND[app] ? b : undefined;
        },
        `${EXPECTED_BOUND[app]} pods of ${app} bound`,
        20_000,
        250,
      );
    } catch (e) {
      throw new Error(`${(e as Error).message}; pods: ${JSON.stringify(last)}`);
    }
  }

  before(async () => {
    s = await startServer();
    // The GPU pool is advertised by a status patch: a long status period keeps the hollow nodes
    // from writing their template status over it during the test.
    hollow = await startHollow(s.kubeconfig, ['--count', String(NODES), '--node-status-report-frequency', '10m']);

    await s.k('label', 'nodes', ...SSD, 'disktype=ssd');
    await s.k('label', 'nodes', ...INFRA, 'dedicated=infra');
    await s.k('taint', 'nodes', ...INFRA, 'dedicated=infra:NoSchedule');
    await s.k('label', 'nodes', ...GPU, 'node-pool=gpu');
    const big = { cpu: '96', memory: '1Ti', 'example.com/gpu': '4' };
    for (const n of GPU) await s.k('patch', 'node', n, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { capacity: big, allocatable: big } }));

    // The scheduler's node informer sees the changes in order: once a pod that needs the last
    // patched node's GPU is bound, it has seen them all.
    const probe = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'node-sync-probe', namespace: 'default' },
      spec: {
        nodeSelector: { 'kubernetes.io/hostname': GPU[GPU.length - 1] },
        containers: [{ name: 'app', image: 'registry.example/app:1', resources: { requests: { 'example.com/gpu': '1' }, limits: { 'example.com/gpu': '1' } } }],
      },
    };
    const r = await s.kubectl(['create', '-f', '-'], { input: JSON.stringify(probe) });
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(async () => (await s.k('get', 'pod', 'node-sync-probe', '-o', 'jsonpath={.spec.nodeName}')).trim() === GPU[GPU.length - 1], 'the probe pod to be bound', 20_000, 100);
    await s.k('delete', 'pod', 'node-sync-probe', '--wait=false');

    await s.k('apply', '-f', fixture('scheduler/placement.yaml'), '-f', fixture('scheduler/unschedulable.yaml'));
  });

  after(async () => {
    for (const w of watchers) await w.kill();
    await hollow?.kill();
    await s?.stop();
  });

  it('registers 50 Ready nodes with the labels, taints and GPU capacity the test set', async () => {
    const list = await json('get', 'nodes');
    assert.equal(list.items.length, NODES);
    for (const n of list.items) {
      const ready = n.status.conditions.find((c: any) => c.type === 'Ready');
      assert.equal(ready?.status, 'True', `${n.metadata.name} Ready`);
    }
    const byName = new Map<string, any>(list.items.map((n: any) => [n.metadata.name, n]));
    for (const n of INFRA) assert.deepEqual(byName.get(n).spec.taints, [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }]);
    for (const n of GPU) assert.equal(byName.get(n).status.allocatable['example.com/gpu'], '4');
  });

  it('nodeSelector: every replica on a disktype=ssd node', async () => {
    for (const p of await bound('ssd-selector')) assert.ok(SSD.includes(p.node!), `${p.name} on ${p.node}`);
  });

  it('required node affinity: zone-1 only, never the GPU pool (In + DoesNotExist)', async () => {
    for (const p of await bound('zone1-affinity')) {
      assert.equal(zoneOf(p.node!), 'zone-1', `${p.name} on ${p.node}`);
      assert.ok(!GPU.includes(p.node!) && !INFRA.includes(p.node!), `${p.name} on ${p.node}`);
    }
  });

  it('preferred node affinity: weight 100 for ssd outweighs the resource and spread scores', async () => {
    for (const p of await bound('prefers-ssd')) assert.ok(SSD.includes(p.node!), `${p.name} on ${p.node}`);
  });

  it('required pod anti-affinity on hostname: five replicas on five different nodes', async () => {
    const nodes = (await bound('one-per-node')).map((p) => p.node!);
    assert.equal(new Set(nodes).size, 5, `nodes: ${nodes}`);
  });

  it('required pod anti-affinity on zone: one replica per zone, the fourth Pending with the reason', async () => {
    const b = await bound('one-per-zone');
    assert.deepEqual(b.map((p) => zoneOf(p.node!)).sort(), ['zone-0', 'zone-1', 'zone-2']);
    const pending = (await pods()).filter((p) => p.app === 'one-per-zone' && !p.node);
    assert.equal(pending.length, 1);
    const expected = `0/${NODES} nodes are available: 45 node(s) didn't match pod anti-affinity rules, ${TAINTED}. ${NO_VICTIMS}.`;
    await describeShows(pending[0].name, expected);
  });

  it('topology spread, maxSkew 1 over zones (DoNotSchedule): seven replicas split 3/2/2', async () => {
    const b = await bound('zone-spread');
    const counts = new Map<string, number>();
    for (const p of b) counts.set(zoneOf(p.node!), (counts.get(zoneOf(p.node!)) ?? 0) + 1);
    assert.deepEqual([...counts.values()].sort(), [2, 2, 3], `per zone: ${JSON.stringify([...counts])}`);
  });

  it('tolerations: tolerating replicas go to the tainted nodes, nothing else does', async () => {
    for (const p of await bound('infra')) assert.ok(INFRA.includes(p.node!), `${p.name} on ${p.node}`);
    for (const app of Object.keys(EXPECTED_BOUND)) await bound(app);
    const intruders = (await pods()).filter((p) => p.node && INFRA.includes(p.node) && !p.tolerates);
    assert.deepEqual(intruders, []);
  });

  it('resource requests: 48-CPU replicas fit only the 96-CPU nodes; GPU requests only the GPU pool', async () => {
    for (const p of await bound('big-cpu')) assert.ok(GPU.includes(p.node!), `${p.name} on ${p.node}`);
    for (const p of await bound('gpu')) assert.ok(GPU.includes(p.node!), `${p.name} on ${p.node}`);
  });

  /** Waits until `kubectl describe pod` lists a FailedScheduling event with exactly this message. */
  async function describeShows(name: string, message: string): Promise<void> {
    let out = '';
    try {
      await waitUntil(
        async () => {
          out = await s.k('describe', 'pod', '-n', 'placement', name);
          return out.split('\n').some((l) => /\bWarning\s+FailedScheduling\b/.test(l) && l.trimEnd().endsWith(`default-scheduler  ${message}`));
        },
        `FailedScheduling for ${name}`,
        15_000,
        250,
      );
    } catch {
      assert.fail(`kubectl describe pod ${name} does not show\n  ${message}\nEvents:\n${out.slice(out.indexOf('Events:'))}`);
    }
  }

  it('unschedulable pods: kubectl describe shows upstream FailedScheduling messages', async () => {
    for (const [name, message] of Object.entries(UNSCHEDULABLE)) await describeShows(name, message);
    const byName = new Map((await json('get', 'pods', '-n', 'placement')).items.map((p: any) => [p.metadata.name, p]));
    for (const [name, message] of Object.entries(UNSCHEDULABLE)) {
      const p: any = byName.get(name);
      assert.equal(p.spec.nodeName, undefined);
      const cond = p.status.conditions?.find((c: any) => c.type === 'PodScheduled');
      assert.deepEqual({ status: cond?.status, reason: cond?.reason, message: cond?.message }, { status: 'False', reason: 'Unschedulable', message }, name);
    }
  });

  it('hollow nodes run every bound pod: Running with a pod IP', async () => {
    for (const app of Object.keys(EXPECTED_BOUND)) await bound(app);
    let last: PodSummary[] = [];
    await waitUntil(
      async () => {
        last = (await pods()).filter((p) => p.node && (p.phase !== 'Running' || !p.podIP));
        return last.length === 0;
      },
      'bound pods Running with IPs',
      15_000,
      250,
    ).catch((e) => assert.fail(`${(e as Error).message}: ${JSON.stringify(last)}`));
    const all = (await pods()).filter((p) => p.node);
    assert.equal(new Set(all.map((p) => p.podIP)).size, all.length, 'pod IPs are unique');
    const wide = await s.k('get', 'pods', '-n', 'placement', '-l', 'app=gpu', '-o', 'wide');
    assert.match(wide, /^gpu-\S+\s+1\/1\s+Running\s+0\s+\S+\s+\d+\.\d+\.\d+\.\d+\s+hollow-node-4[5-9]\s/m);
  });

  /**
   * Preemption on a full node: `victim` (from victimFile) holds 30 of the node's 32 CPUs; the
   * preemptor (from preemptorFile) needs 3 there. Upstream deletes the victim (a Preempted
   * event), shows the nomination on the preemptor, then binds it to the node.
   */
  async function preemption(o: { victimFile: string; victim: string; victimPriority: number; preemptorFile: string; preemptor: string; preemptorPriority: number; node: string }) {
    const get = (name: string, jsonpath: string) => s.k('get', 'pod', '-n', 'placement', name, '-o', `jsonpath=${jsonpath}`);
    await s.k('apply', '-f', fixture(o.victimFile));
    await waitUntil(async () => (await get(o.victim, '{.status.phase} {.spec.nodeName}')) === `Running ${o.node}`, `${o.victim} Running on ${o.node}`, 15_000, 100);
    assert.equal(await get(o.victim, '{.spec.priority}'), String(o.victimPriority), `${o.victim}'s spec.priority`);
    const victimUid = await get(o.victim, '{.metadata.uid}');
    // Every version of the pods as kubectl prints them: the nomination must show up before the binding.
    const w = spawnKubectl(s.kubeconfig, ['get', 'pods', '-n', 'placement', '--watch', '-o', 'custom-columns=NAME:.metadata.name,NOMINATED:.status.nominatedNodeName,NODE:.spec.nodeName']);
    watchers.push(w);
    await w.waitForOutput(/NAME\s+NOMINATED/);
    await s.k('apply', '-f', fixture(o.preemptorFile));
    assert.equal(await get(o.preemptor, '{.spec.priority}'), String(o.preemptorPriority), `${o.preemptor}'s spec.priority`);

    await waitUntil(async () => (await get(o.preemptor, '{.spec.nodeName}')) === o.node, `${o.preemptor} bound to ${o.node}`, 20_000, 100);
    await w.waitForOutput(new RegExp(`^${o.preemptor}\\s+${o.node}\\s+<none>`, 'm'));
    // (Afterwards the kubelet's status patch drops nominatedNodeName, so its later value is not checked.)
    const p = await json('get', 'pod', '-n', 'placement', o.preemptor);
    const r = await s.kubectl(['get', 'pod', '-n', 'placement', o.victim]);
    assert.match(r.stderr, new RegExp(`pods "${o.victim}" not found`), 'the victim is gone');

    await describeShows(o.preemptor, `0/${NODES} nodes are available: 1 Insufficient cpu, 44 node(s) didn't match Pod's node affinity/selector, ${TAINTED}.`);
    const events = await json('get', 'events', '-n', 'placement', '--field-selector', `reason=Preempted,involvedObject.name=${o.victim}`);
    assert.equal(events.items.length, 1, 'one Preempted event for the victim');
    const ev = events.items[0];
    assert.equal(ev.involvedObject.uid, victimUid);
    assert.equal(ev.type, 'Normal');
    assert.equal(ev.message, `Preempted by pod ${p.metadata.uid} on node ${o.node}`);
    await waitUntil(async () => (await get(o.preemptor, '{.status.phase}')) === 'Running', `${o.preemptor} Running`, 15_000, 100);
  }

  it('priority: a system-cluster-critical pod preempts a priority-0 pod on a full node', () =>
    preemption({
      victimFile: 'scheduler/critical-preemption.yaml',
      victim: 'batch',
      victimPriority: 0,
      preemptorFile: 'scheduler/critical-preemptor.yaml',
      preemptor: 'critical',
      preemptorPriority: 2000000000,
      node: node(38),
    }));

  it(
    'priority: a pod of PriorityClass high preempts one of PriorityClass low on a full node',
    () =>
      preemption({
        victimFile: 'scheduler/priority.yaml',
        victim: 'low',
        victimPriority: 1000,
        preemptorFile: 'scheduler/preemptor.yaml',
        preemptor: 'high',
        preemptorPriority: 1000000,
        node: node(39),
      }),
  );
});
