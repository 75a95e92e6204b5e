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

describe('sqlite store: commits in a worker thread', () => {
  const isCode = (code: StoreError['code']) => (e: unknown) => e instanceof StoreError && e.code === code;
  const settled = (rs: PromiseSettledResult<{ modRevision: number }>[]) =>
    rs.map((r) => (r.status === 'fulfilled' ? r.value.modRevision : (r.reason as StoreError).code));

  it('makes a write visible to reads only once it is durable', async () => {
    const s = new SqliteStore(dbPath());
    const r0 = await s.currentRevision();
    const pending = s.create('/r/a', 'A');
    // The batch is on its way to the worker, or being committed there.
    await new Promise((r) => setImmediate(r));
    assert.equal(await s.get('/r/a'), undefined);
    assert.equal(await s.currentRevision(), r0);
    const kv = await pending;
    assert.deepEqual(await s.get('/r/a'), kv);
    assert.equal(await s.currentRevision(), kv.modRevision);
    await s.close();
  });

  it('accumulates writes into the next batch while one is being committed', async () => {
    const s = new SqliteStore(dbPath());
    const batches: number[][] = [];
    await s.watch('/r/', 0, (evs) => batches.push(evs.map((e) => e.kv.modRevision)));
    const first = Array.from({ length: 5 }, (_, i) => s.create(`/r/a${i}`, 'a'));
    await new Promise((r) => setImmediate(r)); // the first batch is in flight now
    const second = Array.from({ length: 5 }, (_, i) => s.create(`/r/b${i}`, 'b'));
    // The second group sees the first one's outcome: same-key writes are decided in order.
    const conflict = s.create('/r/a0', 'again');
    const results = await Promise.allSettled([...first, ...second, conflict]);
    assert.deepEqual(settled(results), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 'AlreadyExists']);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(batches, [
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
    ]);
    await s.close();
  });

  it('keeps the event loop turning while the worker commits', async () => {
    const s = new SqliteStore(dbPath());
    // One big batch: its transaction and fsync take a while, in the worker. The main thread
    // goes on running (the single-threaded store ran the whole commit inside one turn).
    const writes = Promise.all(Array.from({ length: 2000 }, (_, i) => s.create(`/r/k${i}`, 'x'.repeat(2000))));
    let done = false;
    void writes.then(() => (done = true));
    let turns = 0;
    while (!done) {
      await new Promise((r) => setImmediate(r));
      turns++;
    }
    assert.ok(turns > 5, `only ${turns} event loop turns during the commit`);
    assert.equal(await s.currentRevision(), 2000);
    await s.close();
  });

  it('starts a watch with history while batches commit, without gaps or duplicates', async () => {
    const s = new SqliteStore(dbPath());
    for (let i = 0; i < 10; i++) await s.create(`/r/h${i}`, 'h');
    const writes = Array.from({ length: 40 }, (_, i) => s.create(`/r/l${i}`, 'l'));
    await new Promise((r) => setImmediate(r)); // a batch is in flight while the history is read
    const seen: number[] = [];
    const more = Array.from({ length: 20 }, (_, i) => s.create(`/r/m${i}`, 'm'));
    const w = await s.watch('/r/', 3, (evs) => seen.push(...evs.map((e) => e.kv.modRevision)));
    await Promise.all([...writes, ...more]);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(seen, Array.from({ length: 67 }, (_, i) => 4 + i));
    w.cancel();
    await s.close();
  });

  it('rejects every write of a batch that fails on disk and keeps memory equal to the file', async () => {
    const path = dbPath();
    const s = new SqliteStore(path, { maxPageCount: 30 }); // a disk that fills up quickly
    const acked = new Map<string, string>();
    let failure: unknown;
    for (let i = 0; !failure && i < 1000; i++) {
      const results = await Promise.allSettled([s.create(`/r/k${i}a`, 'x'.repeat(1000)), s.create(`/r/k${i}b`, 'x'.repeat(1000))]);
      for (const [j, r] of results.entries()) {
        if (r.status === 'fulfilled') acked.set(r.value.key, r.value.value);
        else failure = r.reason;
        if (r.status === 'rejected') assert.equal(results[1 - j].status, 'rejected', 'a batch fails as a whole');
      }
    }
    assert.ok(isCode('Unavailable')(failure), String(failure));
    assert.match((failure as Error).message, /full/);
    const rev = await s.currentRevision();
    assert.equal(rev, acked.size, 'the failed batch took no revision');
    assert.equal((await s.range('/r/')).kvs.length, acked.size);
    // Preconditions of later writes are still judged on the committed state.
    const first = (await s.get('/r/k0a'))!;
    await assert.rejects(s.update('/r/k0a', 'y', first.modRevision + 1000), isCode('Conflict'));
    // Deleting frees no page while the row's history is kept, so this fails on disk too.
    await s.close();

    const reopened = new SqliteStore(path);
    assert.equal(await reopened.currentRevision(), rev);
    const onDisk = (await reopened.range('/r/')).kvs;
    assert.deepEqual(new Map(onDisk.map((kv) => [kv.key, kv.value])), acked);
    const next = await reopened.create('/r/after', 'ok');
    assert.equal(next.modRevision, rev + 1, 'revisions continue without a gap');
    await reopened.close();
  });

  it('hands a commit to live watchers within the turn that acknowledges it', async () => {
    const s = new SqliteStore(dbPath());
    const seen: number[] = [];
    const w = await s.watch('/m/', await s.currentRevision(), (evs) => seen.push(...evs.map((e) => e.kv.modRevision)));
    const kv = await s.create('/m/a', '1');
    await null; // microtasks only: no event-loop turn in between
    assert.deepEqual(seen, [kv.modRevision]);
    w.cancel();
    await s.close();
  });

  it('decides a batch on the one still in flight before it (pipelined commits)', async () => {
    const s = new SqliteStore(dbPath());
    const rev0 = await s.currentRevision();
    const created = s.create('/p/a', '1');
    await new Promise((r) => setImmediate(r)); // the first batch is out
    const updated = s.update('/p/a', '2', rev0 + 1);
    const again = s.create('/p/a', '3');
    const deleted = s.delete('/p/b');
    assert.equal((await created).modRevision, rev0 + 1);
    assert.equal((await updated).modRevision, rev0 + 2);
    await assert.rejects(again, isCode('AlreadyExists'));
    await assert.rejects(deleted, isCode('NotFound'));
    assert.equal((await s.get('/p/a'))?.value, '2');
    assert.equal(await s.currentRevision(), rev0 + 2);
    await s.close();
  });

  it('fails the batches sent after a failed one and loses no acknowledged write', async () => {
    const path = dbPath();
    const s = new SqliteStore(path, { maxPageCount: 30 });
    const acked = new Map<string, string>();
    const pending: Promise<void>[] = [];
    let failed = false;
    // A stream of writes over many turns keeps two batches out at a time until the disk fills.
    for (let i = 0; !failed && i < 2000; i++) {
      pending.push(
        s.create(`/q/k${i}`, 'x'.repeat(700)).then(
          (kv) => void acked.set(kv.key, kv.value),
          () => void (failed = true),
        ),
      );
      if (i % 3 === 2) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(pending);
    assert.ok(failed, 'the disk filled up');
    const rev = await s.currentRevision();
    assert.equal(rev, acked.size, 'failed batches took no revision');
    await s.close();
    const reopened = new SqliteStore(path);
    assert.equal(await reopened.currentRevision(), rev);
    const onDisk = (await reopened.range('/q/')).kvs;
    assert.deepEqual(new Map(onDisk.map((kv) => [kv.key, kv.value])), acked);
    assert.equal((await reopened.create('/q/after', 'ok')).modRevision, rev + 1, 'revisions continue without a gap');
    await reopened.close();
  });

  it('fails into Unavailable when the file disagrees with memory', async () => {
    const s = new SqliteStore(dbPath());
    await s.create('/r/a', 'A');
    // Make memory forget the key: the worker's check refuses the create of an existing key.
    (s as unknown as { live: { delete(k: string): void } }).live.delete('/r/a');
    const events: Error[] = [];
    await s.watch('/r/', 1, () => {}, (err) => events.push(err));
    await assert.rejects(s.create('/r/a', 'again'), isCode('Unavailable'));
    await assert.rejects(s.create('/r/b', 'B'), isCode('Unavailable'));
    await assert.rejects(s.get('/r/b'), isCode('Unavailable'));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(events.length, 1, 'watches end');
    await s.close();
  });

  it('fails into Unavailable when the worker dies', async () => {
    const s = new SqliteStore(dbPath());
    await s.create('/r/a', 'A');
    await (s as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 10));
    await assert.rejects(s.create('/r/b', 'B'), isCode('Unavailable'));
    await assert.rejects(s.range('/r/', { revision: 1 }), isCode('Unavailable'));
    await s.close();
  });

  it('throws from the constructor when the file cannot be opened', () => {
    assert.throws(() => new SqliteStore(join(dir, 'no', 'such', 'dir', 'x.db')), /cannot open sqlite store/);
  });

  it('reads past revisions and compacts in the worker while writes go on', async () => {
    const s = new SqliteStore(dbPath());
    let kv = await s.create('/r/a', '0');
    for (let i = 1; i <= 50; i++) kv = await s.update('/r/a', String(i), kv.modRevision);
    const writes = Array.from({ length: 30 }, (_, i) => s.create(`/r/w${i}`, 'w'));
    const [old, compaction] = [s.range('/r/', { revision: 10 }), s.compact(40)];
    assert.deepEqual((await old).kvs.map((x) => x.value), ['9']);
    await compaction;
    await Promise.all(writes);
    await assert.rejects(s.range('/r/', { revision: 39 }), isCode('Compacted'));
    assert.deepEqual((await s.range('/r/', { revision: 40, limit: 1 })).kvs.map((x) => x.value), ['39']);
    assert.equal((await s.range('/r/')).kvs.length, 31);
    await s.close();
  });

  it('does not keep the process alive when left open and idle', async () => {
    const url = new URL('../../src/storage/sqlite.js', import.meta.url).href;
    const script = `import { SqliteStore } from ${JSON.stringify(url)};
      const s = new SqliteStore(${JSON.stringify(dbPath())});
      const kv = await s.create('/k', 'v');
      console.log('done ' + kv.modRevision);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise((r) => child.once('exit', (c, sig) => r(c ?? sig)));
    clearTimeout(timer);
    assert.equal(code, 0);
    assert.equal(out.trim(), 'done 1');
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
