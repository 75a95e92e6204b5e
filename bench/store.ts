// The bench/etcd-raw.ts workload through the Store interface, for sqlite and etcd:
// 16 concurrent clients doing creates, CAS updates, then gets. After each line, the share of
// the phase's wall time that the main thread's event loop was busy (for sqlite, what the
// commits leave to the rest of a server in the same process).
// Run: npx tsc -p . && node dist/bench/store.js [opsPerClient]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Store } from '../src/storage/store.js';
import { SqliteStore } from '../src/storage/sqlite.js';
import { openEtcdStore } from '../src/storage/etcd.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { CLIENTS, measure, sampleValue } from './etcd-raw.js';

export async function workload(name: string, stores: Store[], opsPerClient: number): Promise<void> {
  const revs = new Map<string, number>();
  await phase(`${name} create`, stores, opsPerClient, async (s, w, i) => {
    const key = `/registry/bench/${w}/${i}`;
    revs.set(key, (await s.create(key, sampleValue(i))).modRevision);
  });
  await phase(`${name} update`, stores, opsPerClient, async (s, w, i) => {
    const key = `/registry/bench/${w}/${i}`;
    revs.set(key, (await s.update(key, sampleValue(i + 1), revs.get(key)!)).modRevision);
  });
  await phase(`${name} get`, stores, opsPerClient, (s, w, i) => s.get(`/registry/bench/${w}/${i}`));
}

/** measure(), then the event loop utilisation of the main thread during it. */
async function phase(label: string, stores: Store[], opsPerClient: number, op: (s: Store, w: number, i: number) => Promise<unknown>): Promise<void> {
  const before = performance.eventLoopUtilization();
  await measure(label, stores, opsPerClient, op);
  const elu = performance.eventLoopUtilization(before);
  console.log(`${label.padEnd(22)} event-loop busy=${(elu.utilization * 100).toFixed(0)}% (${elu.active.toFixed(0)}ms of ${(elu.active + elu.idle).toFixed(0)}ms)`);
}

async function main(): Promise<void> {
  const opsPerClient = Number(process.argv[2] ?? 500);

  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-'));
  try {
    // One process-wide store, as the API server has; 16 concurrent callers.
    const sqlite = new SqliteStore(join(dir, 'state.db'));
    await workload('store sqlite', Array.from({ length: CLIENTS }, () => sqlite), opsPerClient);
    await sqlite.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const etcd = await startEtcd();
  try {
    const stores = await Promise.all(Array.from({ length: CLIENTS }, () => openEtcdStore([etcd.endpoint])));
    await workload('store etcd', stores, opsPerClient);
    for (const s of stores) await s.close();
  } finally {
    await etcd.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
