// Scheduler throughput on a big simulated cluster, in the spirit of upstream's scheduler_perf:
// a `skiff server --disable-agent` process (the scheduler runs inside it), a `skiff hollow-nodes`
// process with N nodes (default 5,000), then three workloads created one after the other into the
// same cluster (pods are kept, so later workloads see a fuller cluster):
//   plain   10,000 pods with small requests
//   anti     5,000 pods with required pod anti-affinity on the hostname, in groups of 5
//   spread   5,000 pods with a zone topology spread constraint (maxSkew 1, DoNotSchedule)
// For each: pods/s from the first create to the last binding (seen on a watch), the e2e latency
// of each pod from its create request to its binding (p50/p99), the scheduler's own per-attempt
// and per-cycle latency (p50/p99), and the server's RSS and CPU.
//
// The scheduler's own per-attempt latency histogram and its process memory come from a stats line
// it logs every second (SKIFF_SCHEDULER_STATS_INTERVAL_MS=1000). With --scheduler-process the
// scheduler runs as `skiff scheduler --kubeconfig` next to `skiff server --disable-scheduler`,
// so its memory and CPU are its own.
//
// Run: npx tsc -p . && node dist/bench/scheduler.js [--nodes 5000] [--quick] [--plain N --anti N
//        --spread N] [--creators 32] [--heartbeat-interval 10s] [--scheduler-process]
//        [--cpu-prof [--cpu-prof-dir DIR]] [--in-memory]
// --in-memory runs the scheduling algorithm alone (cache + default profile, no API server);
// there `--owned N` adds N pods owned by a ReplicaSet and selected by a Service (like a
// Deployment's), which get the system default spread constraints (zone and hostname, ScheduleAnyway).
// Everything started here is stopped by PID on exit, even after a failure; the data dir is removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, type KObject, type WatchHandle } from '../src/client/index.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { percentile } from './lib/stats.js';
import { cpuSeconds, rssMiB } from './lib/proc.js';
import { percentileMs, subtractSparse } from '../src/scheduler/metrics.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const SKIFF = join(ROOT, 'bin', 'skiff');
const ZONE = 'topology.kubernetes.io/zone';
const HOSTNAME = 'kubernetes.io/hostname';

// ---- process bookkeeping: everything is stopped by PID, whatever happens ----

const children = new Set<ChildProcess>();
let server: ServerProcess | undefined;
/** The process the scheduler runs in: the server, or `skiff scheduler` with --scheduler-process. */
let schedulerPid = 0;
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

// ---- the scheduler's own figures: a stats line every second (SKIFF_SCHEDULER_STATS_INTERVAL_MS) ----

interface SchedStats {
  attempts: number;
  scheduled: number;
  unschedulable: number;
  errors: number;
  cycle: Array<[number, number]>;
  attempt: Array<[number, number]>;
  rssMiB: number;
  heapUsedMiB: number;
}
let latestStats: SchedStats | undefined;
let statsSeen = 0;

function readStats(proc: ChildProcess): void {
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const i = line.indexOf('scheduler stats ');
      if (i < 0) continue;
      try {
        latestStats = JSON.parse(line.slice(i + 'scheduler stats '.length));
        statsSeen++;
      } catch {
        /* a partial line */
      }
    }
  };
  proc.stdout?.on('data', onData);
  proc.stderr?.on('data', onData);
}

/** The next stats line (so it covers everything until now). */
async function freshStats(): Promise<SchedStats | undefined> {
  const seen = statsSeen;
  for (const end = Date.now() + 3000; statsSeen === seen && Date.now() < end; ) await sleep(50);
  return latestStats;
}

// ---- workloads ----

type Workload = 'plain' | 'anti' | 'spread';

function basePod(name: string, labels: Record<string, string>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '100m', memory: '128Mi' } } }],
    },
  };
}

function makePod(w: Workload, i: number, groupSize: number): KObject {
  const name = `${w}-${i}`;
  if (w === 'plain') return basePod(name, { bench: w });
  if (w === 'anti') {
    const group = `g${Math.floor(i / groupSize)}`;
    const pod = basePod(name, { bench: w, group });
    pod.spec.affinity = {
      podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: HOSTNAME, labelSelector: { matchLabels: { group } } }] },
    };
    return pod;
  }
  const pod = basePod(name, { bench: w });
  pod.spec.topologySpreadConstraints = [{ maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { bench: w } } }];
  return pod;
}

