// The store contract, run against every backend: memory, sqlite and a real etcd.
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreError, type Store, type WatchEvent, type Watcher } from '../../src/storage/store.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { SqliteStore } from '../../src/storage/sqlite.js';
import { openEtcdStore } from '../../src/storage/etcd.js';
import { startEtcd, type EtcdHandle } from '../helpers/etcd.js';

interface Backend {
  name: string;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  open(): Promise<Store>;
}

let tmp = '';
let etcd: EtcdHandle | undefined;
let fileSeq = 0;

const backends: Backend[] = [
  { name: 'memory', open: async () => new MemoryStore() },
  {
    name: 'sqlite',
    setup: async () => {
      tmp = mkdtempSync(join(tmpdir(), 'skiff-store-'));
    },
    teardown: async () => rmSync(tmp, { recursive: true, force: true }),
    open: async () => new SqliteStore(join(tmp, `s${++fileSeq}.db`)),
  },
  {
    name: 'etcd',
    setup: async () => {
      etcd = await startEtcd();
    },
    teardown: async () => {
      await etcd?.stop();
      etcd = undefined;
    },
    open: () => openEtcdStore([etcd!.endpoint]),
  },
];

/** Collects watch events; waitFor resolves once at least n arrived. */
async function collect(store: Store, prefix: string, afterRevision: number) {
  const events: WatchEvent[] = [];
  const batches: number[] = [];
  let error: Error | undefined;
  let wake = () => {};
  const watcher: Watcher = await store.watch(
    prefix,
    afterRevision,
    (evs) => {
      events.push(...evs);
      batches.push(evs.length);
      wake();
    },
    (err) => {
      error = err;
      wake();
    },
  );
  const waitFor = async (n: number, ms = 5000): Promise<WatchEvent[]> => {
    const deadline = Date.now() + ms;
    while (events.length < n && !error) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} events, have ${events.length}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    if (error) throw error;
    return events;
  };
  return { events, batches, watcher, waitFor };
}

