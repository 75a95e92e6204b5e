// The embedded store: etcd semantics on one SQLite file, in the manner of k3s' kine.
//
// Two threads. A worker (sqlite-worker.ts) owns the better-sqlite3 connection and runs every
// statement, so the fsync of a commit never blocks this thread, which serves the API.
// This thread is authoritative for what is written and holds the committed state in memory:
// the live keys (key → value, create and mod revision, in key order) and the revision
// counters. Current reads (get, range at the current revision) are served from memory;
// reads at past revisions and watch history are queries in the worker.
//
// Writes: queued writes are decided here (preconditions, revisions) and shipped as one batch
// of rows, which the worker appends in one transaction (WAL, synchronous=FULL) and
// acknowledges. Only then does the batch touch memory, settle its promises and reach
// watchers: nothing is acknowledged before fsync, and a failed batch leaves memory as the
// file is (the transaction rolled back). Writes arriving while a batch is out accumulate into
// the next, so concurrency turns into bigger batches rather than more fsyncs.
//
// Batches are pipelined: up to MAX_IN_FLIGHT are out at once, each decided on the committed
// state plus the batches before it (the `decided` overlay), so the worker starts the next
// transaction the moment one ends instead of idling while this thread, busy serving
// requests, gets round to the acknowledgement. A batch only commits on top of the one before
// it: the worker refuses a batch whose first revision does not follow its file's last, so
// when one fails, those sent after it fail too, and nothing new is sent until all are back
// and the overlay is empty again (decisions then start from committed state).
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

/**
 * Commit timings for latency probes, on only with SKIFF_WRITE_TIMING=1: every 2 s a
 * `sqlite-timing {...}` line on stderr with batches, rows, and the mean/max (ms) of a write's
 * wait in the queue, a batch's round trip to the worker and the worker's transaction time.
 */
const timing = process.env.SKIFF_WRITE_TIMING === '1' ? { batches: 0, rows: 0, queued: [0, 0], trip: [0, 0], txn: [0, 0] } : undefined;
if (timing) {
  const mean = (a: number[]) => `${(a[0] / Math.max(1, timing.batches)).toFixed(2)}/${a[1].toFixed(1)}`;
  setInterval(() => {
    if (timing.batches === 0) return;
    process.stderr.write(
      `sqlite-timing batches=${timing.batches} rows=${timing.rows} queued(mean/max)=${mean(timing.queued)} trip=${mean(timing.trip)} txn=${mean(timing.txn)}\n`,
    );
    Object.assign(timing, { batches: 0, rows: 0, queued: [0, 0], trip: [0, 0], txn: [0, 0] });
  }, 2000).unref();
}
function addTiming(a: number[], ms: number): void {
  a[0] += ms;
  if (ms > a[1]) a[1] = ms;
}

/** Batches out to the worker at once (one committing, the next already waiting there). */
const MAX_IN_FLIGHT = 2;

/** How long the constructor waits for the worker to open and load the file. */
const STARTUP_TIMEOUT_MS = 120_000;

export interface SqliteStoreOptions {
  /** Caps the file at this many pages (SQLite's max_page_count): a quota, or a full disk in tests. */
  maxPageCount?: number;
}

type Settle = { resolve: (kv: KeyValue) => void; reject: (e: Error) => void };
type WriteOp = Settle & { queuedAt?: number } &
  ({ kind: 'create'; key: string; value: string } | { kind: 'update'; key: string; value: string; expected: number } | { kind: 'delete'; key: string; expected?: number });