/** A pod of a Deployment's ReplicaSet (in-memory only): no constraints of its own, so the defaults apply. */
function makeOwnedPod(i: number): KObject {
  const pod = basePod(`owned-${i}`, { app: 'owned', 'pod-template-hash': '5d8f7c' });
  pod.metadata!.ownerReferences = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'owned-5d8f7c', uid: 'rs-uid', controller: true }];
  return pod;
}

interface PhaseResult {
  workload: Workload;
  pods: number;
  bound: number;
  seconds: number;
  createSeconds: number;
  latencies: number[];
  rssAfter: number;
  rssMax: number;
  serverCpuPct: number;
  maxPending: number;
  check: string;
  /** The scheduler's own latencies over the phase (ms), and its process RSS. */
  attemptP50?: number;
  attemptP99?: number;
  cycleP50?: number;
  cycleP99?: number;
  attempts?: number;
  schedRssMax?: number;
  schedCpuPct?: number;
}

/** Creates `count` pods of a workload in its own namespace and waits until all are bound. */
async function runPhase(client: Client, w: Workload, count: number, opts: { creators: number; groupSize: number; timeoutMs: number; nodeZone: Map<string, string> }): Promise<PhaseResult> {
  const ns = `bench-${w}`;
  await client.namespaces.create(null, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  const created = new Float64Array(count).fill(NaN);
  const bound = new Float64Array(count).fill(NaN);
  const nodeOf: string[] = new Array(count);
  let boundCount = 0;
  let lastBind = 0;
  let done!: () => void;
  const allBound = new Promise<void>((r) => (done = r));

  // Pods enter the `spec.nodeName!=` selection when they are bound: one ADDED event each.
  const { resourceVersion } = await client.pods.list(ns, { limit: 1 }).then((l) => ({ resourceVersion: l.metadata.resourceVersion }));
  let watch: WatchHandle | undefined;
  const startWatch = (rv: string | undefined) => {
    watch = client.pods.watch(ns, { fieldSelector: 'spec.nodeName!=', resourceVersion: rv }, {
      onEvent(type, pod) {
        if (type !== 'ADDED' && type !== 'MODIFIED') return;
        const i = Number(pod.metadata!.name!.slice(w.length + 1));
        if (!Number.isNaN(bound[i]) || !pod.spec?.nodeName) return;
        bound[i] = lastBind = now();
        nodeOf[i] = pod.spec.nodeName;
        if (++boundCount === count) done();
      },
      onClose(err) {
        if (boundCount < count && !stopped) {
          log(`  watch closed (${err?.message ?? 'eof'}); restarting`);
          startWatch(undefined);
        }
      },
    });
  };
  let stopped = false;
  startWatch(resourceVersion);

  const pid = server!.pid;
  const cpu0 = cpuSeconds(pid);
  const schedCpu0 = schedulerPid !== pid ? cpuSeconds(schedulerPid) : 0;
  let rssMax = rssMiB(pid);
  let schedRssMax = rssMiB(schedulerPid);
  const stats0 = await freshStats();
  let maxPending = 0;
  let samples = 0;
  const sampler = setInterval(() => {
    if (++samples % 5 === 0) {
      rssMax = Math.max(rssMax, rssMiB(pid));
      schedRssMax = Math.max(schedRssMax, rssMiB(schedulerPid));
    }
    // Created but not yet bound: stays small while the scheduler keeps up with the creators.
    maxPending = Math.max(maxPending, Math.min(next, count) - boundCount);
  }, 100);
  let lastReport = 0;
  const progress = setInterval(() => {
    const t = (now() - t0) / 1000;
    log(`  ${w}: ${t.toFixed(0)} s created=${Math.min(next, count)} bound=${boundCount} (+${boundCount - lastReport} in 5 s) server rss=${rssMiB(pid).toFixed(0)} MiB`);
    lastReport = boundCount;
  }, 5000);

  const t0 = now();
  let next = 0;
  let createEnd = 0;
  const creator = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      created[i] = now();
      await client.pods.create(ns, makePod(w, i, opts.groupSize));
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.creators }, creator));
    createEnd = now();
    await Promise.race([allBound, sleep(opts.timeoutMs)]);
  } finally {
    stopped = true;
    watch?.abort();
    clearInterval(sampler);
    clearInterval(progress);
  }
  const end = boundCount === count ? lastBind : now();
  const seconds = (end - t0) / 1000;
  const serverCpuPct = ((cpuSeconds(pid) - cpu0) / seconds) * 100;
  const schedCpuPct = schedulerPid !== pid ? ((cpuSeconds(schedulerPid) - schedCpu0) / seconds) * 100 : undefined;
  const stats1 = await freshStats();
  let lat: Partial<PhaseResult> = {};
  if (stats0 && stats1) {
    const attempt = subtractSparse(stats1.attempt, stats0.attempt);
    const cycle = subtractSparse(stats1.cycle, stats0.cycle);
    lat = {
      attemptP50: percentileMs(attempt, 50),
      attemptP99: percentileMs(attempt, 99),
      cycleP50: percentileMs(cycle, 50),
      cycleP99: percentileMs(cycle, 99),
      attempts: stats1.attempts - stats0.attempts,
    };
  }
  const latencies: number[] = [];
  for (let i = 0; i < count; i++) if (!Number.isNaN(bound[i])) latencies.push(bound[i] - created[i]);
  latencies.sort((a, b) => a - b);

  // The constraints held? (anti: no two pods of a group on a node; spread: zone counts within 1.)
  let check = '';
  if (w === 'anti') {
    const seen = new Set<string>();
    let violations = 0;
    for (let i = 0; i < count; i++) {
      if (!nodeOf[i]) continue;
      const key = `${Math.floor(i / opts.groupSize)}/${nodeOf[i]}`;
      if (seen.has(key)) violations++;
      seen.add(key);
    }
    check = ` violations=${violations}`;
  } else if (w === 'spread') {
    const perZone = new Map<string, number>();
    for (const n of nodeOf) if (n) perZone.set(opts.nodeZone.get(n) ?? '?', (perZone.get(opts.nodeZone.get(n) ?? '?') ?? 0) + 1);
    const counts = [...perZone.values()];
    check = ` zones=${[...perZone].sort().map(([z, c]) => `${z}:${c}`).join(',')} skew=${Math.max(...counts) - Math.min(...counts)}`;
  }
  return {
    workload: w,
    pods: count,
    bound: boundCount,
    seconds,
    createSeconds: (createEnd - t0) / 1000,
    latencies,
    rssAfter: rssMiB(pid),
    rssMax,
    serverCpuPct,
    maxPending,
    check,
    ...lat,
    schedRssMax: schedulerPid !== pid ? Math.max(schedRssMax, rssMiB(schedulerPid)) : undefined,
    schedCpuPct,
  };
}

