// The worker thread that owns the SQLite file of a SqliteStore, so that the fsync of each
// commit (and every other statement) blocks this thread instead of the API server's.
//
// The main thread is authoritative for what gets written: it assigns revisions, checks
// preconditions and sends decided rows. Here they are appended in one transaction per batch
// (WAL, synchronous=FULL: durable when the reply is sent). The live-table updates double as a
// consistency check: a create of an existing key, or an update/delete whose previous row is
// not the key's live row, means memory and file disagree, and the batch fails as `diverged`.
//
// Layout of the file (unchanged from the single-threaded store): every write appends one row
// to `log` whose id IS the revision, recording the key, whether it created or deleted it, the
// create revision, the id of the key's previous row and the value (for a deletion: the deleted
// value). `live` maps each existing key to its latest row. `meta` keeps the compact revision.
import { isMainThread, workerData } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { KeyValue, WatchEvent } from './store.js';
import {
  ROW_CREATE,
  ROW_DELETE,
  type CommitRow,
  type LoadedState,
  type Reply,
  type Request,
  type StartupMessage,
  type WorkerStart,
} from './sqlite-protocol.js';

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

/** Rows deleted per compaction transaction, so commits can run between chunks. */
const COMPACT_CHUNK = 5000;

interface RangeRow {
  name: string;
  id: number;
  create_revision: number;
  value: string;
}
interface LogRow extends RangeRow {
  created: number;
  deleted: number;
  prev_revision: number;
  prev_value: string | null;
}

/** Marks a failed consistency check of a commit (as opposed to a storage failure). */
class DivergedError extends Error {}

