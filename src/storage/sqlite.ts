// The embedded store: etcd semantics on one SQLite file, in the manner of k3s' kine.
//
// Every write appends one row to `log`; the row id IS the revision. A row records the key
// (name), whether it created or deleted the key, the key's create revision, the id of the
// key's previous row (prev_revision) and the value (for a deletion: the deleted value).
// The previous value of an event is found through prev_revision rather than stored twice;
// compaction never removes a row that a readable event points back to.
// `live` maps each existing key to its latest row so current reads need not scan history.
//
// Durability: WAL with synchronous=FULL; a write resolves after its transaction committed.
// Throughput: writes issued in the same tick are applied in one transaction (one fsync) on
// the next setImmediate, each with its own revision and outcome (group commit).
// Watches: this process is the only writer (the file is opened in exclusive locking mode),
// so committed events are handed to watchers from the write path.
import Database from 'better-sqlite3';
import {
  StoreError,
  type KeyValue,
  type RangeOptions,
  type RangeResult,
  type Store,
  type WatchEvent,
  type Watcher,
} from './store.js';
import { WatchHub, checkReadable, compacted, prefixEnd } from './local.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id);
CREATE TABLE IF NOT EXISTS live (name TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Rows deleted per compaction transaction, so a big compaction doesn't stall the event loop. */
const COMPACT_CHUNK = 5000;

type WriteOp =
  | { kind: 'create'; key: string; value: string; resolve: (kv: KeyValue) => void; reject: (e: Error) => void }
  | { kind: 'update'; key: string; value: string; expected: number; resolve: (kv: KeyValue) => void; reject: (e: Error) => void }
  | { kind: 'delete'; key: string; expected?: number; resolve: (kv: KeyValue) => void; reject: (e: Error) => void };

interface LiveRow {
  id: number;
  create_revision: number;
  value: string;
}
interface RangeRow extends LiveRow {
  name: string;
}
interface LogRow extends RangeRow {
  created: number;
  deleted: number;
  prev_revision: number;
  prev_value: string | null;
}

export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly hub = new WatchHub();
  private rev: number;
  private compactRev: number;
  private queue: WriteOp[] = [];
  private flushScheduled = false;
  private closed = false;
  private compacting: Promise<void> = Promise.resolve();

  private readonly st: ReturnType<SqliteStore['prepare']>;
  private readonly applyBatch: (ops: WriteOp[], results: (KeyValue | StoreError)[], events: WatchEvent[]) => void;

  /** Opens (creating if needed) the database file; the directory must exist. */
  constructor(readonly path: string) {
    this.db = new Database(path);
    try {
      // Exclusive: a second process on the same file would write behind our watchers' back.
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.exec(SCHEMA);
      this.st = this.prepare();
      const seq = this.db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`).pluck().get() as number | undefined;
      const maxId = this.db.prepare('SELECT MAX(id) FROM log').pluck().get() as number | null;
      this.compactRev = (this.st.getMeta.get('compact_revision') as number | undefined) ?? 0;
      this.rev = Math.max(seq ?? 0, maxId ?? 0, this.compactRev);
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.applyBatch = this.db.transaction((ops, results, events) => {
      for (const op of ops) {
        try {
          results.push(this.apply(op, events));
        } catch (err) {
          if (!(err instanceof StoreError)) throw err; // storage failure: roll back the batch
          results.push(err);
        }
      }
    });
  }

  private prepare() {
    const db = this.db;
    return {
      live: db.prepare(`SELECT l.id, l.create_revision, l.value FROM live c JOIN log l ON l.id = c.id WHERE c.name = ?`),
      insert: db.prepare(
        `INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      setLive: db.prepare(`INSERT INTO live (name, id) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET id = excluded.id`),
      unsetLive: db.prepare(`DELETE FROM live WHERE name = ?`),
      // Current keys in [lo, hi) after `after`, in key order.
      rangeLive: db.prepare(
        `SELECT c.name, l.id, l.create_revision, l.value FROM live c JOIN log l ON l.id = c.id
         WHERE c.name >= ? AND c.name < ? AND c.name > ? ORDER BY c.name LIMIT ?`,
      ),
      // Keys as of a past revision: the newest row per key at or below it, unless a deletion.
      // (SQLite takes the bare columns from the row that holds MAX(id).)
      rangeAt: db.prepare(
        `SELECT name, MAX(id) AS id, deleted, create_revision, value FROM log
         WHERE name >= ? AND name < ? AND name > ? AND id <= ?
         GROUP BY name HAVING deleted = 0 ORDER BY name LIMIT ?`,
      ),
      history: db.prepare(
        `SELECT l.id, l.name, l.created, l.deleted, l.create_revision, l.prev_revision, l.value, p.value AS prev_value
         FROM log l LEFT JOIN log p ON l.created = 0 AND p.id = l.prev_revision
         WHERE l.id > ? AND l.name >= ? AND l.name < ? ORDER BY l.id`,
      ),
      // Superseded rows (a newer row of the same key at or below the compact revision) and
      // deletions at or below it, restricted to an id window.
      compactChunk: db.prepare(
        `DELETE FROM log WHERE id > ? AND id <= ? AND (deleted = 1 OR EXISTS
           (SELECT 1 FROM log n WHERE n.name = log.name AND n.id > log.id AND n.id <= ?))`,
      ),
      minId: db.prepare('SELECT MIN(id) FROM log').pluck(),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: db.prepare(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`),
    };
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    const row = this.st.live.get(key) as LiveRow | undefined;
    return row && { key, value: row.value, createRevision: row.create_revision, modRevision: row.id };
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    this.checkOpen();
    const revision = opts.revision && opts.revision > 0 ? opts.revision : this.rev;
    checkReadable(revision, this.rev, this.compactRev);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const args = [prefix, prefixEnd(prefix), opts.startAfter ?? ''];
    // One extra row tells whether more remain.
    const rows = (
      revision === this.rev
        ? this.st.rangeLive.all(...args, limit < 0 ? -1 : limit + 1)
        : this.st.rangeAt.all(...args, revision, limit < 0 ? -1 : limit + 1)
    ) as RangeRow[];
    const more = limit >= 0 && rows.length > limit;
    if (more) rows.length = limit;
    const kvs = rows.map((r) => ({ key: r.name, value: r.value, createRevision: r.create_revision, modRevision: r.id }));
    return { kvs, more, revision };
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue((resolve, reject) => ({ kind: 'create', key, value, resolve, reject }));
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue((resolve, reject) => ({ kind: 'update', key, value, expected: expectedModRevision, resolve, reject }));
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue((resolve, reject) => ({ kind: 'delete', key, expected: expectedModRevision, resolve, reject }));
  }

  async watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    this.checkOpen();
    if (afterRevision < this.compactRev) throw compacted(afterRevision, this.compactRev);
    // Reading history and subscribing happen in one synchronous step, and commits publish
    // synchronously, so the live stream starts exactly where the history ends.
    const history: WatchEvent[] = [];
    if (afterRevision < this.rev) {
      for (const row of this.st.history.iterate(afterRevision, prefix, prefixEnd(prefix)) as IterableIterator<LogRow>) {
        history.push(rowToEvent(row));
      }
    }
    return this.hub.subscribe(prefix, history, onEvents, onError);
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  /** The revision at or below which history is gone (0: never compacted). */
  compactRevision(): number {
    return this.compactRev;
  }

  compact(revision: number): Promise<void> {
    // Serialized, so concurrent compactions don't interleave their chunks.
    const run = this.compacting.then(() => this.doCompact(revision));
    this.compacting = run.catch(() => {});
    return run;
  }

  private async doCompact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.rev) throw new Error(`cannot compact to future revision ${revision} (current ${this.rev})`);
    if (revision <= this.compactRev) return;
    // Record the compact revision first: from then on reads below it are refused, so a
    // crash halfway through the deletion leaves nothing inconsistent behind.
    this.st.setMeta.run('compact_revision', revision);
    this.compactRev = revision;
    let lo = ((this.st.minId.get() as number | null) ?? revision + 1) - 1;
    while (lo < revision && !this.closed) {
      const hi = Math.min(lo + COMPACT_CHUNK, revision);
      this.st.compactChunk.run(lo, hi, revision);
      lo = hi;
      if (lo < revision) await new Promise((r) => setImmediate(r));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Writes already accepted are still committed.
    if (this.queue.length > 0) this.flush();
    this.closed = true;
    this.hub.failAll(new StoreError('Unavailable', 'store closed'));
    await this.compacting;
    this.db.close();
  }

  private enqueue(make: (resolve: (kv: KeyValue) => void, reject: (e: Error) => void) => WriteOp): Promise<KeyValue> {
    if (this.closed) return Promise.reject(new StoreError('Unavailable', 'store closed'));
    return new Promise((resolve, reject) => {
      this.queue.push(make(resolve, reject));
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  /** Applies every queued write in one transaction, then settles each and notifies watchers. */
  private flush = (): void => {
    this.flushScheduled = false;
    const ops = this.queue;
    if (ops.length === 0 || this.closed) return;
    this.queue = [];
    const results: (KeyValue | StoreError)[] = [];
    const events: WatchEvent[] = [];
    const revBefore = this.rev;
    try {
      this.applyBatch(ops, results, events);
    } catch (err) {
      this.rev = revBefore;
      const failure = new StoreError('Unavailable', `sqlite write failed: ${(err as Error).message}`);
      for (const op of ops) op.reject(failure);
      return;
    }
    for (let i = 0; i < ops.length; i++) {
      const r = results[i];
      if (r instanceof StoreError) ops[i].reject(r);
      else ops[i].resolve(r);
    }
    this.hub.publish(events);
  };

  /** One write inside the batch transaction; StoreError for an unmet precondition (nothing written). */
  private apply(op: WriteOp, events: WatchEvent[]): KeyValue {
    const { key } = op;
    const row = this.st.live.get(key) as LiveRow | undefined;
    const prev: KeyValue | undefined = row && { key, value: row.value, createRevision: row.create_revision, modRevision: row.id };
    const rev = this.rev + 1;
    switch (op.kind) {
      case 'create': {
        if (prev) throw new StoreError('AlreadyExists', `key ${key} already exists`, prev);
        this.st.insert.run(rev, key, 1, 0, rev, 0, op.value);
        this.st.setLive.run(key, rev);
        this.rev = rev;
        const kv = { key, value: op.value, createRevision: rev, modRevision: rev };
        events.push({ type: 'PUT', kv });
        return kv;
      }
      case 'update': {
        if (!prev) throw new StoreError('NotFound', `key ${key} not found`);
        if (prev.modRevision !== op.expected) {
          throw new StoreError('Conflict', `key ${key} has modRevision ${prev.modRevision}, not ${op.expected}`, prev);
        }
        this.st.insert.run(rev, key, 0, 0, prev.createRevision, prev.modRevision, op.value);
        this.st.setLive.run(key, rev);
        this.rev = rev;
        const kv = { key, value: op.value, createRevision: prev.createRevision, modRevision: rev };
        events.push({ type: 'PUT', kv, prevKv: prev });
        return kv;
      }
      case 'delete': {
        if (!prev) throw new StoreError('NotFound', `key ${key} not found`);
        if (op.expected !== undefined && prev.modRevision !== op.expected) {
          throw new StoreError('Conflict', `key ${key} has modRevision ${prev.modRevision}, not ${op.expected}`, prev);
        }
        this.st.insert.run(rev, key, 0, 1, prev.createRevision, prev.modRevision, prev.value);
        this.st.unsetLive.run(key);
        this.rev = rev;
        const kv = { key, value: prev.value, createRevision: prev.createRevision, modRevision: rev };
        events.push({ type: 'DELETE', kv, prevKv: prev });
        return kv;
      }
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Unavailable', 'store closed');
  }
}

function rowToEvent(r: LogRow): WatchEvent {
  const kv: KeyValue = { key: r.name, value: r.value, createRevision: r.create_revision, modRevision: r.id };
  const prevKv: KeyValue | undefined =
    r.prev_value === null ? undefined : { key: r.name, value: r.prev_value, createRevision: r.create_revision, modRevision: r.prev_revision };
  return prevKv ? { type: r.deleted ? 'DELETE' : 'PUT', kv, prevKv } : { type: r.deleted ? 'DELETE' : 'PUT', kv };
}

/** Opens the sqlite store at path (the directory must exist). */
export function openSqliteStore(path: string): SqliteStore {
  return new SqliteStore(path);
}
