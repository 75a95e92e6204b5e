// The bench/etcd-raw.ts workload through the Store interface, for sqlite and etcd:
// 16 concurrent clients doing creates, CAS updates, then gets.
// Run: npx tsc -p . && node dist/bench/store.js [opsPerClient]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Store } from '../src/storage/store.js';
import { SqliteStore } from '../src/storage/sqlite.js';
import { openEtcdStore } from '../src/storage/etcd.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { CLIENTS, measure, sampleValue } from './etcd-raw.js';

export async function workload(name: string, stores: Store[], opsPerClient: number): Promise<void> {
  const revs = new Map<string, number>();
  await measure(`${name} create`, stores, opsPerClient, async (s, w, i) => {
    const key = `/registry/bench/${w}/${i}`;
    revs.set(key, (await s.create(key, sampleValue(i))).modRevision);
  });
  await measure(`${name} update`, stores, opsPerClient, async (s, w, i) => {
    const key = `/registry/bench/${w}/${i}`;
    revs.set(key, (await s.update(key, sampleValue(i + 1), revs.get(key)!)).modRevision);
  });
  await measure(`${name} get`, stores, opsPerClient, (s, w, i) => s.get(`/registry/bench/${w}/${i}`));
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