function prepare(db: Database.Database) {
  return {
    insert: db.prepare(
      `INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ),
    // A deletion row takes the deleted value from the key's previous row.
    insertDeletion: db.prepare(
      `INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value)
       SELECT ?, name, 0, 1, create_revision, id, value FROM log WHERE id = ? AND name = ?`,
    ),
    addLive: db.prepare(`INSERT INTO live (name, id) VALUES (?, ?)`),
    moveLive: db.prepare(`UPDATE live SET id = ? WHERE name = ? AND id = ?`),
    dropLive: db.prepare(`DELETE FROM live WHERE name = ? AND id = ?`),
    loadLive: db.prepare(`SELECT c.name, l.id, l.create_revision, l.value FROM live c JOIN log l ON l.id = c.id ORDER BY c.name`),
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
       WHERE l.id > ? AND l.id <= ? AND l.name >= ? AND l.name < ? ORDER BY l.id`,
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

function open(
  Driver: typeof Database,
  start: WorkerStart,
): { db: Database.Database; st: ReturnType<typeof prepare>; state: LoadedState } {
  const db = new Driver(start.path);
  try {
    // Exclusive: a second process on the same file would write behind our watchers' back.
    db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    if (start.maxPageCount) db.pragma(`max_page_count = ${Math.floor(start.maxPageCount)}`);
    db.exec(SCHEMA);
    const st = prepare(db);
    const seq = db.prepare(`SELECT seq FROM sqlite_sequence WHERE name = 'log'`).pluck().get() as number | undefined;
    const maxId = db.prepare('SELECT MAX(id) FROM log').pluck().get() as number | null;
    const compactRev = (st.getMeta.get('compact_revision') as number | undefined) ?? 0;
    const state: LoadedState = {
      rev: Math.max(seq ?? 0, maxId ?? 0, compactRev),
      compactRev,
      keys: [],
      values: [],
      createRevisions: [],
      modRevisions: [],
    };
    for (const r of st.loadLive.iterate() as IterableIterator<RangeRow>) {
      state.keys.push(r.name);
      state.values.push(r.value);
      state.createRevisions.push(r.create_revision);
      state.modRevisions.push(r.id);
    }
    return { db, st, state };
  } catch (err) {
    db.close();
    throw err;
  }
}

function rowToEvent(r: LogRow): WatchEvent {
  const kv: KeyValue = { key: r.name, value: r.value, createRevision: r.create_revision, modRevision: r.id };
  const type = r.deleted ? 'DELETE' : 'PUT';
  if (r.prev_value === null) return { type, kv };
  return { type, kv, prevKv: { key: r.name, value: r.prev_value, createRevision: r.create_revision, modRevision: r.prev_revision } };
}

async function serve(start: WorkerStart): Promise<void> {
  const port = start.port;
  let opened: ReturnType<typeof open>;
  try {
    // Loaded here so that a driver that fails to load is reported to the opener, not lost.
    const Driver = (await import('better-sqlite3')).default;
    opened = open(Driver, start);
  } catch (err) {
    announce(start, { type: 'failed', message: (err as Error).message });
    return;
  }
  const { db, st } = opened;
  announce(start, { type: 'ready', state: opened.state });

  const applyRows = db.transaction((rows: CommitRow[]) => {
    for (const r of rows) {
      if (r.kind === ROW_CREATE) {
        st.insert.run(r.revision, r.key, 1, 0, r.revision, 0, r.value!);
        st.addLive.run(r.key, r.revision); // a constraint error if the key exists
      } else if (r.kind === ROW_DELETE) {
        const ins = st.insertDeletion.run(r.revision, r.prevRevision, r.key);
        if (ins.changes !== 1 || st.dropLive.run(r.key, r.prevRevision).changes !== 1) {
          throw new DivergedError(`delete of ${r.key}: live row is not ${r.prevRevision}`);
        }
      } else {
        st.insert.run(r.revision, r.key, 0, 0, r.createRevision, r.prevRevision, r.value!);
        if (st.moveLive.run(r.revision, r.key, r.prevRevision).changes !== 1) {
          throw new DivergedError(`update of ${r.key}: live row is not ${r.prevRevision}`);
        }
      }
    }
  });

  // The last revision in the file. Batches are pipelined: each was decided on top of the one
  // sent before it, so one that does not start right after the file's last revision was
  // decided on a batch that failed, and fails too (an ordinary failure, not a divergence).
  let fileRev = opened.state.rev;

  const commit = (rows: CommitRow[]): void => {
    if (rows.length > 0 && rows[0].revision !== fileRev + 1) {
      throw new Error(`batch at revision ${rows[0].revision} follows one that failed (file at ${fileRev})`);
    }
    try {
      applyRows(rows);
      if (rows.length > 0) fileRev = rows[rows.length - 1].revision;
    } catch (err) {
      // A used revision or an existing key: the main thread's view is not the file's.
      const code = (err as { code?: string }).code;
      if (code?.startsWith('SQLITE_CONSTRAINT')) throw new DivergedError(`${(err as Error).message} (${code})`);
      throw err;
    }
  };

  let closed = false;
  let compaction: Promise<void> = Promise.resolve();

  const compact = async (revision: number): Promise<void> => {
    // Record the compact revision first: the main thread refuses reads below it from now
    // on, so a crash halfway through the deletion leaves nothing inconsistent behind.
    const recorded = (st.getMeta.get('compact_revision') as number | undefined) ?? 0;
    if (revision <= recorded) return;
    st.setMeta.run('compact_revision', revision);
    let lo = ((st.minId.get() as number | null) ?? revision + 1) - 1;
    while (lo < revision && !closed) {
      const hi = Math.min(lo + COMPACT_CHUNK, revision);
      st.compactChunk.run(lo, hi, revision);
      lo = hi;
      // Let commits and reads that arrived meanwhile run between chunks.
      if (lo < revision) await new Promise((r) => setImmediate(r));
    }
  };

  const handle = async (req: Request): Promise<Reply> => {
    switch (req.type) {
      case 'commit': {
        const t = performance.now();
        commit(req.rows);
        return { id: req.id, ok: true, ms: performance.now() - t };
      }
      case 'rangeAt': {
        const rows = st.rangeAt.all(req.prefix, req.end, req.after, req.revision, req.limit) as RangeRow[];
        const kvs = rows.map((r): KeyValue => ({ key: r.name, value: r.value, createRevision: r.create_revision, modRevision: r.id }));
        return { id: req.id, ok: true, kvs };
      }
      case 'history': {
        const events: WatchEvent[] = [];
        for (const r of st.history.iterate(req.afterRevision, req.upTo, req.prefix, req.end) as IterableIterator<LogRow>) {
          events.push(rowToEvent(r));
        }
        return { id: req.id, ok: true, events };
      }
      case 'compact': {
        // One at a time: chunks of two compactions must not interleave.
        const run = compaction.then(() => compact(req.revision));
        compaction = run.catch(() => {});
        await run;
        return { id: req.id, ok: true };
      }
      case 'close':
        closed = true;
        await compaction;
        db.close();
        return { id: req.id, ok: true };
    }
  };

  port.on('message', (req: Request) => {
    if (closed && req.type !== 'close') {
      port.postMessage({ id: req.id, ok: false, message: 'store closed' } satisfies Reply);
      return;
    }
    handle(req).then(
      (reply) => {
        port.postMessage(reply);
        if (req.type === 'close') port.close();
      },
      (err: Error) => port.postMessage({ id: req.id, ok: false, message: err.message, diverged: err instanceof DivergedError } satisfies Reply),
    );
  });
}

/** Puts the startup message on the port, then wakes the opener blocked on `started`. */
function announce(start: WorkerStart, msg: StartupMessage): void {
  start.port.postMessage(msg);
  Atomics.store(start.started, 0, 1);
  Atomics.notify(start.started, 0);
  if (msg.type === 'failed') start.port.close();
}

if (!isMainThread && (workerData as WorkerStart | undefined)?.kind === 'skiff-sqlite') await serve(workerData as WorkerStart);
