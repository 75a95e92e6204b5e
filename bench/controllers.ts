// Controller manager throughput end to end: a `skiff server --disable-agent` process (API server,
// scheduler and controller manager in-process), a `skiff hollow-nodes` process with N nodes
// (default 1,000), then one Deployment of R replicas (default 10,000):
//   create   POST the Deployment → every replica created, bound, Running and available
//            (deployment controller → ReplicaSet controller → scheduler → hollow kubelets → back)
//   rollout  a new image (default strategy, 25% surge / 25% unavailable) → rollout complete
//            (what `kubectl rollout status` waits for: all replicas updated and available, no old ones)
// Reports wall time and pods/s per phase, the milestones on the way (all pods created, all
// available), the fewest available replicas seen during the rollout, and the server's RSS
// (before, after each phase, max) and CPU. Pods are followed on one watch (created, bound and
// Running per image); the Deployment's status is polled every 200 ms.
//
// Run: npx tsc -p . && node dist/bench/controllers.js [--nodes 1000] [--replicas 10000] [--quick]
//        [--timeout-s 900] [--stall-s 60] [--heartbeat-interval 10s] [--cpu-prof [--cpu-prof-dir DIR]]
// Everything started here is stopped by PID on exit, even after a failure; the data dir is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, type KObject, type WatchHandle } from '../src/client/index.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { cpuSeconds, rssMiB } from './lib/proc.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const SKIFF = join(ROOT, 'bin', 'skiff');
const NS = 'bench-controllers';
const NAME = 'web';
const IMAGE_1 = 'registry.example/web:1';
const IMAGE_2 = 'registry.example/web:2';

// ---- process bookkeeping: everything is stopped by PID, whatever happens ----

