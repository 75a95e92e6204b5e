// Raw etcd throughput and latency with the etcd3 client: 16 concurrent clients doing puts,
// then gets, against an etcd this script starts. The baseline for bench/store.ts.
// Run: npx tsc -p . && node dist/bench/etcd-raw.js [opsPerClient]
import { pathToFileURL } from 'node:url';
import { Etcd3 } from 'etcd3';
import { startEtcd } from '../test/helpers/etcd.js';

export const CLIENTS = 16;

/** A value about the size of a small Kubernetes object. */
export function sampleValue(i: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `bench-${i}`, namespace: 'default', labels: { app: 'bench' } },
    data: { payload: 'x'.repeat(600) },
  });
}

/** Runs op(client, i) opsPerClient times on each client concurrently; prints one line. */
export async function measure<C>(
  label: string,
  clients: C[],
  opsPerClient: number,
  op: (client: C, worker: number, i: number) => Promise<unknown>,
): Promise<void> {
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    clients.map(async (c, w) => {
      for (let i = 0; i < opsPerClient; i++) {
        const t = process.hrtime.bigint();
        await op(c, w, i);
        latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2);
  console.log(
    `${label.padEnd(22)} ops=${latencies.length} clients=${clients.length} ` +
      `throughput=${Math.round(latencies.length / seconds)}/s p50=${pct(50)}ms p99=${pct(99)}ms`,
  );
}

async function main(): Promise<void> {
  const opsPerClient = Number(process.argv[2] ?? 500);
  const etcd = await startEtcd();
  const clients = Array.from({ length: CLIENTS }, () => new Etcd3({ hosts: [etcd.endpoint] }));
  try {
    await measure('etcd-raw put', clients, opsPerClient, (c, w, i) => c.put(`/bench/${w}/${i}`).value(sampleValue(i)).exec());
    await measure('etcd-raw get', clients, opsPerClient, (c, w, i) => c.get(`/bench/${w}/${i}`).exec());
  } finally {
    for (const c of clients) c.close();
    await etcd.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
