// Pod startup latency on a real node, as upstream's SLI defines it: from the pod's create to the
// moment a watch shows it Running with all containers started (image already present). Runs
// `skiff server` with its agent (kubelet over skiff's containerd) on this machine, creates N pods
// one at a time and then in parallel batches, and records for each pod: the create request, the
// binding seen on the watch (scheduler share) and Running seen on the watch.
// Then the same pod starts straight against containerd through the CRI alone (RunPodSandbox on
// a bridge CNI network, CreateContainer, StartContainer, with the sandbox/container configs the
// kubelet would build) on a separate test containerd, to show what skiff adds on top.
//
// Run (root): npx tsc -p . && node dist/bench/pod-startup.js [--pods 50] [--batch 10]
//               [--skip-skiff] [--skip-cri]
// Everything started is stopped by PID and cleaned up (bridges, proxy rules, data dirs), also on failure.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { KObject } from '../src/api/types.js';
import { buildConflist } from '../src/kubelet/network/cni-config.js';
import { removeCgroup } from '../src/kubelet/pods/pod-sync.js';
import { cgroupParent, containerConfig, sandboxConfig } from '../src/kubelet/pods/runtime-config.js';
import { startTestContainerd, BUSYBOX_IMAGE, type TestContainerd } from '../test/helpers/containerd.js';
import { startNodeCluster, type NodeCluster } from '../test/helpers/node-cleanup.js';
import { KubeClient, loadKubeconfig } from './lib/kube-client.js';
import { latencySummary } from './lib/stats.js';

const NS = 'bench';
const IMAGE = 'skiff.local/busybox:latest';
/** The CRI baseline's own bridge, subnet and CNI network name (IPAM state under /var/lib/cni/networks/<name>). */
const CRI_BRIDGE = 'skiffbench0';
const CRI_SUBNET = '10.244.251.0/24';
const CRI_NETWORK = 'skiff-bench';

const now = () => performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stdout.write(`${s}\n`);

interface PodTiming {
  /** POST returned. */
  created: number;
  /** A watch event with spec.nodeName set. */
  scheduled: number;
  /** A watch event with phase Running and every container started. */
  running: number;
}

// ---------------- skiff: API create -> Running on the watch ----------------

class PodWatcher {
  private readonly waiting = new Map<string, { t0: number; scheduled?: number; resolve: (t: { scheduled: number; running: number }) => void }>();
  private readonly live = new Set<string>();
  private goneWaiters: Array<() => void> = [];

  onLine = (line: string): void => {
    const t = now();
    const ev = JSON.parse(line) as { type: string; object: KObject };
    const pod = ev.object;
    const name = pod.metadata?.name ?? "";
    if (ev.type === 'DELETED') {
      this.live.delete(name);
      if (this.live.size === 0) for (const w of this.goneWaiters.splice(0)) w();
      return;
    }
    if (ev.type !== 'ADDED' && ev.type !== 'MODIFIED') return;
    this.live.add(name);
    const w = this.waiting.get(name);
    if (!w) return;
    if (w.scheduled === undefined && pod.spec?.nodeName) w.scheduled = t - w.t0;
    const statuses: KObject[] = pod.status?.containerStatuses ?? [];
    const started = statuses.length === (pod.spec?.containers?.length ?? 0) && statuses.every((c) => c.started === true || c.state?.running);
    if (pod.status?.phase === 'Running' && started) {
      this.waiting.delete(name);
      w.resolve({ scheduled: w.scheduled ?? t - w.t0, running: t - w.t0 });
    }
  };

  expect(name: string, t0: number): Promise<{ scheduled: number; running: number }> {
    return new Promise((resolve) => this.waiting.set(name, { t0, resolve }));
  }

  allGone(): Promise<void> {
    if (this.live.size === 0) return Promise.resolve();
    return new Promise((r) => this.goneWaiters.push(r));
  }
}

function benchPod(name: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'pod-startup' } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'sleep', image: IMAGE, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  };
}

async function startSkiffPod(c: KubeClient, watcher: PodWatcher, name: string): Promise<PodTiming> {
  const t0 = now();
  const done = watcher.expect(name, t0);
  await c.json('POST', `/api/v1/namespaces/${NS}/pods`, benchPod(name));
  const created = now() - t0;
  const timeout = sleep(120_000).then(() => Promise.reject(new Error(`pod ${name} not Running after 120 s`)));
  const { scheduled, running } = await Promise.race([done, timeout]);
  return { created, scheduled, running };
}

