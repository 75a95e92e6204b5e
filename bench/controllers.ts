// Controller manager throughput end to end: a `skiff server --disable-agent
// --disable-controller-manager` process (API server and scheduler), a `skiff controller-manager`
// process (so its memory is its own), a `skiff hollow-nodes` process with N nodes (default
// 1,000), then one Deployment of R replicas (default 10,000):
//   create   POST the Deployment → every replica created, bound, Running and available
//            (deployment controller → ReplicaSet controller → scheduler → hollow kubelets → back)
//   rollout  a new image (default strategy, 25% surge / 25% unavailable) → rollout complete
//            (what `kubectl rollout status` waits for: all replicas updated and available, no old ones)
// Reports wall time and pods/s per phase, the milestones on the way (all pods created, all
// available), the fewest available replicas seen during the rollout, and the RSS (before, after
// each phase, max) and CPU of the server and of the controller manager. Pods are followed on one
// watch (created, bound and Running per image); the Deployment's status is polled every 200 ms.
// Node leases are followed on another watch: the longest gap between two renewals of a node
// (lateness on the hollow side) and the longest delay from renewTime to the event reaching us.
//
// Run: npx tsc -p . && node dist/bench/controllers.js [--nodes 1000] [--replicas 10000] [--quick]
//        [--timeout-s 900] [--stall-s 60] [--heartbeat-interval 10s] [--cpu-prof [--cpu-prof-dir DIR]]
//        [--in-process-controllers]   (the controllers inside the server, as `skiff server` runs them)
// Everything started here is stopped by PID on exit, even after a failure; the data dir is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, type KObject, type WatchHandle } from '../src/client/index.js';
import { freePort } from '../test/helpers/cluster.js';
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
let dataDir: string | undefined;
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`${s}\n`);
const secs = (ms: number) => (ms / 1000).toFixed(1);

// ---- cluster ----

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

/** A child process of ours; its output is kept (the first 50 kB and the latest 100 kB) for error messages and stats. */
function child(args: string[]): { proc: ChildProcess; output: () => string } {
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = out.slice(0, 50_000) + out.slice(-100_000); // the start and the latest
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return { proc, output: () => out };
}

