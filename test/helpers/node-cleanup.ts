// Shared setup and teardown for end-to-end tests that run real pods: `skiff server` with its
// agent (kubelet over skiff's containerd, iptables proxy, cluster DNS) owns host-wide things
// (ports 10250 and 53, bridge skiff0, SKIFF-* chains), so only one such test may run on the
// machine at a time (a flock held for the whole test), and after it the host must be left as
// it was: pods deleted (the kubelet removes sandboxes and CNI state), the server stopped,
// proxy rules removed, bridges deleted, no containerd or shim of the test's data dirs left.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { containerdPaths } from '../../src/kubelet/containerd/paths.js';
import { mountsUnder, teardownContainerdState } from '../../src/kubelet/containerd/cleanup.js';
import { startServer, type StartOptions, type TestServer } from './cluster.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
export const SKIFF = join(ROOT, 'bin', 'skiff');
export const NODE_LOCK = '/tmp/skiff-node-e2e.lock';
export const DEFAULT_BRIDGE = 'skiff0';

/** Why node e2e tests cannot run here, or undefined when they can. */
export function nodeE2eSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'node e2e tests need root';
  for (const bin of ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2', 'kubectl', 'iptables', 'ip', 'flock']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `node e2e tests need ${bin}`;
  }
  if (!existsSync('/bin/busybox')) return 'node e2e tests need /bin/busybox (busybox-static)';
  return undefined;
}

/**
 * Takes the machine-wide node e2e lock (flock(1) on NODE_LOCK, held by a child process whose
 * stdin we hold: if this process dies, the pipe closes and the lock goes with it).
 * Resolves with a release function.
 */
export function acquireNodeLock(timeoutMs = 15 * 60_000): Promise<() => Promise<void>> {
  return new Promise((res, rej) => {
    const holder = spawn('flock', ['-w', String(Math.ceil(timeoutMs / 1000)), NODE_LOCK, 'sh', '-c', 'echo locked; exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (!out.includes('locked')) return;
      holder.stdout!.off('data', onData);
      holder.stdout!.resume();
      res(() => releaseHolder(holder));
    };
    holder.stdout!.on('data', onData);
    holder.once('exit', (code) => {
      if (!out.includes('locked')) rej(new Error(`could not take ${NODE_LOCK} (flock exit ${code}): another node e2e test is running`));
    });
  });
}

function releaseHolder(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    holder.once('exit', () => r());
    holder.stdin!.end();
  });
}

export interface NodeCluster {
  server: TestServer;
  /** The node name the server's agent registers. */
  nodeName: string;
  /** Releases everything: see cleanupNodeCluster. */
  cleanup(opts?: CleanupOptions): Promise<CleanupReport>;
}

/** Takes the lock, starts `skiff server` with its agent and waits until its Node is Ready. */
export async function startNodeCluster(opts: StartOptions & { nodeName?: string; readyTimeoutMs?: number } = {}): Promise<NodeCluster> {
  const release = await acquireNodeLock();
  const leftover = bridgesPresent([DEFAULT_BRIDGE]);
  if (leftover.length) {
    await release();
    throw new Error(`bridge ${leftover.join(', ')} exists before the test: a previous run did not clean up (ip link del ${leftover[0]})`);
  }
  const nodeName = opts.nodeName ?? 'skiff-e2e-node';
  let server: TestServer;
  try {
    server = await startServer({ ...opts, agent: true, extraArgs: ['--node-name', nodeName, ...(opts.extraArgs ?? [])] });
  } catch (e) {
    await release();
    throw e;
  }
  const cluster: NodeCluster = {
    server,
    nodeName,
    cleanup: async (o = {}) => {
      try {
        return await cleanupNodeCluster(server, o);
      } finally {
        await release();
      }
    },
  };
  try {
    await waitNodeReady(server, nodeName, opts.readyTimeoutMs ?? 90_000);
  } catch (e) {
    await cluster.cleanup().catch(() => undefined);
    throw e;
  }
  return cluster;
}

