// The embedded store: etcd semantics on one SQLite file, in the manner of k3s' kine.
//
// Two threads. A worker (sqlite-worker.ts) owns the better-sqlite3 connection and runs every
// statement, so the fsync of a commit never blocks this thread, which serves the API.
// This thread is authoritative for what is written and holds the committed state in memory:
// the live keys (key → value, create and mod revision, in key order) and the revision
// counters. Current reads (get, range at the current revision) are served from memory;
// reads at past revisions and watch history are queries in the worker.
//
// Writes: queued writes are decided here against the committed state (preconditions,
// revisions) and shipped as one batch of rows, which the worker appends in one transaction
// (WAL, synchronous=FULL) and acknowledges. Only then does the batch touch memory, settle its
// promises and reach watchers: nothing is acknowledged before fsync, and a failed batch
// leaves memory as the file is (the transaction rolled back). One batch is in flight at a
// time; writes arriving meanwhile accumulate into the next, so concurrency turns into bigger
// batches rather than more fsyncs, and each batch is decided on fully committed state.
//
// Startup: the constructor starts the worker and blocks until it has loaded the file, so a
// store is usable (or has thrown) on return, as with the synchronous driver.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import sortedBtree from 'sorted-btree';
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
import {
  ROW_CREATE,
  ROW_DELETE,
  ROW_UPDATE,
  type CommitRow,
  type Reply,
  type Request,
  type StartupMessage,
  type WorkerStart,
} from './sqlite-protocol.js';

const BTree = sortedBtree.default;
type KeyIndex = InstanceType<typeof BTree<string, KeyValue>>;

/** How long the constructor waits for the worker to open and load the file. */
const STARTUP_TIMEOUT_MS = 120_000;

export interface SqliteStoreOptions {
  /** Caps the file at this many pages (SQLite's max_page_count): a quota, or a full disk in tests. */
  maxPageCount?: number;
}

type Settle = { resolve: (kv: KeyValue) => void; reject: (e: Error) => void };
type WriteOp = Settle &
  ({ kind: 'create'; key: string; value: string } | { kind: 'update'; key: string; value: string; expected: number } | { kind: 'delete'; key: string; expected?: number });

/** A batch sent to the worker: its writes, their outcomes if it commits, and its events. */
interface Batch {
  ops: WriteOp[];
  outcomes: (KeyValue | StoreError)[];
  events: WatchEvent[];
  lastRevision: number;
}

/** A watch whose history is being read in the worker; collects live events meanwhile. */
interface PendingWatch {
  prefix: string;
  live: WatchEvent[];
  fail: (err: Error) => void;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type RequestBody = DistributiveOmit<Request, 'id'>;

export class SqliteStore implements Store {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly hub = new WatchHub();
  /** Committed live keys, in key order. */
  private readonly live: KeyIndex = new BTree<string, KeyValue>(undefined, (a, b) => (a < b ? -1 : a > b ? 1 : 0));
  /** Committed revision: the last acknowledged write. */
  private rev: number;
  private compactRev: number;

  private queue: WriteOp[] = [];
  private inFlight: Batch | undefined;
  private dispatchScheduled = false;
  private drained: (() => void)[] = [];

  private nextId = 1;
  private readonly requests = new Map<number, { resolve: (r: Reply & { ok: true }) => void; reject: (e: Error) => void }>();
  private readonly pendingWatches = new Set<PendingWatch>();
  private compacting: Promise<void> = Promise.resolve();
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set when the worker died or the file no longer matches memory: everything fails with it. */
  private broken: StoreError | undefined;

