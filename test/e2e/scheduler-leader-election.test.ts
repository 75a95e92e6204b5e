// Two `skiff scheduler` processes beside `skiff server --disable-scheduler`: only the holder of
// Lease kube-system/kube-scheduler schedules (its identity is in the Scheduled events'
// reportingInstance), and after kill -9 of the holder the other takes the lease once it has
// expired (15 s) and schedules the pods created meanwhile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { ROOT, waitUntil } from './util.js';

const SKIFF = join(ROOT, 'bin', 'skiff');
const LEASE_DURATION_MS = 15_000;
const RETRY_PERIOD_MS = 2_000;

interface Child {
  proc: ChildProcess;
  output(): string;
  /** SIGKILL by PID and wait for the exit (idempotent). */
  kill9(): Promise<void>;
}

const children = new Set<Child>();
process.once('exit', () => {
  for (const c of children) {
    try {
      process.kill(c.proc.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function skiff(args: string[]): Child {
  const proc = spawn(process.execPath, [SKIFF, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const child: Child = {
    proc,
    output: () => out,
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
      await exited;
      children.delete(child);
    },
  };
  children.add(child);
  return child;
}

/** Starts `skiff scheduler` and returns it with the identity it campaigns with. */
async function startScheduler(kubeconfig: string): Promise<Child & { identity: string }> {
  const c = skiff(['scheduler', '--kubeconfig', kubeconfig, '--leader-elect=true']);
  const m = await waitUntil(() => /running as (\S+) \(/.exec(c.output()) ?? (c.proc.exitCode !== null ? ['', ''] : null), 'skiff scheduler to start', 20_000);
  assert.ok(m[1], `skiff scheduler exited: ${c.output()}`);
  return Object.assign(c, { identity: m[1] });
}

describe('scheduler: two schedulers, one Lease', () => {
  let s: TestServer;
  let a: Child & { identity: string };
  let b: Child & { identity: string };

  const json = async (...args: string[]) => JSON.parse(await s.k(...args, '-o', 'json'));
  const lease = () => json('get', 'lease', '-n', 'kube-system', 'kube-scheduler');

  /** name → reportingInstance of each Scheduled event for the pods of a Deployment. */
  async function scheduledBy(app: string): Promise<Map<string, string>> {
    const events = await json('get', 'events', '--field-selector', 'reason=Scheduled');
    const out = new Map<string, string>();
    for (const e of events.items) if (e.involvedObject.name.startsWith(`${app}-`)) out.set(e.involvedObject.name, e.reportingInstance);
    return out;
  }

  async function allBound(app: string, replicas: number, timeoutMs: number): Promise<string[]> {
    return waitUntil(
      async () => {
        const pods = (await json('get', 'pods', '-l', `app=${app}`)).items;
        return pods.length === replicas && pods.every((p: any) => p.spec.nodeName) ? pods.map((p: any) => p.metadata.name as string) : undefined;
      },
      `${replicas} pods of ${app} bound`,
      timeoutMs,
      200,
    );
  }

  before(async () => {
    s = await startServer({ extraArgs: ['--disable-scheduler'] });
    const hollow = skiff(['hollow-nodes', '--count', '3', '--kubeconfig', s.kubeconfig, '--stats-interval', '0']);
    await waitUntil(() => /nodes ready in/.test(hollow.output()) || hollow.proc.exitCode !== null, 'hollow-nodes to register', 30_000);
    assert.equal(hollow.proc.exitCode, null, hollow.output());
    a = await startScheduler(s.kubeconfig);
    // A campaigns alone first, so it is the holder when B starts.
    await waitUntil(async () => (await lease()).spec.holderIdentity === a.identity, 'scheduler A to hold the lease', 20_000, 100);
    b = await startScheduler(s.kubeconfig);
  });

  after(async () => {
    for (const c of [...children]) await c.kill9();
    await s?.stop();
  });

  it('only the lease holder schedules: every Scheduled event names scheduler A', async () => {
    // B has started and looked at the lease (its retry period is 2 s) before the pods come.
    await new Promise((r) => setTimeout(r, RETRY_PERIOD_MS + 500));
    await s.k('create', 'deployment', 'first', '--image=registry.example/app:1', '--replicas=6');
    const pods = await allBound('first', 6, 20_000);
    const by = await waitUntil(async () => {
      const m = await scheduledBy('first');
      return m.size === pods.length ? m : undefined;
    }, 'a Scheduled event per pod');
    assert.deepEqual(new Set(by.values()), new Set([`default-scheduler-${a.identity}`]));
    const l = await lease();
    assert.equal(l.spec.holderIdentity, a.identity);
    assert.equal(l.spec.leaseDurationSeconds, LEASE_DURATION_MS / 1000);
  });

  it('kill -9 of the holder: the other takes over once the lease expires and schedules new pods', async () => {
    const before = await lease();
    const transitions = before.spec.leaseTransitions ?? 0;
    await a.kill9();
    const killedAt = Date.now();
    // The last renewal A made (it may have renewed once more after the read above).
    const lastRenew = Date.parse((await lease()).spec.renewTime);
    await s.k('create', 'deployment', 'second', '--image=registry.example/app:1', '--replicas=4');

    const pods = await allBound('second', 4, LEASE_DURATION_MS + RETRY_PERIOD_MS + 8_000);
    const tookOverS = (Date.now() - killedAt) / 1000;
    const l = await lease();
    assert.equal(l.spec.holderIdentity, b.identity);
    assert.equal(l.spec.leaseTransitions, transitions + 1);
    const acquiredAfterRenew = Date.parse(l.spec.acquireTime) - lastRenew;
    assert.ok(acquiredAfterRenew >= LEASE_DURATION_MS - 500, `B must wait for the lease to expire: acquired ${acquiredAfterRenew} ms after A's last renewal`);
    assert.ok(acquiredAfterRenew <= LEASE_DURATION_MS + RETRY_PERIOD_MS + 3_000, `B took over ${acquiredAfterRenew} ms after A's last renewal`);
    assert.ok(tookOverS < (LEASE_DURATION_MS + RETRY_PERIOD_MS + 5_000) / 1000, `new pods bound ${tookOverS} s after the kill`);

    const by = await waitUntil(async () => {
      const m = await scheduledBy('second');
      return m.size === pods.length ? m : undefined;
    }, 'a Scheduled event per new pod');
    assert.deepEqual(new Set(by.values()), new Set([`default-scheduler-${b.identity}`]));
    assert.equal(b.proc.exitCode, null, 'B keeps running');
  });
});