export async function waitNodeReady(server: TestServer, nodeName: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const r = await server.kubectl(['get', 'node', nodeName, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
    last = r.stdout + r.stderr;
    if (r.code === 0 && r.stdout.trim() === 'True') return;
    if (Date.now() > deadline) throw new Error(`node ${nodeName} not Ready after ${timeoutMs} ms: ${last}`);
    await sleep(500);
  }
}

export interface CleanupOptions {
  /** Other agent processes (e.g. `skiff agent`) to stop after the pods are gone (SIGTERM, then SIGKILL). */
  agents?: ChildProcess[];
  /** Their data dirs: containerd leftovers are torn down and the dirs removed. */
  extraDataDirs?: string[];
  /** Bridges to delete besides skiff0. */
  bridges?: string[];
  /** How long to wait for pods to go away (default 60 s). */
  podTimeoutMs?: number;
}

export interface CleanupReport {
  /** Pods still listed when the wait ended (then force-deleted). */
  podsLeft: string[];
  /** containerd / shim PIDs that had to be killed after the server stopped. */
  killed: number[];
  bridgesDeleted: string[];
  errors: string[];
}

/**
 * Deletes every pod (all namespaces) and waits until they are gone, stops extra agents and
 * the server, removes proxy rules and bridges, kills containerd processes and shims left
 * under the data dirs (by PID), unmounts and removes the data dirs. Never throws: problems
 * are collected in the report.
 */
export async function cleanupNodeCluster(server: TestServer, o: CleanupOptions = {}): Promise<CleanupReport> {
  const report: CleanupReport = { podsLeft: [], killed: [], bridgesDeleted: [], errors: [] };
  const step = async (what: string, fn: () => Promise<void> | void) => {
    try {
      await fn();
    } catch (e) {
      report.errors.push(`${what}: ${(e as Error).message}`);
    }
  };
  const serverAlive = server.proc.exitCode === null && server.proc.signalCode === null;
  if (serverAlive) {
    await step('delete workloads', async () => {
      // Controllers would recreate pods: remove their owners first.
      await server.kubectl(['delete', 'deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,replicationcontrollers', '--all', '-A', '--wait=false'], { timeoutMs: 30_000 });
      await server.kubectl(['delete', 'pods', '--all', '-A', '--wait=false'], { timeoutMs: 30_000 });
    });
    await step('wait for pods', async () => {
      const deadline = Date.now() + (o.podTimeoutMs ?? 60_000);
      for (;;) {
        const r = await server.kubectl(['get', 'pods', '-A', '-o', 'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\\n"}{end}'], { timeoutMs: 15_000 });
        const left = r.stdout.split('\n').filter(Boolean);
        if (r.code === 0 && left.length === 0) return;
        if (Date.now() > deadline) {
          report.podsLeft = left;
          await server.kubectl(['delete', 'pods', '--all', '-A', '--force', '--grace-period=0'], { timeoutMs: 30_000 });
          return;
        }
        await sleep(500);
      }
    });
  }
  for (const a of o.agents ?? []) await step('stop agent', () => stopChild(a, 15_000));
  await step('stop server', () => server.stop({ keepData: true }));
  await step('proxy cleanup', () => {
    const r = spawnSync(process.execPath, [SKIFF, 'proxy', '--cleanup'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`skiff proxy --cleanup exited ${r.status}: ${r.stderr}`);
  });
  const dataDirs = [server.dataDir, ...(o.extraDataDirs ?? [])];
  for (const dir of dataDirs) {
    await step(`containerd leftovers in ${dir}`, () => {
      for (const pid of processesUnder(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
          report.killed.push(pid);
        } catch {
          // gone already
        }
      }
      const p = containerdPaths(dir);
      const t = teardownContainerdState({ rootDir: p.rootDir, stateDir: p.stateDir, socket: p.socket });
      report.killed.push(...t.killedShims);
    });
  }
  for (const br of [DEFAULT_BRIDGE, ...(o.bridges ?? [])]) {
    await step(`delete bridge ${br}`, () => {
      if (!bridgesPresent([br]).length) return;
      const r = spawnSync('ip', ['link', 'del', br], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr.trim());
      report.bridgesDeleted.push(br);
    });
  }
  for (const dir of dataDirs) {
    await step(`remove ${dir}`, async () => {
      for (const mp of mountsUnder([dir])) if (spawnSync('umount', [mp]).status !== 0) spawnSync('umount', ['-l', mp]);
      rmSync(dir, { recursive: true, force: true });
    });
  }
  return report;
}

/** containerd and shim processes whose command line mentions dir (their --root/--state/-address). */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!argv[0]?.includes('containerd')) continue;
    if (argv.some((a) => a.includes(dir))) pids.push(Number(name));
  }
  return pids;
}

export function bridgesPresent(names: string[]): string[] {
  return names.filter((n) => existsSync(`/sys/class/net/${n}`));
}

export async function stopChild(p: ChildProcess, graceMs: number): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