function isCode(code: StoreError['code']) {
  return (err: unknown) => {
    assert.ok(err instanceof StoreError, `expected StoreError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let prefixSeq = 0;

for (const backend of backends) {
  describe(`store contract: ${backend.name}`, () => {
    let store: Store;
    let p: string; // a key prefix of this test's own, so tests on a shared etcd don't meet

    before(async () => backend.setup?.());
    after(async () => backend.teardown?.());
    beforeEach(async () => {
      store = await backend.open();
      p = `/registry/t${++prefixSeq}-${Date.now()}/`;
    });
    afterEach(async () => store.close());

    it('creates and gets', async () => {
      const r0 = await store.currentRevision();
      const kv = await store.create(p + 'a', '{"a":1}');
      assert.deepEqual(kv, { key: p + 'a', value: '{"a":1}', createRevision: r0 + 1, modRevision: r0 + 1 });
      assert.deepEqual(await store.get(p + 'a'), kv);
      assert.equal(await store.get(p + 'missing'), undefined);
    });

    it('refuses to create an existing key', async () => {
      const kv = await store.create(p + 'a', '1');
      const rev = await store.currentRevision();
      await assert.rejects(store.create(p + 'a', '2'), (err) => {
        isCode('AlreadyExists')(err);
        assert.deepEqual((err as StoreError).current, kv);
        return true;
      });
      assert.equal(await store.currentRevision(), rev, 'a failed write does not take a revision');
      assert.equal((await store.get(p + 'a'))?.value, '1');
    });

    it('updates with compare-and-swap', async () => {
      const v1 = await store.create(p + 'a', '1');
      const v2 = await store.update(p + 'a', '2', v1.modRevision);
      assert.equal(v2.value, '2');
      assert.equal(v2.createRevision, v1.createRevision);
      assert.equal(v2.modRevision, v1.modRevision + 1);
      await assert.rejects(store.update(p + 'a', '3', v1.modRevision), (err) => {
        isCode('Conflict')(err);
        assert.deepEqual((err as StoreError).current, v2);
        return true;
      });
      await assert.rejects(store.update(p + 'missing', '3', v1.modRevision), isCode('NotFound'));
      await assert.rejects(store.update(p + 'missing', '3', 0), isCode('NotFound'));
      assert.deepEqual(await store.get(p + 'a'), v2);
    });

    it('deletes, guarded and unguarded', async () => {
      const a = await store.create(p + 'a', 'A');
      const b = await store.create(p + 'b', 'B');
      await assert.rejects(store.delete(p + 'a', a.modRevision + 100), isCode('Conflict'));
      const da = await store.delete(p + 'a', a.modRevision);
      assert.deepEqual(da, { key: p + 'a', value: 'A', createRevision: a.createRevision, modRevision: b.modRevision + 1 });
      const db = await store.delete(p + 'b');
      assert.equal(db.modRevision, da.modRevision + 1);
      assert.equal(db.value, 'B');
      assert.equal(await store.get(p + 'a'), undefined);
      await assert.rejects(store.delete(p + 'a'), isCode('NotFound'));
      await assert.rejects(store.delete(p + 'a', a.modRevision), isCode('NotFound'));
      // A deleted key can be created again, with a new create revision.
      const again = await store.create(p + 'a', 'A2');
      assert.equal(again.createRevision, db.modRevision + 1);
    });

    it('numbers writes by one across keys', async () => {
      const r0 = await store.currentRevision();
      const a = await store.create(p + 'a', '1');
      const b = await store.create(p + 'b', '1');
      const a2 = await store.update(p + 'a', '2', a.modRevision);
      await store.update(p + 'a', '3', a.modRevision).catch(() => {});
      const bd = await store.delete(p + 'b');
      assert.deepEqual([a, b, a2, bd].map((kv) => kv.modRevision), [r0 + 1, r0 + 2, r0 + 3, r0 + 4]);
      assert.equal(await store.currentRevision(), r0 + 4);
    });

    it('ranges with prefix, limit, continue and past revisions', async () => {
      for (const k of ['c', 'a', 'e', 'b', 'd']) await store.create(p + k, k);
      await store.create(p.slice(0, -1) + 'x/other', 'not mine'); // shares all but the trailing slash
      const all = await store.range(p);
      assert.deepEqual(all.kvs.map((kv) => kv.key), ['a', 'b', 'c', 'd', 'e'].map((k) => p + k));
      assert.equal(all.more, false);
      assert.equal(all.revision, await store.currentRevision());

      const page1 = await store.range(p, { limit: 2 });
      assert.deepEqual(page1.kvs.map((kv) => kv.value), ['a', 'b']);
      assert.equal(page1.more, true);
      const page2 = await store.range(p, { limit: 2, startAfter: p + 'b', revision: page1.revision });
      assert.deepEqual(page2.kvs.map((kv) => kv.value), ['c', 'd']);
      assert.equal(page2.more, true);
      const page3 = await store.range(p, { limit: 2, startAfter: p + 'd', revision: page1.revision });
      assert.deepEqual(page3.kvs.map((kv) => kv.value), ['e']);
      assert.equal(page3.more, false);
      const exact = await store.range(p, { limit: 5 });
      assert.equal(exact.more, false);

      // Change things, then read as of before the changes.
      const old = page1.revision;
      const a = (await store.get(p + 'a'))!;
      await store.update(p + 'a', 'a2', a.modRevision);
      const bGone = await store.delete(p + 'b');
      await store.create(p + 'f', 'f');
      await store.create(p + 'b', 'b2');
      const between = await store.range(p, { revision: bGone.modRevision });
      assert.deepEqual(between.kvs.map((kv) => kv.value), ['a2', 'c', 'd', 'e']);
      const now = await store.range(p);
      assert.deepEqual(now.kvs.map((kv) => kv.value), ['a2', 'b2', 'c', 'd', 'e', 'f']);
      const then = await store.range(p, { revision: old });
      assert.equal(then.revision, old);
      assert.deepEqual(then.kvs.map((kv) => kv.value), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(then.kvs[0], a);
      const thenPage = await store.range(p, { revision: old, limit: 2, startAfter: p + 'a' });
      assert.deepEqual(thenPage.kvs.map((kv) => kv.value), ['b', 'c']);
      assert.equal(thenPage.more, true);
    });

    it('watches from a revision: history, then live events, in order', async () => {
      const r0 = await store.currentRevision();
      const a1 = await store.create(p + 'a', '1');
      const a2 = await store.update(p + 'a', '2', a1.modRevision);
      await store.create('/elsewhere/' + p, 'x');
      const w = await collect(store, p, r0);
      const history = await w.waitFor(2);
      assert.deepEqual(history[0], { type: 'PUT', kv: a1 });
      assert.deepEqual(history[1], { type: 'PUT', kv: a2, prevKv: a1 });

      const b = await store.create(p + 'b', 'B');
      const del = await store.delete(p + 'a');
      const events = await w.waitFor(4);
      assert.deepEqual(events[2], { type: 'PUT', kv: b });
      assert.deepEqual(events[3], { type: 'DELETE', kv: del, prevKv: a2 });
      assert.equal(del.modRevision, b.modRevision + 1);
      const revs = events.map((e) => e.kv.modRevision);
      assert.deepEqual(revs, [...revs].sort((x, y) => x - y));
      w.watcher.cancel();
      await store.create(p + 'c', 'C');
      await sleep(50);
      assert.equal(w.events.length, 4, 'no events after cancel');
    });

    it('watches from the current revision without gaps or duplicates under load', async () => {
      await store.create(p + 'seed', '0');
      const r0 = await store.currentRevision();
      const writes = Array.from({ length: 50 }, (_, i) => store.create(p + 'k' + i, String(i)));
      // Start watching while the writes are still queued.
      const w = await collect(store, p, r0);
      await Promise.all(writes);
      const events = await w.waitFor(50);
      await sleep(30);
      assert.equal(w.events.length, 50);
      assert.deepEqual(
        events.map((e) => e.kv.modRevision),
        Array.from({ length: 50 }, (_, i) => r0 + 1 + i),
      );
      w.watcher.cancel();
    });

    it('watch of a prefix sees only that prefix', async () => {
      const r0 = await store.currentRevision();
      const w = await collect(store, p + 'pods/', r0);
      await store.create(p + 'pods2/x', 'no');
      await store.create(p + 'pod', 'no');
      await store.create(p + 'services/x', 'no');
      const mine = await store.create(p + 'pods/x', 'yes');
      const events = await w.waitFor(1);
      await sleep(30);
      assert.deepEqual(w.events, [{ type: 'PUT', kv: mine }]);
      assert.equal(events.length, 1);
      w.watcher.cancel();
    });

    it('compacts: older watches and reads fail with Compacted', async () => {
      const r0 = await store.currentRevision();
      const a = await store.create(p + 'a', '1');
      const b = await store.create(p + 'b', '1');
      const a2 = await store.update(p + 'a', '2', a.modRevision);
      await store.delete(p + 'b');
      const c = await store.create(p + 'c', '1');
      const at = a2.modRevision + 1; // the deletion of b
      await store.compact(at);
      await store.compact(at - 1); // compacting below the compact revision is a no-op

      await assert.rejects(store.watch(p, r0, () => {}), (err) => {
        isCode('Compacted')(err);
        assert.equal((err as StoreError).compactRevision, at);
        return true;
      });
      await assert.rejects(store.range(p, { revision: b.modRevision }), (err) => {
        isCode('Compacted')(err);
        assert.equal((err as StoreError).compactRevision, at);
        return true;
      });
      // At the compact revision itself, state is still readable.
      const atCompact = await store.range(p, { revision: at });
      assert.deepEqual(atCompact.kvs, [a2]);
      const now = await store.range(p);
      assert.deepEqual(now.kvs, [a2, c]);
      // Watching from the compact revision works and sees what came after.
      const w = await collect(store, p, at);
      const events = await w.waitFor(1);
      assert.deepEqual(events, [{ type: 'PUT', kv: c }]);
      const a3 = await store.update(p + 'a', '3', a2.modRevision);
      const live = await w.waitFor(2);
      assert.deepEqual(live[1], { type: 'PUT', kv: a3, prevKv: a2 });
      w.watcher.cancel();
    });

    it('gives parallel writes distinct consecutive revisions', async () => {
      const r0 = await store.currentRevision();
      const n = 200;
      const results = await Promise.allSettled([
        ...Array.from({ length: n }, (_, i) => store.create(p + 'k' + String(i).padStart(3, '0'), String(i))),
        store.create(p + 'k000', 'duplicate'),
      ]);
      const ok = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
      assert.equal(ok.length, n);
      assert.equal(failed.length, 1);
      isCode('AlreadyExists')(failed[0]);
      const revs = ok.map((kv) => kv.modRevision).sort((x, y) => x - y);
      assert.deepEqual(revs, Array.from({ length: n }, (_, i) => r0 + 1 + i));
      assert.equal(await store.currentRevision(), r0 + n);
      const listed = await store.range(p);
      assert.equal(listed.kvs.length, n);
      // Whichever of the two creates of k000 came first won (etcd doesn't order parallel RPCs).
      const k000 = ok.find((kv) => kv.key === p + 'k000');
      assert.deepEqual(await store.get(p + 'k000'), k000);
    });
  });
}