async function deleteAllPods(c: KubeClient, watcher: PodWatcher): Promise<number> {
  const t0 = now();
  await c.json('DELETE', `/api/v1/namespaces/${NS}/pods?gracePeriodSeconds=1`);
  await Promise.race([watcher.allGone(), sleep(180_000).then(() => Promise.reject(new Error('pods not gone after 180 s')))]);
  return now() - t0;
}

async function runSeries<T>(n: number, batch: number, start: (i: number) => Promise<T>): Promise<{ results: T[]; seconds: number }> {
  const results: T[] = [];
  const t0 = now();
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    results.push(...(await Promise.all(Array.from({ length: size }, (_, j) => start(i + j)))));
  }
  return { results, seconds: (now() - t0) / 1000 };
}

function report(label: string, n: number, seconds: number, rows: Record<string, number[]>): void {
  log(`${label}: ${n} pods in ${seconds.toFixed(2)} s (${(n / seconds).toFixed(1)} pods/s)`);
  for (const [k, v] of Object.entries(rows)) log(`  ${k.padEnd(12)} ${latencySummary(v)}`);
}

async function benchSkiff(pods: number, batch: number): Promise<void> {
  let cluster: NodeCluster | undefined;
  let client: KubeClient | undefined;
  let watch: { close(): void } | undefined;
  const onSignal = () => void cluster?.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const tStart = now();
    cluster = await startNodeCluster({ nodeName: 'skiff-bench-node' });
    log(`skiff server with agent: node Ready after ${((now() - tStart) / 1000).toFixed(1)} s`);
    client = new KubeClient(loadKubeconfig(cluster.server.kubeconfig), 32);
    await client.json('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    // Pods are refused until the namespace's default ServiceAccount exists.
    for (let i = 0; ; i++) {
      const r = await client.request('GET', `/api/v1/namespaces/${NS}/serviceaccounts/default`);
      if (r.status === 200) break;
      if (i > 200) throw new Error('no default ServiceAccount in the bench namespace');
      await sleep(100);
    }
    const list = await client.json('GET', `/api/v1/namespaces/${NS}/pods`);
    const watcher = new PodWatcher();
    watch = await client.watch(`/api/v1/namespaces/${NS}/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}`, watcher.onLine);

    // One pod first, not counted: the node's first pod sets up the pod cgroup parent and so on.
    const warm = await startSkiffPod(client, watcher, 'warmup');
    log(`warm-up pod: Running after ${warm.running.toFixed(0)} ms`);
    await deleteAllPods(client, watcher);

    for (const [label, size] of [['one at a time', 1], [`batches of ${batch}`, batch]] as const) {
      const tag = size === 1 ? 'seq' : 'par';
      const { results, seconds } = await runSeries(pods, size, (i) => startSkiffPod(client!, watcher, `${tag}-${i}`));
      report(`skiff ${label}`, pods, seconds, {
        create: results.map((r) => r.created),
        scheduled: results.map((r) => r.scheduled),
        running: results.map((r) => r.running),
        kubelet: results.map((r) => r.running - r.scheduled),
      });
      const delMs = await deleteAllPods(client, watcher);
      log(`  deleted all ${pods} pods (grace 1 s, the kubelet confirms) in ${(delMs / 1000).toFixed(2)} s`);
    }
  } finally {
    watch?.close();
    client?.close();
    if (cluster) {
      const r = await cluster.cleanup();
      if (r.errors.length || r.podsLeft.length || r.killed.length) log(`cleanup: ${JSON.stringify(r)}`);
    }
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// ---------------- CRI alone: RunPodSandbox -> CreateContainer -> StartContainer ----------------

interface CriTiming {
  sandbox: number;
  create: number;
  start: number;
  total: number;
}

async function startCriPod(ctr: TestContainerd, name: string): Promise<CriTiming> {
  const pod: KObject = { ...benchPod(name), metadata: { name, namespace: NS, uid: randomUUID(), labels: { app: 'pod-startup' } } };
  const sb = sandboxConfig(pod, 0, { logRoot: ctr.logDir, dns: { host: { servers: [], searches: [], options: [] } } });
  const container = pod.spec.containers[0];
  const t0 = now();
  const podId = await ctr.cri.runtime.runPodSandbox(sb);
  const t1 = now();
  const cId = await ctr.cri.runtime.createContainer(podId, containerConfig(pod, container, {
    restartCount: 0, env: [], command: container.command, mounts: [], init: false, qos: 'BestEffort',
  }), sb);
  const t2 = now();
  await ctr.cri.runtime.startContainer(cId);
  const t3 = now();
  return { sandbox: t1 - t0, create: t2 - t1, start: t3 - t2, total: t3 - t0 };
}

async function removeAllSandboxes(ctr: TestContainerd): Promise<number> {
  const t0 = now();
  const rt = ctr.cri.runtime;
  await Promise.all((await rt.listPodSandbox()).map(async (s) => {
    await rt.stopPodSandbox(s.id);
    await rt.removePodSandbox(s.id);
    // runc removes the containers' cgroups; the pod-level parent is the kubelet's to remove.
    removeCgroup(cgroupParent({ metadata: { uid: s.metadata.uid } }));
  }));
  return now() - t0;
}

async function benchCri(pods: number, batch: number): Promise<void> {
  let ctr: TestContainerd | undefined;
  const cleanup = async () => {
    await ctr?.stop();
    if (spawnSync('ip', ['link', 'show', CRI_BRIDGE], { stdio: 'ignore' }).status === 0) spawnSync('ip', ['link', 'del', CRI_BRIDGE]);
    rmSync(`/var/lib/cni/networks/${CRI_NETWORK}`, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    ctr = await startTestContainerd({ cniConflist: { ...buildConflist({ podCIDR: CRI_SUBNET, bridge: CRI_BRIDGE }), name: CRI_NETWORK } });
    for (let i = 0; ; i++) {
      const st = await ctr.cri.runtime.status();
      if (st.status?.conditions?.find((c) => c.type === 'NetworkReady')?.status) break;
      if (i > 200) throw new Error('test containerd never reported NetworkReady');
      await sleep(100);
    }
    const images = await ctr.cri.image.listImages();
    if (!images.some((im) => im.repoTags?.includes(BUSYBOX_IMAGE))) throw new Error(`${BUSYBOX_IMAGE} not in the test containerd`);
    const warm = await startCriPod(ctr, 'warmup');
    log(`CRI warm-up pod: started after ${warm.total.toFixed(0)} ms`);
    await removeAllSandboxes(ctr);
    for (const [label, size] of [['one at a time', 1], [`batches of ${batch}`, batch]] as const) {
      const tag = size === 1 ? 'seq' : 'par';
      const { results, seconds } = await runSeries(pods, size, (i) => startCriPod(ctr!, `${tag}-${i}`));
      report(`CRI alone ${label}`, pods, seconds, {
        RunPodSandbox: results.map((r) => r.sandbox),
        CreateContainer: results.map((r) => r.create),
        StartContainer: results.map((r) => r.start),
        total: results.map((r) => r.total),
      });
      const delMs = await removeAllSandboxes(ctr);
      log(`  stopped and removed ${pods} sandboxes in ${(delMs / 1000).toFixed(2)} s`);
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      pods: { type: 'string', default: '50' },
      batch: { type: 'string', default: '10' },
      'skip-skiff': { type: 'boolean', default: false },
      'skip-cri': { type: 'boolean', default: false },
    },
  });
  const pods = Number(values.pods);
  const batch = Number(values.batch);
  if (!Number.isInteger(pods) || pods < 1 || !Number.isInteger(batch) || batch < 1) throw new Error('--pods and --batch take positive integers');
  if (process.getuid?.() !== 0) throw new Error('pod-startup needs root (containerd, bridges, iptables)');
  log(`pod startup: ${pods} pods of ${IMAGE} (sleep 3600), one at a time and in parallel batches of ${batch}; latencies from the create request`);
  // Latencies here are mostly containerd and runc work: say how busy the machine was.
  const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
  log(`${cpus().length} CPUs, load average ${load()}`);
  if (!values['skip-skiff']) await benchSkiff(pods, batch);
  if (!values['skip-cri']) await benchCri(pods, batch);
  log(`load average at the end ${load()}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`pod-startup: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
