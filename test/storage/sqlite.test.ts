// sqlite-only behaviour: durability across reopen and SIGKILL, physical compaction, group
// commit batching; plus openStore endpoint parsing and the periodic compactor.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { StoreError, type WatchEvent } from '../../src/storage/store.js';
import { SqliteStore } from '../../src/storage/sqlite.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { etcdHosts, openStore } from '../../src/storage/open.js';
import { startCompactor } from '../../src/storage/compactor.js';

let dir = '';
let seq = 0;
const dbPath = () => join(dir, `t${++seq}.db`);

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-sqlite-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('sqlite store', () => {
  it('keeps data, revision counter and compact revision across reopen', async () => {
    const path = dbPath();
    let s = new SqliteStore(path);
    const a = await s.create('/r/a', 'A');
    const b = await s.create('/r/b', 'B');
    const a2 = await s.update('/r/a', 'A2', a.modRevision);
    const bd = await s.delete('/r/b');
    await s.compact(a2.modRevision);
    await s.close();

    s = new SqliteStore(path);
    assert.equal(await s.currentRevision(), bd.modRevision);
    assert.deepEqual(await s.get('/r/a'), a2);
    assert.equal(await s.get('/r/b'), undefined);
    assert.equal(s.compactRevision(), a2.modRevision);
    await assert.rejects(s.range('/r/', { revision: b.modRevision }), (e) => e instanceof StoreError && e.code === 'Compacted');
    await assert.rejects(s.watch('/r/', a.modRevision, () => {}), (e) => e instanceof StoreError && e.code === 'Compacted');
    const c = await s.create('/r/c', 'C');
    assert.equal(c.modRevision, bd.modRevision + 1, 'the counter continues after reopen');
    // History after the compact revision replays from the file.
    const events: WatchEvent[] = [];
    const w = await s.watch('/r/', a2.modRevision, (evs) => events.push(...evs));
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(events, [
      { type: 'DELETE', kv: bd, prevKv: b },
      { type: 'PUT', kv: c },
    ]);
    w.cancel();
    await s.close();
  });

  it('does not reuse revisions when compaction removed the newest rows', async () => {
    const path = dbPath();
    let s = new SqliteStore(path);
    const a = await s.create('/r/a', 'A');
    const d = await s.delete('/r/a');
    await s.compact(d.modRevision); // removes both rows: the log is empty now
    await s.close();
    s = new SqliteStore(path);
    assert.equal(await s.currentRevision(), d.modRevision);
    const again = await s.create('/r/a', 'A');
    assert.equal(again.modRevision, a.modRevision + 2);
    await s.close();
  });

  it('compaction removes superseded rows and deletions, keeps the latest of live keys', async () => {
    const path = dbPath();
    const s = new SqliteStore(path);
    let kv = await s.create('/r/a', '0');
    for (let i = 1; i <= 20; i++) kv = await s.update('/r/a', String(i), kv.modRevision);
    await s.create('/r/gone', 'x');
    await s.delete('/r/gone');
    const keep = await s.create('/r/b', 'b');
    const later = await s.update('/r/a', 'later', kv.modRevision);
    await s.compact(keep.modRevision);
    await s.close();
    const db = new Database(path, { readonly: true });
    const ids = db.prepare('SELECT id FROM log ORDER BY id').pluck().all();
    db.close();
    assert.deepEqual(ids, [kv.modRevision, keep.modRevision, later.modRevision]);
  });

  it('commits writes of one tick in one transaction, each with its own outcome', async () => {
    const s = new SqliteStore(dbPath());
    const seed = await s.create('/r/x', 'x');
    const batches: number[] = [];
    await s.watch('/r/', seed.modRevision, (evs) => batches.push(evs.length));
    const results = await Promise.allSettled([
      s.create('/r/1', '1'),
      s.create('/r/x', 'dup'),
      s.update('/r/x', 'stale', 999),
      s.create('/r/2', '2'),
      s.delete('/r/x', seed.modRevision),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === 'fulfilled' ? r.value.modRevision : (r.reason as StoreError).code)),
      [seed.modRevision + 1, 'AlreadyExists', 'Conflict', seed.modRevision + 2, seed.modRevision + 3],
    );
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(batches, [3], 'one batch of events per commit');
    await s.close();
  });

  it('loses no acknowledged write when the process is killed', async () => {
    const path = dbPath();
    const child = spawn(process.execPath, [fileURLToPath(new URL('./sqlite-crash-child.js', import.meta.url)), path, '300'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const acked = await new Promise<number>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /acked (\d+)/.exec(out);
          if (m) {
            child.kill('SIGKILL'); // right after the acknowledgement
            resolve(Number(m[1]));
          }
        });
        child.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      await new Promise((r) => child.once('exit', r));
      const s = new SqliteStore(path);
      assert.equal(await s.currentRevision(), acked);
      assert.equal((await s.range('/registry/crash/')).kvs.length, 300);
      assert.equal((await s.get('/registry/crash/k0'))?.value, 'updated');
      await s.close();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('refuses writes after close, but commits those queued before it', async () => {
    const s = new SqliteStore(dbPath());
    const queued = s.create('/r/q', 'q');
    await s.close();
    assert.equal((await queued).value, 'q');
    await assert.rejects(s.create('/r/z', 'z'), (e) => e instanceof StoreError && e.code === 'Unavailable');
  });
});

describe('openStore', () => {
  it('defaults to sqlite under the data dir, creating directories', async () => {
    const dataDir = join(dir, 'data');
    const s = await openStore(undefined, dataDir);
    assert.ok(s instanceof SqliteStore);
    await s.create('/k', 'v');
    await s.close();
    assert.ok(existsSync(join(dataDir, 'server', 'db', 'state.db')));
  });

  it('opens sqlite:// and memory:// endpoints', async () => {
    const path = join(dir, 'nested', 'x', 'file.db');
    const s = await openStore(`sqlite://${path}`, dir);
    assert.ok(s instanceof SqliteStore);
    assert.equal((s as SqliteStore).path, path);
    await s.close();
    const m = await openStore('memory://', dir);
    assert.ok(m instanceof MemoryStore);
    await m.close();
  });

  it('parses etcd endpoints', () => {
    assert.deepEqual(etcdHosts('etcd://h1:2379,h2:2379'), ['http://h1:2379', 'http://h2:2379']);
    assert.deepEqual(etcdHosts('http://127.0.0.1:2379'), ['http://127.0.0.1:2379']);
    assert.deepEqual(etcdHosts('http://a:1, http://b:2/'), ['http://a:1', 'http://b:2']);
    assert.throws(() => etcdHosts('https://a:2379'), /TLS/);
    assert.throws(() => etcdHosts('mysql://a'), /unsupported/);
  });
});

describe('compactor', () => {
  it('compacts to the revision seen one round ago, keeping the last N', async () => {
    const s = new MemoryStore();
    const c = startCompactor(s, { intervalMs: 3600_000, keepRevisions: 5 });
    try {
      for (let i = 0; i < 20; i++) await s.create(`/k${i}`, 'v');
      assert.equal(await c.runOnce(), 0, 'first round only records the revision');
      for (let i = 20; i < 22; i++) await s.create(`/k${i}`, 'v');
      assert.equal(await c.runOnce(), 17, 'min(seen last round = 20, current 22 - keep 5)');
      for (let i = 22; i < 40; i++) await s.create(`/k${i}`, 'v');
      assert.equal(await c.runOnce(), 22);
      await assert.rejects(s.watch('/', 10, () => {}), (e) => e instanceof StoreError && e.code === 'Compacted');
    } finally {
      c.stop();
      await s.close();
    }
  });
});
