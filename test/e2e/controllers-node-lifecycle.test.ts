// Node lifecycle end to end: a node whose heartbeats stop becomes Unknown, is tainted
// unreachable, and its pods are evicted once their tolerationSeconds run out; the Deployment
// replaces them on the live nodes. Nodes come from two `skiff hollow-nodes` processes
// (hollow-node-0..2 and doomed-node-0); the test kills the second by PID.
//
// `skiff server` has no flag for the node monitor grace period (40 s by default), so this file runs
// `skiff server --disable-agent --disable-controller-manager` and the controllers as
// `skiff controller-manager --node-monitor-grace-period 4s`; the last test checks the server flag.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { ROOT, fixture, waitUntil } from './util.js';

const SKIFF = join(ROOT, 'bin', 'skiff');
const LIVE = ['hollow-node-0', 'hollow-node-1', 'hollow-node-2'];
const DOOMED = 'doomed-node-0';
const GRACE_S = 4;
const TOLERATION_S = 2;

interface Child {
  pid: number;
  log(): string;
  alive(): boolean;
  kill(): Promise<void>;
}

/** Runs `skiff <args>` as a child process; killed by PID when the test process exits. */
function startSkiff(args: string[]): Child {
  const proc: ChildProcess = spawn(process.execPath, [SKIFF, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = proc.pid!;
  process.once('exit', () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const alive = () => proc.exitCode === null && proc.signalCode === null;
  return {
    pid,
    log: () => log,
    alive,
    async kill() {
      if (alive()) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    },
  };
}

async function startHollow(kubeconfig: string, args: string[]): Promise<Child> {
  // Leases every second: with a 4 s grace period the default 10 s would make every node flap.
  const c = startSkiff(['hollow-nodes', '--kubeconfig', kubeconfig, '--stats-interval', '0', '--heartbeat-interval', '1s', ...args]);
  await waitUntil(() => /nodes ready in/.test(c.log()) || !c.alive(), 'hollow-nodes to register', 30_000, 50);
  if (!c.alive()) throw new Error(`hollow-nodes exited: ${c.log()}`);
  return c;
}

const readyCondition = (n: any) => n.status?.conditions?.find((c: any) => c.type === 'Ready');

describe('node lifecycle: heartbeats stop, node goes Unknown, pods are evicted (kubectl)', { concurrency: 1 }, () => {
  let s: TestServer;
  const children: Child[] = [];
  let doomed: Child;
  let killedAt = 0;
  /** Ready status of each live node at every poll, to show no live node ever flapped. */
  const liveReady = new Set<string>();

  const json = async (...args: string[]) => JSON.parse(await s.k(...args, '-o', 'json'));
  const ns = ['-n', 'ctl-nodes'];

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-controller-manager'] });
    children.push(
      startSkiff([
        'controller-manager',
        '--kubeconfig', s.kubeconfig,
        '--leader-elect=false',
        '--node-monitor-grace-period', `${GRACE_S}s`,
        '--kube-api-qps', '500',
        '--kube-api-burst', '1000',
      ]),
    );
    const [live, dead] = await Promise.all([
      startHollow(s.kubeconfig, ['--count', String(LIVE.length)]),
      startHollow(s.kubeconfig, ['--count', '1', '--name-prefix', 'doomed-node-']),
    ]);
    children.push(live, dead);
    doomed = dead;
    await waitUntil(
      async () => (await json('get', 'nodes')).items.filter((n: any) => readyCondition(n)?.status === 'True').length === 4,
      'four Ready nodes',
      20_000,
      100,
    );
  });

  after(async () => {
    for (const c of children) await c.kill();
    await s?.stop();
  });

  it('spreads the pods over all four nodes, two per node', async () => {
    await s.k('apply', '-f', fixture('controllers/evictable.yaml'));
    assert.match(await s.k('rollout', 'status', 'deployment/spread', ...ns, '--timeout=60s'), /successfully rolled out/);
    await waitUntil(async () => (await json('get', 'pod', 'pinned', ...ns)).status.phase === 'Running', 'the pinned pod Running', 10_000, 100);
    const perNode = new Map<string, number>();
    for (const p of (await json('get', 'pods', ...ns, '-l', 'app=spread')).items) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries([...perNode].sort()), { [DOOMED]: 2, [LIVE[0]]: 2, [LIVE[1]]: 2, [LIVE[2]]: 2 });
  });

  it(`a node without heartbeats goes Unknown after the grace period (${GRACE_S} s) and is tainted unreachable`, async () => {
    await doomed.kill();
    killedAt = Date.now();
    const node = await waitUntil(
      async () => {
        const nodes = (await json('get', 'nodes')).items;
        for (const n of nodes) if (LIVE.includes(n.metadata.name)) liveReady.add(`${n.metadata.name}=${readyCondition(n)?.status}`);
        const n = nodes.find((x: any) => x.metadata.name === DOOMED);
        return readyCondition(n)?.status === 'Unknown' && n.spec.taints?.some((t: any) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute') ? n : undefined;
      },
      `${DOOMED} Unknown and tainted`,
      30_000,
      200,
    );
    const elapsed = (Date.now() - killedAt) / 1000;
    // The last lease may be up to a heartbeat (1 s) old when the process dies.
    assert.ok(elapsed >= GRACE_S - 1.5, `Unknown ${elapsed.toFixed(1)} s after the heartbeats stopped (grace ${GRACE_S} s)`);
    const ready = readyCondition(node);
    assert.deepEqual({ reason: ready.reason, message: ready.message }, { reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.' });
    const taints = node.spec.taints.map((t: any) => `${t.key}:${t.effect}`).sort();
    assert.deepEqual(taints, ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    const table = await s.k('get', 'node', DOOMED);
    assert.match(table.split('\n')[1], new RegExp(`^${DOOMED}\\s+NotReady\\s`));
  });

  it(`its pods are evicted after tolerationSeconds (${TOLERATION_S} s); the Deployment replaces them on live nodes`, async () => {
    const onDoomed = async () => (await json('get', 'pods', ...ns)).items.filter((p: any) => p.spec.nodeName === DOOMED);
    // No kubelet confirms the deletion, so evicted pods stay Terminating (as upstream).
    const evicted = await waitUntil(
      async () => {
        const pods = await onDoomed();
        return pods.length === 3 && pods.every((p: any) => p.metadata.deletionTimestamp) ? pods : undefined;
      },
      `the three pods on ${DOOMED} to be evicted`,
      30_000,
      200,
    );
    assert.ok((Date.now() - killedAt) / 1000 >= GRACE_S - 1.5 + TOLERATION_S, 'evicted before grace period + tolerationSeconds');
    for (const p of evicted) {
      const cond = p.status.conditions?.find((c: any) => c.type === 'DisruptionTarget');
      assert.deepEqual({ status: cond?.status, reason: cond?.reason }, { status: 'True', reason: 'DeletionByTaintManager' }, p.metadata.name);
    }
    assert.ok(evicted.some((p: any) => p.metadata.name === 'pinned'));

    assert.match(await s.k('rollout', 'status', 'deployment/spread', ...ns, '--timeout=60s'), /successfully rolled out/);
    const live = await waitUntil(
      async () => {
        const pods = (await json('get', 'pods', ...ns, '-l', 'app=spread')).items.filter((p: any) => !p.metadata.deletionTimestamp);
        return pods.length === 8 && pods.every((p: any) => p.status.phase === 'Running') ? pods : undefined;
      },
      'eight Running replicas',
      30_000,
      200,
    );
    const perNode = new Map<string, number>();
    for (const p of live) perNode.set(p.spec.nodeName, (perNode.get(p.spec.nodeName) ?? 0) + 1);
    assert.ok(!perNode.has(DOOMED), `replacement on ${DOOMED}`);
    assert.deepEqual([...perNode.values()].sort(), [2, 3, 3], JSON.stringify([...perNode]));
    // Pods on the live nodes were left alone, and the live nodes never left Ready.
    assert.deepEqual([...liveReady].sort(), LIVE.map((n) => `${n}=True`));
    for (const n of (await json('get', 'nodes')).items) if (LIVE.includes(n.metadata.name)) assert.equal(readyCondition(n)?.status, 'True', n.metadata.name);
  });

  it('skiff server accepts --node-monitor-grace-period', async () => {
    const other = await startServer({ extraArgs: ['--node-monitor-grace-period', '4s', '--disable-scheduler'] });
    await other.stop();
  });
});