// ---- cluster ----

async function startHollow(kubeconfig: string, nodes: number, heartbeat: string): Promise<{ proc: ChildProcess; registrationS: number }> {
  const args = [SKIFF, 'hollow-nodes', '--count', String(nodes), '--kubeconfig', kubeconfig, '--qps', '20000', '--burst', '40000', '--max-in-flight', '64'];
  args.push('--heartbeat-interval', heartbeat, '--stats-interval', '0');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => {
    if (out.length < 100_000) out += d;
  });
  const registrationS = await new Promise<number>((res, rej) => {
    const check = () => {
      const m = /nodes ready in ([\d.]+)s/.exec(out);
      if (m) res(Number(m[1]));
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => rej(new Error(`hollow-nodes exited (${code}) before it was ready:\n${out}`)));
  });
  return { proc, registrationS };
}

/** Waits until the scheduler has every node: a pod pinned to the last-written node gets bound. */
async function waitSchedulerSeesNodes(client: Client, nodes: number): Promise<Map<string, string>> {
  const list = await client.nodes.listAll();
  if (list.items.length !== nodes) throw new Error(`expected ${nodes} nodes, the API has ${list.items.length}`);
  const notReady = list.items.filter((n) => !n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
  if (notReady.length) throw new Error(`${notReady.length} nodes are not Ready`);
  const last = list.items.reduce((a, b) => (Number(a.metadata!.resourceVersion) > Number(b.metadata!.resourceVersion) ? a : b));
  const probe = basePod('node-sync-probe', {});
  probe.spec.nodeSelector = { [HOSTNAME]: last.metadata!.name };
  await client.pods.create('default', probe);
  for (const deadline = Date.now() + 120_000; ; ) {
    const p = await client.pods.get('default', 'node-sync-probe');
    if (p.spec?.nodeName) break;
    if (Date.now() > deadline) throw new Error('the scheduler did not bind the node sync probe in 120 s');
    await sleep(200);
  }
  await client.pods.delete('default', 'node-sync-probe', { gracePeriodSeconds: 0 });
  return new Map(list.items.map((n) => [n.metadata!.name!, n.metadata?.labels?.[ZONE] ?? '']));
}

/** `skiff server --disable-agent --disable-scheduler`. */
async function startServerWithoutScheduler(dataDir: string, nodeArgs: string[]): Promise<ServerProcess> {
  const server = await startServerProcess({ dataDir, nodeArgs, extraArgs: ['--disable-scheduler'] });
  children.add(server.proc);
  return server;
}

/** `skiff scheduler` against the server, with client limits high enough not to throttle binding. */
async function startSchedulerProcess(kubeconfig: string): Promise<ChildProcess> {
  const args = [SKIFF, 'scheduler', '--kubeconfig', kubeconfig, '--leader-elect=false', '--kube-api-qps', '20000', '--kube-api-burst', '40000'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => {
    if (out.length < 100_000) out += d;
  });
  await new Promise<void>((res, rej) => {
    const check = () => /skiff scheduler: running as/.test(out) && res();
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => rej(new Error(`skiff scheduler exited (${code}):\n${out}`)));
  });
  return proc;
}