  /** Opens (creating if needed) the database file; the directory must exist. */
  constructor(
    readonly path: string,
    opts: SqliteStoreOptions = {},
  ) {
    const { port1, port2 } = new MessageChannel();
    const started = new Int32Array(new SharedArrayBuffer(4));
    const start: WorkerStart = { kind: 'skiff-sqlite', path, maxPageCount: opts.maxPageCount, port: port2, started };
    this.worker = new Worker(new URL('./sqlite-worker.js', import.meta.url), {
      workerData: start,
      transferList: [port2],
      execArgv: workerExecArgv(),
    });
    this.port = port1;
    // Block until the worker has the file open and its state loaded (or failed).
    const waited = Atomics.wait(started, 0, 0, STARTUP_TIMEOUT_MS);
    const msg = receiveMessageOnPort(port1)?.message as StartupMessage | undefined;
    if (!msg || msg.type === 'failed') {
      void this.worker.terminate();
      port1.close();
      throw new Error(`cannot open sqlite store ${path}: ${msg ? msg.message : `worker did not start (${waited})`}`);
    }
    const s = msg.state;
    this.rev = s.rev;
    this.compactRev = s.compactRev;
    for (let i = 0; i < s.keys.length; i++) {
      const key = s.keys[i];
      this.live.set(key, { key, value: s.values[i], createRevision: s.createRevisions[i], modRevision: s.modRevisions[i] });
    }
    port1.on('message', this.onReply);
    this.worker.on('error', (err) => this.fail(`sqlite worker failed: ${err.message}`));
    this.worker.on('exit', (code) => {
      if (!this.closed || this.requests.size > 0) this.fail(`sqlite worker exited (${code})`);
    });
    // An idle store does not keep the process alive; outstanding requests do (see request()).
    this.port.unref();
    this.worker.unref();
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.live.get(key);
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    this.checkOpen();
    const revision = opts.revision && opts.revision > 0 ? opts.revision : this.rev;
    checkReadable(revision, this.rev, this.compactRev);
    const limit = opts.limit && opts.limit > 0 ? opts.limit : -1;
    const after = opts.startAfter ?? '';
    if (revision === this.rev) return { ...this.rangeLive(prefix, after, limit), revision };
    // One extra row tells whether more remain.
    const reply = await this.request({
      type: 'rangeAt',
      prefix,
      end: prefixEnd(prefix),
      after,
      revision,
      limit: limit < 0 ? -1 : limit + 1,
    });
    const kvs = reply.kvs!;
    const more = limit >= 0 && kvs.length > limit;
    if (more) kvs.length = limit;
    return { kvs, more, revision };
  }

  /** Keys under prefix greater than after, from memory. */
  private rangeLive(prefix: string, after: string, limit: number): { kvs: KeyValue[]; more: boolean } {
    const kvs: KeyValue[] = [];
    // The smallest key that is both >= prefix and > after.
    const low = after >= prefix ? after + '\0' : prefix;
    let more = false;
    for (const [key, kv] of this.live.entries(low)) {
      if (!key.startsWith(prefix)) break;
      if (kvs.length === limit) {
        more = true;
        break;
      }
      kvs.push(kv);
    }
    return { kvs, more };
  }

  create(key: string, value: string): Promise<KeyValue> {
    return this.enqueue((s) => ({ ...s, kind: 'create', key, value }));
  }

  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    return this.enqueue((s) => ({ ...s, kind: 'update', key, value, expected: expectedModRevision }));
  }

  delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    return this.enqueue((s) => ({ ...s, kind: 'delete', key, expected: expectedModRevision }));
  }

  async watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    this.checkOpen();
    if (afterRevision < this.compactRev) throw compacted(afterRevision, this.compactRev);
    if (afterRevision >= this.rev) return this.hub.subscribe(prefix, [], onEvents, onError);
    // History up to the committed revision comes from the file; commits acknowledged while it
    // is read are collected here and follow it, so nothing is missed or delivered twice.
    const upTo = this.rev;
    let rejectPending: (err: Error) => void = () => {};
    const pending: PendingWatch = { prefix, live: [], fail: (err) => rejectPending(err) };
    this.pendingWatches.add(pending);
    try {
      const reply = await new Promise<Reply & { ok: true }>((resolve, reject) => {
        rejectPending = reject;
        this.request({ type: 'history', prefix, end: prefixEnd(prefix), afterRevision, upTo }).then(resolve, reject);
      });
      this.checkOpen();
      return this.hub.subscribe(prefix, reply.events!.concat(pending.live), onEvents, onError);
    } finally {
      this.pendingWatches.delete(pending);
    }
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
    // Serialized, so the check below sees the previous compaction's revision.
    const run = this.compacting.then(() => this.doCompact(revision));
    this.compacting = run.catch(() => {});
    return run;
  }

  private async doCompact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.rev) throw new Error(`cannot compact to future revision ${revision} (current ${this.rev})`);
    if (revision <= this.compactRev) return;
    // Refuse reads below the revision from now on: the worker answers requests in order, so
    // every read it gets after this message is at or above it and untouched by the deletion.
    this.compactRev = revision;
    await this.request({ type: 'compact', revision });
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    // Writes already accepted are still committed; new ones are refused.
    this.closed = true;
    const err = new StoreError('Unavailable', 'store closed');
    this.hub.failAll(err);
    for (const p of this.pendingWatches) p.fail(err);
    if (this.inFlight || this.queue.length > 0) await new Promise<void>((r) => this.drained.push(r));
    if (!this.broken) await this.request({ type: 'close' }, true).catch(() => {});
    await this.compacting;
    this.port.close();
    await this.worker.terminate();
  }

  // ---- writes ----

  private enqueue(make: (s: Settle) => WriteOp): Promise<KeyValue> {
    if (this.closed || this.broken) return Promise.reject(this.broken ?? new StoreError('Unavailable', 'store closed'));
    return new Promise((resolve, reject) => {
      this.queue.push(make({ resolve, reject }));
      this.scheduleDispatch();
    });
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || this.inFlight) return;
    this.dispatchScheduled = true;
    // On the next turn, so writes issued in this one (and by promise callbacks of the last
    // acknowledgement) share the batch.
    setImmediate(this.dispatch);
  }

  /** Decides every queued write against the committed state and sends the rows to the worker. */
  private dispatch = (): void => {
    this.dispatchScheduled = false;
    if (this.inFlight) return;
    const ops = this.queue;
    if (ops.length === 0) return this.notifyDrained();
    this.queue = [];
    // Writes earlier in the batch are seen by later ones through the overlay.
    const overlay = new Map<string, KeyValue | null>();
    const outcomes: (KeyValue | StoreError)[] = [];
    const events: WatchEvent[] = [];
    const rows: CommitRow[] = [];
    let rev = this.rev;
    for (const op of ops) {
      const { key } = op;
      const o = overlay.get(key);
      const prev = o === undefined ? this.live.get(key) : (o ?? undefined);
      const next = rev + 1;
      let outcome: KeyValue | StoreError;
      if (op.kind === 'create') {
        if (prev) outcome = new StoreError('AlreadyExists', `key ${key} already exists`, prev);
        else {
          outcome = { key, value: op.value, createRevision: next, modRevision: next };
          rows.push({ kind: ROW_CREATE, revision: next, key, createRevision: next, prevRevision: 0, value: op.value });
          events.push({ type: 'PUT', kv: outcome });
        }
      } else if (!prev) {
        outcome = new StoreError('NotFound', `key ${key} not found`);
      } else if (op.expected !== undefined && prev.modRevision !== op.expected) {
        outcome = new StoreError('Conflict', `key ${key} has modRevision ${prev.modRevision}, not ${op.expected}`, prev);
      } else if (op.kind === 'update') {
        outcome = { key, value: op.value, createRevision: prev.createRevision, modRevision: next };
        rows.push({ kind: ROW_UPDATE, revision: next, key, createRevision: prev.createRevision, prevRevision: prev.modRevision, value: op.value });
        events.push({ type: 'PUT', kv: outcome, prevKv: prev });
      } else {
        outcome = { key, value: prev.value, createRevision: prev.createRevision, modRevision: next };
        rows.push({ kind: ROW_DELETE, revision: next, key, createRevision: prev.createRevision, prevRevision: prev.modRevision });
        events.push({ type: 'DELETE', kv: outcome, prevKv: prev });
      }
      if (!(outcome instanceof StoreError)) {
        rev = next;
        overlay.set(key, op.kind === 'delete' ? null : outcome);
      }
      outcomes.push(outcome);
    }
    const batch: Batch = { ops, outcomes, events, lastRevision: rev };
    if (rows.length === 0) {
      // Only unmet preconditions: nothing to make durable.
      settle(batch);
      return this.dispatch();
    }
    this.inFlight = batch;
    this.request({ type: 'commit', rows }, true).then(
      () => this.committed(batch),
      (err: Error) => this.commitFailed(batch, err),
    );
  };

  /** The worker made the batch durable: apply it to memory, settle, notify watchers. */
  private committed(batch: Batch): void {
    for (const e of batch.events) {
      if (e.type === 'PUT') this.live.set(e.kv.key, e.kv);
      else this.live.delete(e.kv.key);
    }
    this.rev = batch.lastRevision;
    this.inFlight = undefined;
    settle(batch);
    this.hub.publish(batch.events);
    for (const p of this.pendingWatches) {
      for (const e of batch.events) if (e.kv.key.startsWith(p.prefix)) p.live.push(e);
    }
    this.next();
  }

  /** The transaction rolled back: memory already matches the file, so only the callers learn. */
  private commitFailed(batch: Batch, err: Error): void {
    this.inFlight = undefined;
    const failure = err instanceof StoreError ? err : new StoreError('Unavailable', `sqlite write failed: ${err.message}`);
    for (const op of batch.ops) op.reject(failure);
    this.next();
  }

  private next(): void {
    if (this.queue.length > 0 && !this.broken) this.scheduleDispatch();
    else this.notifyDrained();
  }

  private notifyDrained(): void {
    if (this.inFlight || this.queue.length > 0) return;
    for (const r of this.drained.splice(0)) r();
  }

  // ---- the worker ----

  /** Sends a request; `force` lets the close path and accepted writes through after close(). */
  private request(body: RequestBody, force = false): Promise<Reply & { ok: true }> {
    if (this.broken) return Promise.reject(this.broken);
    if (this.closed && !force) return Promise.reject(new StoreError('Unavailable', 'store closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (this.requests.size === 0) this.port.ref();
      this.requests.set(id, { resolve, reject });
      this.port.postMessage({ ...body, id } as Request);
    });
  }

  private onReply = (reply: Reply): void => {
    const r = this.requests.get(reply.id);
    if (!r) return;
    this.requests.delete(reply.id);
    if (this.requests.size === 0) this.port.unref();
    if (reply.ok) return r.resolve(reply);
    if (reply.diverged) {
      // The file does not hold what memory says: no later decision can be trusted.
      this.fail(`sqlite store out of step with its file: ${reply.message}`);
      return r.reject(this.broken!);
    }
    r.reject(new Error(reply.message));
  };

  /** Puts the store into a permanent Unavailable state and fails everything outstanding. */
  private fail(message: string): void {
    if (this.broken) return;
    const err = new StoreError('Unavailable', message);
    this.broken = err;
    for (const r of this.requests.values()) r.reject(err);
    this.requests.clear();
    this.port.unref();
    for (const op of this.queue.splice(0)) op.reject(err);
    this.hub.failAll(err);
    for (const p of this.pendingWatches) p.fail(err);
    if (!this.inFlight) this.notifyDrained();
    // An in-flight batch is rejected through its request, which then drains.
  }

  private checkOpen(): void {
    if (this.broken) throw this.broken;
    if (this.closed) throw new StoreError('Unavailable', 'store closed');
  }
}

function settle(batch: Batch): void {
  for (let i = 0; i < batch.ops.length; i++) {
    const r = batch.outcomes[i];
    if (r instanceof StoreError) batch.ops[i].reject(r);
    else batch.ops[i].resolve(r);
  }
}

/**
 * The process's node flags minus those about the main script (`-e`, `--input-type`), which a
 * worker started from a file refuses.
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') i++;
    else if (!a.startsWith('--input-type') && !a.startsWith('--eval=') && !a.startsWith('--print=')) out.push(a);
  }
  return out;
}

/** Opens the sqlite store at path (the directory must exist). */
export function openSqliteStore(path: string, opts?: SqliteStoreOptions): SqliteStore {
  return new SqliteStore(path, opts);
}
