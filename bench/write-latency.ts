// Write-path latency probe: a real `skiff server --disable-agent` (sqlite store) with the
// server's per-phase write timings on (SKIFF_WRITE_TIMING=1), measuring round trips of
//   (a) one client creating pods one after another,
//   (b) 32 clients creating pods at once, each on its own keep-alive connection,
//   (c) pods/binding POSTs (32 clients) on pods created beforehand,
// and printing, per workload, the client p50/p99 and the server's mean time per phase
// (decode, admission/prepare, store commit, watch-cache wait, encode, whole handler) and its CPU
// use (100% = one core; the sqlite worker thread counts too).
//
// Run: npx tsc -p . && node dist/bench/write-latency.js [--ops N] [--clients N] [--cpu-prof [--cpu-prof-dir DIR]]
// The server and its temp dir are removed on exit.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeClient, loadKubeconfig } from './lib/kube-client.js';
import { formatMeasured, runClients } from './lib/stats.js';
import { topSelfTime } from './lib/cpu-profile.js';
import { startServerProcess, type ServerProcess } from './lib/server-process.js';
import { cpuSeconds } from './lib/proc.js';

const { values } = parseArgs({
  options: {
    ops: { type: 'string', default: '1500' },
    clients: { type: 'string', default: '32' },
    'cpu-prof': { type: 'boolean', default: false },
    'cpu-prof-dir': { type: 'string' },
  },
});
const OPS = Number(values.ops);
const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const CLIENTS = Number(values.clients);

function pod(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'write-latency' } },
    spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
  };
}

/** Mean per phase from the server's `write-timing {...}` lines printed since offset. */
function phases(output: string, offset: number): string {
  const sums = new Map<string, { n: number; total: number; max: number }>();
  for (const line of output.slice(offset).split('\n')) {
    if (!line.startsWith('write-timing ')) continue;
    const o = JSON.parse(line.slice('write-timing '.length)) as Record<string, { n: number; mean: number; max: number }>;
    for (const [k, v] of Object.entries(o)) {
      const s = sums.get(k) ?? { n: 0, total: 0, max: 0 };
      s.n += v.n;
      s.total += v.mean * v.n;
      s.max = Math.max(s.max, v.max);
      sums.set(k, s);
    }
  }
  return [...sums]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, s]) => `${k}=${(s.total / s.n).toFixed(2)}ms(max ${s.max.toFixed(1)})`)
    .join(' ');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'skiff-bench-write-latency-'));
  const profDir = values['cpu-prof'] ? (values['cpu-prof-dir'] ?? join(dataDir, 'prof')) : undefined;
  let server: ServerProcess | undefined;
  const onSignal = () => {
    if (server) process.kill(server.pid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    server = await startServerProcess({
      dataDir,
      nodeArgs: profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
      // No controllers or scheduler: only the probe writes.
      extraArgs: ['--disable-scheduler', '--disable-controller-manager'],
      env: { SKIFF_WRITE_TIMING: '1' },
      keepOutput: true,
    });
    const creds = loadKubeconfig(server.kubeconfig);
    const clients = Array.from({ length: CLIENTS }, () => new KubeClient(creds));
    const base = '/api/v1/namespaces/default/pods';
    // Warm up connections and JIT.
    await runClients(clients, 10, (c, w, i) => c.json('POST', base, pod(`warm-${w}-${i}`)));
    await sleep(2100);

    const run = async (label: string, n: number, cs: KubeClient[], op: (c: KubeClient, w: number, i: number) => Promise<unknown>) => {
      const offset = server!.output().length;
      const cpu0 = cpuSeconds(server!.pid);
      const m = await runClients(cs, Math.ceil(n / cs.length), op);
      const cpu = (cpuSeconds(server!.pid) - cpu0) / m.seconds;
      await sleep(2100); // one more timing line from the server
      console.log(`${formatMeasured(`write-latency ${label}`, cs.length, m)} server-cpu=${(cpu * 100).toFixed(0)}%`);
      const out = server!.output();
      console.log(`  server phases: ${phases(out, offset)}`);
      for (const line of out.slice(offset).split('\n')) if (line.startsWith('sqlite-timing ')) console.log(`  ${line}`);
    };

    await run('(a) create sequential', Math.min(OPS, 600), clients.slice(0, 1), (c, _w, i) => c.json('POST', base, pod(`seq-${i}`)));
    await run('(b) create concurrent', OPS * 2, clients, (c, w, i) => c.json('POST', base, pod(`conc-${w}-${i}`)));
    const bindTarget = (w: number, i: number) => ({
      apiVersion: 'v1',
      kind: 'Binding',
      metadata: { name: `conc-${w}-${i}` },
      target: { apiVersion: 'v1', kind: 'Node', name: `node-${(w * 31 + i) % 50}` },
    });
    await run('(c) binding concurrent', OPS * 2, clients, (c, w, i) => c.json('POST', `${base}/conc-${w}-${i}/binding`, bindTarget(w, i)));
    for (const c of clients) c.close();
  } finally {
    await server?.stop();
    if (profDir) {
      for (const f of readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'))) {
        const { entries, busyMs, idleMs } = topSelfTime(join(profDir, f), ROOT, 25);
        console.log(`server cpu profile ${f}: busy=${busyMs.toFixed(0)}ms idle=${idleMs.toFixed(0)}ms`);
        for (const e of entries) console.log(`  ${e.ms.toFixed(0).padStart(7)}  ${e.percent.toFixed(1).padStart(5)}%  ${e.name}`);
      }
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