// ---- --in-memory: the scheduling algorithm alone, on the same workloads ----

/**
 * The scheduler's cache and default profile in this process, without API server or informers:
 * each pod is scheduled on the snapshot, assumed and confirmed, as the informer would. This is
 * the scheduler's own capacity on this machine (what the end-to-end figures are bounded by when
 * the API server is not the bottleneck).
 */
async function runInMemory(nodes: number, counts: Record<Workload, number>, groupSize: number, owned: number): Promise<void> {
  const { SchedulerCache, CacheSnapshot } = await import('../src/scheduler/cache.js');
  const { Framework } = await import('../src/scheduler/framework/runtime.js');
  const { defaultSchedulerConfig } = await import('../src/scheduler/config.js');
  const { DEFAULT_PLUGINS, inTreeRegistry } = await import('../src/scheduler/plugins/index.js');
  const { podInfo } = await import('../src/scheduler/framework/node-info.js');
  const { CycleState } = await import('../src/scheduler/framework/types.js');
  const cache = new SchedulerCache();
  for (let i = 0; i < nodes; i++) {
    const name = `hollow-node-${i}`;
    cache.addNode({
      metadata: { name, labels: { [HOSTNAME]: name, [ZONE]: `zone-${i % 3}`, 'kubernetes.io/os': 'linux' } },
      spec: {},
      status: { allocatable: { cpu: '32', memory: '256Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
    });
  }
  const config = await defaultSchedulerConfig({ registry: inTreeRegistry(), defaultPlugins: DEFAULT_PLUGINS });
  const profile = config.profiles[0];
  const snapshot = new CacheSnapshot();
  const { labelSelectorFromObject } = await import('../src/apiserver/selectors.js');
  // The owned workload's ReplicaSet and Service selectors, as the scheduler's listers find them.
  const ownedSelectors = [
    labelSelectorFromObject({ matchLabels: { app: 'owned' } }),
    labelSelectorFromObject({ matchLabels: { app: 'owned', 'pod-template-hash': '5d8f7c' } }),
  ];
  const selectorsForPod = (pod: KObject) => (pod.metadata?.namespace === 'bench-owned' ? ownedSelectors : []);
  const listers = { namespaceLabels: () => ({}), priorityClass: () => undefined, pvc: () => undefined, pv: () => undefined, pdbs: () => [], selectorsForPod };
  const fwk = new Framework({ ...profile, percentageOfNodesToScore: profile.percentageOfNodesToScore ?? config.percentageOfNodesToScore }, config.registry, {
    snapshot,
    listers,
  });
  const nodeZone = new Map(snapshot.nodes().map((n) => [n.name, n.node.metadata?.labels?.[ZONE] ?? '']));
  let uid = 0;
  const all: Record<Workload | 'owned', number> = { ...counts, owned };
  for (const w of ['plain', 'anti', 'spread', 'owned'] as const) {
    if (all[w] <= 0) continue;
    const lat: number[] = [];
    const placed: string[] = [];
    const t0 = now();
    for (let i = 0; i < all[w]; i++) {
      const pod = w === 'owned' ? makeOwnedPod(i) : makePod(w, i, groupSize);
      pod.metadata!.namespace = `bench-${w}`;
      pod.metadata!.uid = `uid-${++uid}`;
      const s = now();
      cache.updateSnapshot(snapshot);
      const { nodeName } = await fwk.schedulePod(new CycleState(), pod, snapshot);
      cache.addPod(cache.assumePod(podInfo(pod), nodeName));
      lat.push(now() - s);
      placed.push(nodeName);
    }
    const seconds = (now() - t0) / 1000;
    lat.sort((a, b) => a - b);
    let check = '';
    if (w === 'spread' || w === 'owned') {
      const perZone = new Map<string, number>();
      for (const n of placed) perZone.set(nodeZone.get(n) ?? '?', (perZone.get(nodeZone.get(n) ?? '?') ?? 0) + 1);
      const c = [...perZone.values()];
      check = ` skew=${Math.max(...c) - Math.min(...c)}`;
    }
    log(
      `scheduler in-memory ${w} pods=${all[w]} nodes=${nodes} throughput=${(all[w] / seconds).toFixed(0)} pods/s ` +
        `cycle p50=${percentile(lat, 50).toFixed(2)} ms p99=${percentile(lat, 99).toFixed(2)} ms${check}`,
    );
  }
  log(`scheduler in-memory rss=${rssMiB(process.pid).toFixed(0)} MiB heap used=${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);
}

// ---- main ----

function formatLine(r: PhaseResult, nodes: number): string {
  const ms = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : 'n/a');
  const ms2 = (v: number) => (Number.isFinite(v) ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) : 'n/a');
  return (
    `scheduler ${r.workload} pods=${r.pods} nodes=${nodes} bound=${r.bound} throughput=${(r.bound / r.seconds).toFixed(1)} pods/s ` +
    `e2e-latency p50=${ms(percentile(r.latencies, 50))} ms p99=${ms(percentile(r.latencies, 99))} ms ` +
    `rss=${r.rssAfter.toFixed(0)} MiB (max ${r.rssMax.toFixed(0)}) server-cpu=${r.serverCpuPct.toFixed(0)}% ` +
    `create=${(r.pods / r.createSeconds).toFixed(0)} pods/s max-pending=${r.maxPending}${r.check}` +
    (r.attempts !== undefined
      ? `\n  scheduler: attempts=${r.attempts} attempt p50=${ms2(r.attemptP50!)} ms p99=${ms2(r.attemptP99!)} ms cycle p50=${ms2(r.cycleP50!)} ms p99=${ms2(r.cycleP99!)} ms`
      : '') +
    (r.schedRssMax !== undefined ? ` scheduler-process rss max ${r.schedRssMax.toFixed(0)} MiB cpu=${r.schedCpuPct!.toFixed(0)}%` : '')
  );
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      nodes: { type: 'string' },
      plain: { type: 'string' },
      anti: { type: 'string' },
      spread: { type: 'string' },
      'group-size': { type: 'string', default: '5' },
      creators: { type: 'string', default: '32' },
      'heartbeat-interval': { type: 'string', default: '10s' },
      'timeout-s': { type: 'string', default: '600' },
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
      'cpu-prof-dir': { type: 'string' },
      'scheduler-process': { type: 'boolean', default: false },
      'in-memory': { type: 'boolean', default: false },
      owned: { type: 'string', default: '0' },
    },
  });
  const q = values.quick;
  const nodes = Number(values.nodes ?? (q ? 500 : 5000));
  const counts: Record<Workload, number> = {
    plain: Number(values.plain ?? (q ? 1000 : 10_000)),
    anti: Number(values.anti ?? (q ? 500 : 5000)),
    spread: Number(values.spread ?? (q ? 500 : 5000)),
  };
  const groupSize = Number(values['group-size']);
  const creators = Number(values.creators);
  const timeoutMs = Number(values['timeout-s']) * 1000;

  if (values['in-memory']) return runInMemory(nodes, counts, groupSize, Number(values.owned));
  dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-scheduler-'));
  const profDir = values['cpu-prof'] ? (values['cpu-prof-dir'] ?? join(dataDir, 'prof')) : undefined;
  log(`scheduler bench: ${nodes} hollow nodes; pods plain=${counts.plain} anti=${counts.anti} (groups of ${groupSize}) spread=${counts.spread}; ${creators} creators${profDir ? `; --cpu-prof into ${profDir}` : ''}`);

  process.env.SKIFF_SCHEDULER_STATS_INTERVAL_MS = '1000';
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [];
  let schedProc: ChildProcess | undefined;
  if (values['scheduler-process']) {
    server = await startServerWithoutScheduler(dataDir, nodeArgs);
    schedProc = await startSchedulerProcess(server.kubeconfig);
    schedulerPid = schedProc.pid!;
    readStats(schedProc);
    log(`scheduler: separate process (skiff scheduler, pid ${schedulerPid}), rss at start ${rssMiB(schedulerPid).toFixed(0)} MiB`);
  } else {
    server = await startServerProcess({ dataDir, nodeArgs });
    schedulerPid = server.pid;
    readStats(server.proc);
  }
  const rssStartup = rssMiB(server.pid);
  const t0 = now();
  const hollow = await startHollow(server.kubeconfig, nodes, values['heartbeat-interval']!);
  const client = new Client({ kubeconfig: server.kubeconfig, component: 'bench-scheduler', qps: 0 });
  const nodeZone = await waitSchedulerSeesNodes(client, nodes);
  const readyS = (now() - t0) / 1000;
  await sleep(2000);
  const rssBefore = rssMiB(server.pid);
  if (schedProc) log(`scheduler-process rss after=${nodes}-nodes ${rssMiB(schedulerPid).toFixed(0)} MiB`);
  log(`scheduler rss after=startup ${rssStartup.toFixed(0)} MiB; after=${nodes}-nodes ${rssBefore.toFixed(0)} MiB (nodes registered in ${hollow.registrationS.toFixed(1)} s, in the scheduler's cache ${readyS.toFixed(1)} s after start)`);

  const results: PhaseResult[] = [];
  for (const w of ['plain', 'anti', 'spread'] as const) {
    if (counts[w] <= 0) continue;
    log(`- ${w}: ${counts[w]} pods`);
    const r = await runPhase(client, w, counts[w], { creators, groupSize, timeoutMs, nodeZone });
    results.push(r);
    log(formatLine(r, nodes));
  }
  const last = await freshStats();
  log(
    `scheduler rss after=all ${rssMiB(server.pid).toFixed(0)} MiB hollow-nodes rss=${rssMiB(hollow.proc.pid!).toFixed(0)} MiB` +
      (schedProc ? ` scheduler-process rss=${rssMiB(schedulerPid).toFixed(0)} MiB` : '') +
      (last ? ` (scheduler's process: heap used ${last.heapUsedMiB} MiB; ${last.attempts} attempts, ${last.errors} errors)` : ''),
  );
  client.close();

  if (schedProc) {
    schedProc.kill('SIGTERM');
    await Promise.race([new Promise((r) => schedProc!.once('exit', r)), sleep(10_000)]);
  }
  hollow.proc.kill('SIGTERM');
  await Promise.race([new Promise((r) => hollow.proc.once('exit', r)), sleep(10_000)]);
  await server.stop();
  if (profDir) {
    const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) log(`no .cpuprofile in ${profDir}`);
    else {
      const top = topSelfTime(join(profDir, file), ROOT, 20);
      log(`\nserver CPU profile ${join(profDir, file)}: busy ${(top.busyMs / 1000).toFixed(1)} s, idle ${(top.idleMs / 1000).toFixed(1)} s`);
      log('self %  self ms  function');
      for (const e of top.entries) log(`${e.percent.toFixed(1).padStart(6)} ${e.ms.toFixed(0).padStart(8)}  ${e.name}`);
      log('\nby file:');
      for (const e of top.files) log(`${e.percent.toFixed(1).padStart(6)} ${e.ms.toFixed(0).padStart(8)}  ${e.name}`);
    }
  }
  if (results.some((r) => r.bound < r.pods)) throw new Error('some pods were not bound before the timeout');
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