/** SIGTERM (so --cpu-prof writes its profile), SIGKILL after 10 s. */
async function stopChild(proc: ChildProcess): Promise<void> {
  if (!alive(proc)) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGTERM');
  const t = setTimeout(() => alive(proc) && proc.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(t);
}

/** Resolves once the process printed a line matching re; rejects if it exits first or after timeoutMs. */
function waitForOutput(c: { proc: ChildProcess; output: () => string }, re: RegExp, what: string, timeoutMs = 30_000): Promise<RegExpExecArray> {
  return new Promise((res, rej) => {
    const check = () => {
      const m = re.exec(c.output());
      if (m) {
        cleanup();
        res(m);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      rej(new Error(`${what} exited (${code}) before it was ready:\n${c.output()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      rej(new Error(`${what} not ready after ${timeoutMs} ms:\n${c.output()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      c.proc.stdout!.off('data', check);
      c.proc.off('exit', onExit);
    };
    c.proc.stdout!.on('data', check);
    c.proc.once('exit', onExit);
    check();
  });
}

/** `skiff server --disable-agent --disable-dns` (and --disable-controller-manager unless inProcessControllers). */
async function startServer(dir: string, nodeArgs: string[], inProcessControllers: boolean): Promise<{ proc: ChildProcess; pid: number; kubeconfig: string }> {
  const port = await freePort();
  const kubeconfig = join(dir, 'kubeconfig.yaml');
  const args = [...nodeArgs, SKIFF, 'server', '--data-dir', dir, '--https-listen-port', String(port), '--bind-address', '127.0.0.1'];
  args.push('--write-kubeconfig', kubeconfig, '--disable-agent', '--disable-dns');
  if (!inProcessControllers) args.push('--disable-controller-manager');
  const c = child(args);
  await waitForOutput(c, /API server listening/, 'skiff server');
  return { proc: c.proc, pid: c.proc.pid!, kubeconfig };
}

/** `skiff controller-manager` with the in-process manager's client limits (1000 qps, burst 2000). */
async function startControllerManager(kubeconfig: string, nodeArgs: string[]): Promise<{ proc: ChildProcess; pid: number }> {
  const c = child([...nodeArgs, SKIFF, 'controller-manager', '--kubeconfig', kubeconfig, '--kube-api-qps', '1000', '--kube-api-burst', '2000']);
  await waitForOutput(c, /controller-manager: running/, 'skiff controller-manager');
  return { proc: c.proc, pid: c.proc.pid! };
}

async function startHollow(kubeconfig: string, nodes: number, heartbeat: string): Promise<{ proc: ChildProcess; registrationS: number; stats: () => string }> {
  // Generous client limits and more pod workers: the simulated kubelets should not be what limits pods/s.
  const args = [SKIFF, 'hollow-nodes', '--count', String(nodes), '--kubeconfig', kubeconfig, '--qps', '20000', '--burst', '40000'];
  args.push('--max-in-flight', '64', '--pod-workers', '32', '--heartbeat-interval', heartbeat, '--stats-interval', '10s');
  const c = child(args);
  const m = await waitForOutput(c, /nodes ready in ([\d.]+)s/, 'hollow-nodes', 120_000);
  // The latest of the counters it prints every 10 s (node recoveries, pods made Ready again, ...).
  const stats = () => [...c.output().matchAll(/hollow-nodes: (\{.*\})/g)].pop()?.[1] ?? '(no stats yet)';
  return { proc: c.proc, registrationS: Number(m[1]), stats };
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

/** RSS and CPU of the processes measured (the server, and the controller manager when separate). */
class Usage {
  private readonly cpu0: number[];
  private readonly t0 = now();
  readonly rssMax: number[];

  constructor(readonly procs: Array<{ name: string; pid: number }>) {
    this.cpu0 = procs.map((p) => cpuSeconds(p.pid));
    this.rssMax = procs.map((p) => rssMiB(p.pid));
  }

  sample(): void {
    this.procs.forEach((p, i) => (this.rssMax[i] = Math.max(this.rssMax[i], rssMiB(p.pid))));
  }

  /** "server rss=.. MiB (max ..) cpu=..%; controller-manager rss=..". */
  summary(): string {
    this.sample();
    const s = (now() - this.t0) / 1000;
    return this.procs
      .map((p, i) => `${p.name}-rss=${rssMiB(p.pid).toFixed(0)} MiB (max ${this.rssMax[i].toFixed(0)}) ${p.name}-cpu=${(((cpuSeconds(p.pid) - this.cpu0[i]) / s) * 100).toFixed(0)}%`)
      .join(' ');
  }

  brief(): string {
    return this.procs.map((p) => `${p.name} rss=${rssMiB(p.pid).toFixed(0)} MiB`).join(', ');
  }
}

/**
 * Follows the node Leases on one watch: the longest gap between two renewTimes of one node (a
 * heartbeat late on the hollow side, or a write slow in the server) and the longest delay from
 * renewTime to the event reaching this watch (the API server's watch fan-out lagging).
 */
class LeaseTracker {
  private readonly last = new Map<string, number>();
  private watch?: WatchHandle;
  private stopped = false;
  maxGapMs = 0;
  maxGapNode = '';
  maxDeliveryMs = 0;
  /** Renewals that came more than the lease duration (40 s) after the previous one. */
  overGrace = 0;

  constructor(private readonly client: Client) {}

  start(): void {
    this.watch = this.client.leases.watch('kube-node-lease', {}, {
      onEvent: (type, lease) => {
        if (type === 'DELETED' || type === 'BOOKMARK') return;
        const renew = Date.parse(lease.spec?.renewTime ?? '');
        if (!Number.isFinite(renew)) return;
        const name = lease.metadata!.name!;
        const prev = this.last.get(name);
        this.last.set(name, renew);
        if (type === 'ADDED') return; // the initial list: no gap to measure
        this.maxDeliveryMs = Math.max(this.maxDeliveryMs, Date.now() - renew);
        if (prev === undefined) return;
        const gap = renew - prev;
        if (gap > 40_000) this.overGrace++;
        if (gap > this.maxGapMs) [this.maxGapMs, this.maxGapNode] = [gap, name];
      },
      onClose: () => {
        if (!this.stopped) this.start();
      },
    });
  }

  /** Resets the maxima (per phase). */
  reset(): void {
    this.maxGapMs = 0;
    this.maxDeliveryMs = 0;
    this.overGrace = 0;
  }

  summary(): string {
    return `lease max-gap=${secs(this.maxGapMs)}s (${this.maxGapNode || '-'}) max-delivery=${secs(this.maxDeliveryMs)}s gaps>40s=${this.overGrace}`;
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
  usage: string;
  leases: string;
  last: Status;
}

/**
 * Runs start(), then follows the pods of `image` (created → bound → Running, from the watch) and
 * polls the Deployment until its rollout is complete (or the timeout).
 */
async function phase(
  client: Client,
  pods: PodTracker,
  leases: LeaseTracker,
  procs: Array<{ name: string; pid: number }>,
  name: string,
  image: string,
  want: number,
  timeoutMs: number,
  stallMs: number,
  start: () => Promise<unknown>,
): Promise<PhaseResult> {
  const usage = new Usage(procs);
  leases.reset();
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
    usage.sample();
    if (t - lastReport >= 5000) {
      lastReport = t;
      log(
        `  ${name}: ${secs(t - t0)} s ${image} pods created=${c.created} bound=${c.bound} running=${c.running}; ` +
          `deployment replicas=${last.replicas} updated=${last.updated} available=${last.available}; ${usage.brief()}`,
      );
    }
    await sleep(200);
  }
  pods.onChange = () => undefined;
  return { name, seconds: (now() - t0) / 1000, done, milestones, minAvailable, usage: usage.summary(), leases: leases.summary(), last };
}

function formatLine(r: PhaseResult, replicas: number, nodes: number): string {
  const ms = [...r.milestones].map(([k, v]) => `${k}=${v.toFixed(1)}s`).join(' ');
  return (
    `controllers ${r.name} replicas=${replicas} nodes=${nodes} ${r.done ? 'complete' : `TIMED OUT (${JSON.stringify(r.last)})`} ` +
    `time=${r.seconds.toFixed(1)} s throughput=${(replicas / r.seconds).toFixed(1)} pods/s ${ms} ` +
    `min-available=${Number.isFinite(r.minAvailable) ? r.minAvailable : 'n/a'} ${r.usage}\n  ${r.leases}`
  );
}

/** Node health so far: NodeNotReady events (nodes whose heartbeats were late) and the hollow kubelets' counters. */
async function healthLine(client: Client, hollowStats: string): Promise<void> {
  const events = (await client.events.listAll()).items.filter((e) => e.reason === 'NodeNotReady');
  const nodes = new Set(events.filter((e) => e.regarding?.kind === 'Node').map((e) => e.regarding.name));
  log(`  NodeNotReady events so far: ${events.length} (${nodes.size} nodes); hollow-nodes ${hollowStats}`);
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

function printProfile(profDir: string, file: string, label: string, keep: boolean): void {
  const top = topSelfTime(join(profDir, file), ROOT, 20);
  log(`${label} cpu profile: busy ${secs(top.busyMs)} s, idle ${secs(top.idleMs)} s; top self time:`);
  for (const e of top.entries) log(`  ${e.percent.toFixed(1).padStart(5)}%  ${secs(e.ms).padStart(6)} s  ${e.name}`);
  log('by file:');
  for (const e of top.files) log(`  ${e.percent.toFixed(1).padStart(5)}%  ${secs(e.ms).padStart(6)} s  ${e.name}`);
  if (keep) log(`profile kept: ${join(profDir, file)}`);
}

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
      'in-process-controllers': { type: 'boolean', default: false },
    },
  });
  const q = values.quick;
  const nodes = Number(values.nodes ?? (q ? 100 : 1000));
  const replicas = Number(values.replicas ?? (q ? 1000 : 10_000));
  const timeoutMs = Number(values['timeout-s']) * 1000;
  const stallMs = Number(values['stall-s']) * 1000;
  const inProcess = values['in-process-controllers']!;

  dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-controllers-'));
  const profDir = values['cpu-prof'] ? (values['cpu-prof-dir'] ?? join(dataDir, 'prof')) : undefined;
  const prof = (name: string) => (profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, name)] : []);
  log(
    `controllers bench: ${nodes} hollow nodes; a Deployment of ${replicas} replicas; controllers ${inProcess ? 'in the server' : 'in their own process'}` +
      `${profDir ? `; --cpu-prof into ${profDir}` : ''}`,
  );

  const server = await startServer(join(dataDir, 'server'), prof('server'), inProcess);
  const cm = inProcess ? undefined : await startControllerManager(server.kubeconfig, prof('controller-manager'));
  const procs = [{ name: 'server', pid: server.pid }, ...(cm ? [{ name: 'controller-manager', pid: cm.pid }] : [])];
  const rssStartup = procs.map((p) => `${p.name}=${rssMiB(p.pid).toFixed(0)} MiB`).join(' ');
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
  const rssBefore = procs.map((p) => `${p.name}=${rssMiB(p.pid).toFixed(0)} MiB`).join(' ');
  log(`controllers rss startup: ${rssStartup}; before: ${rssBefore} (${nodes} nodes registered in ${hollow.registrationS.toFixed(1)} s)`);

  const pods = new PodTracker(client);
  await pods.start();
  const leases = new LeaseTracker(client);
  leases.start();
  const create = await phase(client, pods, leases, procs, 'create', IMAGE_1, replicas, timeoutMs, stallMs, () => client.deployments.create(NS, deployment(replicas, IMAGE_1)));
  log(formatLine(create, replicas, nodes));
  await healthLine(client, hollow.stats());
  if (!create.done) await diagnose(client);
  const rollout = create.done
    ? await phase(client, pods, leases, procs, 'rollout', IMAGE_2, replicas, timeoutMs, stallMs, () =>
        client.deployments.patch(NS, NAME, { spec: { template: { spec: { containers: [{ name: 'app', image: IMAGE_2 }] } } } }, 'strategic'),
      )
    : undefined;
  if (rollout) {
    log(formatLine(rollout, replicas, nodes));
    await healthLine(client, hollow.stats());
  }
  if (rollout && !rollout.done) await diagnose(client);
  pods.stop();
  leases.stop();
  await sleep(2000);
  const rssEnd = procs.map((p) => `${p.name}=${rssMiB(p.pid).toFixed(0)} MiB`).join(' ');
  log(`controllers rss before: ${rssBefore}; after: ${rssEnd}; hollow-nodes=${rssMiB(hollow.proc.pid!).toFixed(0)} MiB`);
  client.close();

  await stopChild(hollow.proc);
  if (cm) await stopChild(cm.proc);
  await stopChild(server.proc);
  if (profDir) {
    for (const name of ['server', 'controller-manager']) {
      const dir = join(profDir, name);
      const file = existsSync(dir) ? readdirSync(dir).find((f) => f.endsWith('.cpuprofile')) : undefined;
      if (file) printProfile(dir, file, name, values['cpu-prof-dir'] !== undefined);
      else if (name === 'server' || cm) log(`no .cpuprofile in ${dir}`);
    }
  }
  if (!create.done || (rollout && !rollout.done)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`controllers bench failed: ${(e as Error)?.stack ?? e}\n`);
  process.exit(1);
});