const children = new Set<ChildProcess>();
let server: ServerProcess | undefined;
let dataDir: string | undefined;
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) server.proc.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`${s}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(1);

// ---- cluster ----

async function startHollow(kubeconfig: string, nodes: number, heartbeat: string): Promise<{ proc: ChildProcess; registrationS: number }> {
  // Generous client limits and more pod workers: the simulated kubelets should not be what limits pods/s.
  const args = [SKIFF, 'hollow-nodes', '--count', String(nodes), '--kubeconfig', kubeconfig, '--qps', '20000', '--burst', '40000'];
  args.push('--max-in-flight', '64', '--pod-workers', '32', '--heartbeat-interval', heartbeat, '--stats-interval', '0');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  const keep = (d: Buffer) => {
    if (out.length < 100_000) out += d;
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const registrationS = await new Promise<number>((res, rej) => {
    proc.stdout!.on('data', () => {
      const m = /nodes ready in ([\d.]+)s/.exec(out);
      if (m) res(Number(m[1]));
    });
    proc.once('exit', (code) => rej(new Error(`hollow-nodes exited (${code}) before it was ready:\n${out}`)));
  });
  return { proc, registrationS };
}

function deployment(replicas: number, image: string): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAME, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: NAME } },
      template: {
        metadata: { labels: { app: NAME } },
        spec: { containers: [{ name: 'app', image, resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

// ---- phases ----

interface Status {
  generation: number;
  observed: number;
  replicas: number;
  updated: number;
  ready: number;
  available: number;
}

function statusOf(d: KObject): Status {
  const st = d.status ?? {};
  return {
    generation: d.metadata?.generation ?? 0,
    observed: st.observedGeneration ?? 0,
    replicas: st.replicas ?? 0,
    updated: st.updatedReplicas ?? 0,
    ready: st.readyReplicas ?? 0,
    available: st.availableReplicas ?? 0,
  };
}

/** kubectl rollout status's success test for a Deployment of `want` replicas. */
const rolledOut = (s: Status, want: number) => s.observed >= s.generation && s.updated === want && s.replicas === want && s.available === want;

/**
 * Follows the namespace's pods on one watch: per image, how many pods were created, bound and
 * reported Running, and when each count first reached the target.
 */
class PodTracker {
  private readonly pods = new Map<string, { image: string; bound: boolean; running: boolean }>();
  private readonly counts = new Map<string, { created: number; bound: number; running: number }>();
  private watch?: WatchHandle;
  private lastRV = '';
  private stopped = false;
  /** Called after each event (phase() notes milestones here, at event time rather than poll time). */
  onChange: () => void = () => undefined;

  constructor(private readonly client: Client) {}

  async start(): Promise<void> {
    const list = await this.client.pods.list(NS, { limit: 1 });
    this.lastRV = list.metadata?.resourceVersion ?? '';
    this.open();
  }

  private open(): void {
    this.watch = this.client.pods.watch(NS, { resourceVersion: this.lastRV }, {
      onEvent: (type, pod) => {
        this.lastRV = pod.metadata?.resourceVersion ?? this.lastRV;
        if (type === 'ADDED' || type === 'MODIFIED') this.observe(pod);
        this.onChange();
      },
      onClose: (err) => {
        if (this.stopped) return;
        log(`  pod watch closed (${err?.message ?? 'eof'}); resuming at ${this.lastRV}`);
        this.open();
      },
    });
  }

  private observe(pod: KObject): void {
    const name = pod.metadata!.name!;
    const image: string = pod.spec?.containers?.[0]?.image ?? '';
    let p = this.pods.get(name);
    let c = this.counts.get(image);
    if (!c) this.counts.set(image, (c = { created: 0, bound: 0, running: 0 }));
    if (!p) {
      this.pods.set(name, (p = { image, bound: false, running: false }));
      c.created++;
    }
    if (!p.bound && pod.spec?.nodeName) {
      p.bound = true;
      c.bound++;
    }
    if (!p.running && pod.status?.phase === 'Running') {
      p.running = true;
      c.running++;
    }
  }

  of(image: string): { created: number; bound: number; running: number } {
    return this.counts.get(image) ?? { created: 0, bound: 0, running: 0 };
  }

  stop(): void {
    this.stopped = true;
    this.watch?.abort();
  }
}

interface PhaseResult {
  name: string;
  seconds: number;
  done: boolean;
  /** Milestone name → seconds since the phase began. */
  milestones: Map<string, number>;
  minAvailable: number;
  serverCpuPct: number;
  rssAfter: number;
  rssMax: number;
  last: Status;
}

/**
 * Runs start(), then follows the pods of `image` (created → bound → Running, from the watch) and
 * polls the Deployment until its rollout is complete (or the timeout).
 */
async function phase(client: Client, pods: PodTracker, name: string, image: string, want: number, timeoutMs: number, stallMs: number, start: () => Promise<unknown>): Promise<PhaseResult> {
  const pid = server!.pid;
  const cpu0 = cpuSeconds(pid);
  let rssMax = rssMiB(pid);
  const milestones = new Map<string, number>();
  let minAvailable = Infinity;
  let last: Status = { generation: 0, observed: 0, replicas: 0, updated: 0, ready: 0, available: 0 };
  const t0 = now();
  const mark = (m: string, cond: boolean) => {
    if (cond && !milestones.has(m)) milestones.set(m, (now() - t0) / 1000);
  };
  pods.onChange = () => {
    const c = pods.of(image);
    mark('pods-created', c.created >= want);
    mark('pods-bound', c.bound >= want);
    mark('pods-running', c.running >= want);
  };
  await start();
  let lastReport = t0;
  let done = false;
  let progressKey = '';
  let progressAt = t0;
  while (now() - t0 < timeoutMs) {
    last = statusOf(await client.deployments.get(NS, NAME));
    const t = now();
    if (last.observed >= last.generation) minAvailable = Math.min(minAvailable, last.available);
    if (rolledOut(last, want)) {
      mark('rolled-out', true);
      done = true;
      break;
    }
    const c = pods.of(image);
    const key = `${c.created}/${c.bound}/${c.running}/${last.replicas}/${last.updated}/${last.available}`;
    if (key !== progressKey) [progressKey, progressAt] = [key, t];
    else if (t - progressAt > stallMs) {
      log(`  ${name}: no progress for ${secs(stallMs)} s; giving up`);
      break;
    }
    rssMax = Math.max(rssMax, rssMiB(pid));
    if (t - lastReport >= 5000) {
      lastReport = t;
      log(
        `  ${name}: ${secs(t - t0)} s ${image} pods created=${c.created} bound=${c.bound} running=${c.running}; ` +
          `deployment replicas=${last.replicas} updated=${last.updated} available=${last.available}; server rss=${rssMiB(pid).toFixed(0)} MiB`,
      );
    }
    await sleep(200);
  }
  pods.onChange = () => undefined;
  const seconds = (now() - t0) / 1000;
  return {
    name,
    seconds,
    done,
    milestones,
    minAvailable,
    serverCpuPct: ((cpuSeconds(pid) - cpu0) / seconds) * 100,
    rssAfter: rssMiB(pid),
    rssMax: Math.max(rssMax, rssMiB(pid)),
    last,
  };
}

function formatLine(r: PhaseResult, replicas: number, nodes: number): string {
  const ms = [...r.milestones].map(([k, v]) => `${k}=${v.toFixed(1)}s`).join(' ');
  return (
    `controllers ${r.name} replicas=${replicas} nodes=${nodes} ${r.done ? 'complete' : `TIMED OUT (${JSON.stringify(r.last)})`} ` +
    `time=${r.seconds.toFixed(1)} s throughput=${(replicas / r.seconds).toFixed(1)} pods/s ${ms} ` +
    `min-available=${Number.isFinite(r.minAvailable) ? r.minAvailable : 'n/a'} server-cpu=${r.serverCpuPct.toFixed(0)}% ` +
    `rss=${r.rssAfter.toFixed(0)} MiB (max ${r.rssMax.toFixed(0)})`
  );
}

/** Why a phase did not finish: pods Running but not Ready (e.g. marked so while their node was NotReady), nodes not Ready. */
async function diagnose(client: Client): Promise<void> {
  const pods = (await client.pods.listAll(NS)).items;
  const notReady = pods.filter((p) => p.status?.phase === 'Running' && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status !== 'True'));
  const nodes = (await client.nodes.listAll()).items;
  const nodesNotReady = nodes.filter((n) => !n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  const events = (await client.events.listAll()).items.filter((e) => e.reason === 'NodeNotReady');
  log(`  diagnosis: ${notReady.length} pods Running but not Ready; ${nodesNotReady.length} nodes not Ready now; ${events.length} NodeNotReady events so far`);
}

// ---- main ----

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      replicas: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'timeout-s': { type: 'string', default: '900' },
      'stall-s': { type: 'string', default: '60' },
      'heartbeat-interval': { type: 'string', default: '10s' },
      'cpu-prof': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string' },
    },
  });
  const q = values.quick;
  const nodes = Number(values.nodes ?? (q ? 100 : 1000));
  const replicas = Number(values.replicas ?? (q ? 1000 : 10_000));
  const timeoutMs = Number(values['timeout-s']) * 1000;
  const stallMs = Number(values['stall-s']) * 1000;

  dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-controllers-'));
  const profDir = values['cpu-prof'] ? (values['cpu-prof-dir'] ?? join(dataDir, 'prof')) : undefined;
  log(`controllers bench: ${nodes} hollow nodes; a Deployment of ${replicas} replicas${profDir ? `; --cpu-prof into ${profDir}` : ''}`);

  server = await startServerProcess({ dataDir, nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [] });
  const rssStartup = rssMiB(server.pid);
  const hollow = await startHollow(server.kubeconfig, nodes, values['heartbeat-interval']!);
  const client = new Client({ kubeconfig: server.kubeconfig, component: 'bench-controllers', qps: 0 });
  // Nodes Ready before the clock starts (the scheduler sees them through its informer right after).
  for (const deadline = Date.now() + 120_000; ; ) {
    const list = await client.nodes.listAll();
    const ready = list.items.filter((n) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length;
    if (ready === nodes) break;
    if (Date.now() > deadline) throw new Error(`${ready}/${nodes} nodes Ready after 120 s`);
    await sleep(500);
  }
  await client.namespaces.create(null, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await sleep(2000);
  const rssBefore = rssMiB(server.pid);
  log(`controllers rss startup=${rssStartup.toFixed(0)} MiB before=${rssBefore.toFixed(0)} MiB (${nodes} nodes registered in ${hollow.registrationS.toFixed(1)} s)`);

  const pods = new PodTracker(client);
  await pods.start();
  const create = await phase(client, pods, 'create', IMAGE_1, replicas, timeoutMs, stallMs, () => client.deployments.create(NS, deployment(replicas, IMAGE_1)));
  log(formatLine(create, replicas, nodes));
  if (!create.done) await diagnose(client);
  const rollout = create.done
    ? await phase(client, pods, 'rollout', IMAGE_2, replicas, timeoutMs, stallMs, () =>
        client.deployments.patch(NS, NAME, { spec: { template: { spec: { containers: [{ name: 'app', image: IMAGE_2 }] } } } }, 'strategic'),
      )
    : undefined;
  if (rollout) log(formatLine(rollout, replicas, nodes));
  if (rollout && !rollout.done) await diagnose(client);
  pods.stop();
  await sleep(2000);
  log(`controllers rss before=${rssBefore.toFixed(0)} MiB after=${rssMiB(server.pid).toFixed(0)} MiB hollow-nodes rss=${rssMiB(hollow.proc.pid!).toFixed(0)} MiB`);
  client.close();

  hollow.proc.kill('SIGTERM');
  await Promise.race([new Promise((r) => hollow.proc.once('exit', r)), sleep(10_000)]);
  await server.stop();
  if (profDir) {
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) log(`no .cpuprofile in ${profDir}`);
    else {
      const top = topSelfTime(join(profDir, file), ROOT, 20);
      log(`server cpu profile: busy ${secs(top.busyMs)} s, idle ${secs(top.idleMs)} s; top self time:`);
      for (const e of top.entries) log(`  ${e.percent.toFixed(1).padStart(5)}%  ${secs(e.ms).padStart(6)} s  ${e.name}`);
      log('by file:');
      for (const e of top.files) log(`  ${e.percent.toFixed(1).padStart(5)}%  ${secs(e.ms).padStart(6)} s  ${e.name}`);
      if (values['cpu-prof-dir']) log(`profile kept: ${join(profDir, file)}`);
    }
  }
  if (!create.done || (rollout && !rollout.done)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`controllers bench failed: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