/** A batch sent to the worker: its writes, their outcomes if it commits, and its events. */
interface Batch {
  ops: WriteOp[];
  /** When the batch went to the worker (timings only). */
  sentAt?: number;
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
  /** Batches sent to the worker and not yet answered, oldest first. */
  private inFlight: Batch[] = [];
  /**
   * What the in-flight batches wrote (kv null: deleted) and at which revision, over `live`:
   * the state new writes are decided on.
   */
  private readonly decided = new Map<string, { kv: KeyValue | null; rev: number }>();
  /** The last revision handed out (this.rev when nothing is in flight). */
  private decidedRev: number;
  /** A batch failed while later ones were out: send nothing until they are all back. */
  private draining = false;
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
    this.decidedRev = s.rev;
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
    if (this.inFlight.length > 0 || this.queue.length > 0) await new Promise<void>((r) => this.drained.push(r));
    if (!this.broken) await this.request({ type: 'close' }, true).catch(() => {});
    await this.compacting;
    this.port.close();
    await this.worker.terminate();
  }

  // ---- writes ----

  private enqueue(make: (s: Settle) => WriteOp): Promise<KeyValue> {
    if (this.closed || this.broken) return Promise.reject(this.broken ?? new StoreError('Unavailable', 'store closed'));
    return new Promise((resolve, reject) => {
      const op = make({ resolve, reject });
      if (timing) op.queuedAt = performance.now();
      this.queue.push(op);
      this.scheduleDispatch();
    });
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled || !this.canSend()) return;
    this.dispatchScheduled = true;
    // In a microtask: writes issued in the same synchronous step share the batch, and a
    // free slot is used at once. (On the next turn, setImmediate, a batch waited for the
    // whole poll phase, which on a busy server is 15 to 20 ms.) While both slots are out,
    // writes accumulate into the next batch, so a busy store still commits in big batches.
    queueMicrotask(this.dispatch);
  }

  private canSend(): boolean {
    return this.inFlight.length < MAX_IN_FLIGHT && !this.draining;
  }

  /**
   * Decides every queued write against the committed state plus the in-flight batches, and
   * sends the rows to the worker.
   */
  private dispatch = (): void => {
    this.dispatchScheduled = false;
    if (!this.canSend()) return;
    const ops = this.queue;
    if (ops.length === 0) return this.notifyDrained();
    this.queue = [];
    // Writes earlier in this batch and in the batches in flight are seen through the overlay.
    const overlay = this.decided;
    const outcomes: (KeyValue | StoreError)[] = [];
    const events: WatchEvent[] = [];
    const rows: CommitRow[] = [];
    let rev = this.decidedRev;
    for (const op of ops) {
      const { key } = op;
      const o = overlay.get(key);
      const prev = o === undefined ? this.live.get(key) : (o.kv ?? undefined);
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
        overlay.set(key, { kv: op.kind === 'delete' ? null : outcome, rev: next });
      }
      outcomes.push(outcome);
    }
    const batch: Batch = { ops, outcomes, events, lastRevision: rev };
    if (rows.length === 0) {
      // Only unmet preconditions: nothing to make durable.
      settle(batch);
      return this.dispatch();
    }
    this.decidedRev = rev;
    this.inFlight.push(batch);
    if (timing) {
      batch.sentAt = performance.now();
      addTiming(timing.queued, batch.sentAt - ops[0].queuedAt!);
      timing.rows += rows.length;
    }
    this.request({ type: 'commit', rows }, true).then(
      (reply) => {
        if (timing) {
          timing.batches++;
          addTiming(timing.trip, performance.now() - batch.sentAt!);
          addTiming(timing.txn, reply.ms ?? 0);
        }
        this.committed(batch);
      },
      (err: Error) => this.commitFailed(batch, err),
    );
  };

  /** The worker made the batch durable: apply it to memory, settle, notify watchers. */
  private committed(batch: Batch): void {
    this.settled(batch);
    for (const e of batch.events) {
      if (e.type === 'PUT') this.live.set(e.kv.key, e.kv);
      else this.live.delete(e.kv.key);
    }
    this.forget(batch);
    this.rev = batch.lastRevision;
    settle(batch);
    this.hub.publish(batch.events);
    for (const p of this.pendingWatches) {
      for (const e of batch.events) if (e.kv.key.startsWith(p.prefix)) p.live.push(e);
    }
    this.next();
  }

  /**
   * The transaction rolled back: memory already matches the file, so only the callers learn.
   * The batches sent after it were decided on top of it and fail in the worker as well.
   */
  private commitFailed(batch: Batch, err: Error): void {
    this.settled(batch);
    this.forget(batch);
    const failure = err instanceof StoreError ? err : new StoreError('Unavailable', `sqlite write failed: ${err.message}`);
    for (const op of batch.ops) op.reject(failure);
    this.draining = this.inFlight.length > 0;
    if (!this.draining) this.decidedRev = this.rev;
    this.next();
  }

  /**
   * Takes the batch off the in-flight list. Replies come in order, but when the worker fails,
   * every outstanding request is rejected at once, in no promised order.
   */
  private settled(batch: Batch): void {
    const i = this.inFlight.indexOf(batch);
    if (i >= 0) this.inFlight.splice(i, 1);
  }

  /** Drops the batch's writes from the overlay, unless a later batch wrote the key since. */
  private forget(batch: Batch): void {
    for (const e of batch.events) {
      const o = this.decided.get(e.kv.key);
      // A later batch's write of the key has a higher revision and stays.
      if (o !== undefined && o.rev <= batch.lastRevision) this.decided.delete(e.kv.key);
    }
    if (this.inFlight.length === 0) this.decided.clear();
  }

  private next(): void {
    if (this.queue.length > 0 && !this.broken) this.scheduleDispatch();
    else this.notifyDrained();
  }

  private notifyDrained(): void {
    if (this.inFlight.length > 0 || this.queue.length > 0) return;
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
    if (this.inFlight.length === 0) this.notifyDrained();
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
