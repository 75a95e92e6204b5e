// Cost of `skiff hollow-nodes`: for each node count, a fresh `skiff server` (test/helpers/cluster.ts)
// and a `skiff hollow-nodes` child process against it. Measures the time to register the nodes,
// then, idle (heartbeats only: leases every 10 s, node status every 60 s), the hollow process's
// RSS and CPU over a window covering a full status period, the server's too, and checks that every
// lease stayed fresh.
//
// Run: npx tsc -p . && node dist/bench/hollow-nodes.js [--counts 1000,5000] [--idle 70s]
//                                                      [--qps 1000 --burst 2000] [--quick]
// Everything started here (servers, hollow processes, temp dirs) is stopped by PID on exit.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, type TestServer } from '../test/helpers/cluster.js';
import { Client } from '../src/client/index.js';
import { parseDuration } from '../src/cmd/hollow-nodes.js';
import { cpuSeconds, rssMiB } from './lib/proc.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../..');
const SKIFF = join(ROOT, 'bin', 'skiff');

const children = new Set<ChildProcess>();
const servers = new Set<TestServer>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const s of servers) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

interface Sampler {
  stop(): { avg: number; max: number; last: number };
}

function sampleRss(pid: number, everyMs = 1000): Sampler {
  const values: number[] = [];
  const take = () => values.push(rssMiB(pid));
  take();
  const t = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(t);
      take();
      return { avg: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values), last: values[values.length - 1] };
    },
  };
}

interface Result {
  count: number;
  registrationS: number;
  wallToReadyS: number;
  idleS: number;
  hollowRss: { avg: number; max: number; last: number };
  hollowCpuPct: number;
  serverRss: { avg: number; max: number; last: number };
  serverCpuPct: number;
  freshLeases: number;
  writesPerS: number;
}

async function runOne(count: number, idleMs: number, qps: number, burst: number): Promise<Result> {
  const server = await startServer();
  servers.add(server);
  try {
    const t0 = performance.now();
    const proc = spawn(
      process.execPath,
      [SKIFF, 'hollow-nodes', '--count', String(count), '--kubeconfig', server.kubeconfig, '--qps', String(qps), '--burst', String(burst), '--stats-interval', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.add(proc);
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.stderr!.on('data', (d) => process.stderr.write(`  [hollow] ${d}`));
    const registrationS = await new Promise<number>((res, rej) => {
      const check = () => {
        const m = /nodes ready in ([\d.]+)s/.exec(out);
        if (m) res(Number(m[1]));
      };
      proc.stdout!.on('data', check);
      proc.once('exit', (code) => rej(new Error(`hollow-nodes exited (${code}) before it was ready:\n${out}`)));
    });
    const wallToReadyS = (performance.now() - t0) / 1000;
    process.stdout.write(`  ${count} nodes registered in ${registrationS.toFixed(1)} s (${wallToReadyS.toFixed(1)} s from process start)\n`);

    // Let the first lease pass (creates) finish before measuring the steady state.
    await new Promise((r) => setTimeout(r, 12_000));
    const hollowRssS = sampleRss(proc.pid!);
    const serverRssS = sampleRss(server.proc.pid!);
    const cpu0 = cpuSeconds(proc.pid!);
    const scpu0 = cpuSeconds(server.proc.pid!);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, idleMs));
    const idleS = (performance.now() - w0) / 1000;
    const hollowCpuPct = ((cpuSeconds(proc.pid!) - cpu0) / idleS) * 100;
    const serverCpuPct = ((cpuSeconds(server.proc.pid!) - scpu0) / idleS) * 100;
    const hollowRss = hollowRssS.stop();
    const serverRss = serverRssS.stop();

    // Every lease renewed within its 40 s duration?
    const client = new Client({ kubeconfig: server.kubeconfig, qps: 0 });
    const { items } = await client.leases.listAll('kube-node-lease');
    const now = Date.now();
    const freshLeases = items.filter((l) => l.metadata!.name!.startsWith('hollow-node-') && now - Date.parse(l.spec.renewTime) < 40_000).length;
    client.close();

    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
    children.delete(proc);
    return {
      count,
      registrationS,
      wallToReadyS,
      idleS,
      hollowRss,
      hollowCpuPct,
      serverRss,
      serverCpuPct,
      freshLeases,
      writesPerS: count / 10 + count / 60,
    };
  } finally {
    await server.stop();
    servers.delete(server);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      counts: { type: 'string' },
      idle: { type: 'string' },
      qps: { type: 'string', default: '1000' },
      burst: { type: 'string', default: '2000' },
      quick: { type: 'boolean', default: false },
    },
  });
  const counts = (values.counts ?? (values.quick ? '200' : '1000,5000')).split(',').map(Number);
  const idleMs = values.idle ? parseDuration(values.idle, 'idle') : values.quick ? 15_000 : 70_000;
  const qps = Number(values.qps);
  const burst = Number(values.burst);
  process.stdout.write(`hollow-nodes bench: counts ${counts.join(', ')}, idle window ${idleMs / 1000} s, --qps ${qps} --burst ${burst}\n`);
  const results: Result[] = [];
  for (const count of counts) {
    process.stdout.write(`- ${count} nodes\n`);
    results.push(await runOne(count, idleMs, qps, burst));
  }
  const f = (v: number, d = 1) => v.toFixed(d);
  process.stdout.write('\n| nodes | register (s) | hollow RSS avg/max (MiB) | hollow CPU | server RSS avg/max (MiB) | server CPU | heartbeat writes/s | fresh leases |\n');
  process.stdout.write('|---:|---:|---:|---:|---:|---:|---:|---:|\n');
  for (const r of results) {
    process.stdout.write(
      `| ${r.count} | ${f(r.registrationS)} | ${f(r.hollowRss.avg, 0)} / ${f(r.hollowRss.max, 0)} | ${f(r.hollowCpuPct)} % | ${f(r.serverRss.avg, 0)} / ${f(r.serverRss.max, 0)} | ${f(r.serverCpuPct)} % | ${f(r.writesPerS, 0)} | ${r.freshLeases}/${r.count} |\n`,
    );
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
