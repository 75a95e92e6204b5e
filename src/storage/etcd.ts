// The store on a real etcd v3 cluster, through the etcd3 client's raw KV and Watch RPCs.
// Keys are stored exactly as given (the API server passes '/registry/...').
//
// Writes are single transactions guarded on create/mod revision, so etcd does the
// compare-and-swap; the failure branch reads the key back for the NotFound/Conflict error.
// Watches use one gRPC watch stream each (multiplexed on the client's HTTP/2 connection),
// so compaction and cancellation responses, which etcd3's Watcher hides, are visible.
import { Etcd3, type IKeyValue, type IRequestOp, type IResponseHeader, type IWatchResponse } from 'etcd3';
import {
  StoreError,
  type KeyValue,
  type RangeOptions,
  type RangeResult,
  type Store,
  type WatchEvent,
  type Watcher,
} from './store.js';

const COMPACTED_MESSAGE = 'required revision has been compacted';
const FUTURE_MESSAGE = 'required revision is a future revision';
/** How long a broken watch stream keeps trying to resume before reporting Unavailable. */
const WATCH_RESUME_GIVE_UP_MS = 30_000;

type Duplex = Awaited<ReturnType<Etcd3['watchClient']['watch']>>;

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  private readonly watchers = new Set<EtcdWatch>();
  private closed = false;

  /** hosts: URLs such as 'http://127.0.0.1:2379'. */
  constructor(readonly hosts: string[]) {
    this.client = new Etcd3({ hosts, dialTimeout: 5000 });
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from(key) }));
    return res.kvs.length > 0 ? toKeyValue(res.kvs[0]) : undefined;
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    const from = opts.startAfter !== undefined && opts.startAfter >= prefix ? opts.startAfter + '\0' : prefix;
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const revision = opts.revision && opts.revision > 0 ? opts.revision : 0;
    const res = await this.call(() =>
      this.client.kv.range({ key: Buffer.from(from), range_end: etcdRangeEnd(prefix), limit, revision }),
    );
    // The header carries the current revision even when reading a past one.
    return { kvs: res.kvs.map(toKeyValue), more: res.more, revision: revision || headerRevision(res.header) };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const k = Buffer.from(key);
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value) } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) {
      const current = firstKv(res.responses[0]?.response_range?.kvs);
      throw new StoreError('AlreadyExists', `key ${key} already exists`, current);
    }
    const rev = headerRevision(res.header);
    return { key, value, createRevision: rev, modRevision: rev };
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    const k = Buffer.from(key);
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: guard(k, expectedModRevision),
        success: [{ request_put: { key: k, value: Buffer.from(value), prev_kv: true } }],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) throw mismatch(key, expectedModRevision, res.responses[0]?.response_range?.kvs);
    const prev = res.responses[0].response_put.prev_kv;
    const rev = headerRevision(res.header);
    return { key, value, createRevision: Number(prev.create_revision), modRevision: rev };
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    const k = Buffer.from(key);
    const del: IRequestOp = { request_delete_range: { key: k, prev_kv: true } };
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: expectedModRevision === undefined ? [] : guard(k, expectedModRevision),
        success: [del],
        failure: [{ request_range: { key: k } }],
      }),
    );
    if (!res.succeeded) throw mismatch(key, expectedModRevision!, res.responses[0]?.response_range?.kvs);
    const prev = firstKv(res.responses[0].response_delete_range.prev_kvs);
    if (!prev) throw new StoreError('NotFound', `key ${key} not found`);
    return { ...prev, modRevision: headerRevision(res.header) };
  }

  async watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    this.checkOpen();
    // etcd reports a compacted start only after the watch was created, asynchronously; a
    // range at the start revision answers the question up front.
    await this.checkNotCompacted(afterRevision + 1);
    const w = new EtcdWatch(this, prefix, afterRevision, onEvents, onError);
    this.watchers.add(w);
    try {
      await w.start();
    } catch (err) {
      this.watchers.delete(w);
      throw err;
    }
    return w;
  }

  async currentRevision(): Promise<number> {
    const res = await this.call(() => this.client.kv.range({ key: Buffer.from([0]), limit: 1, count_only: true }));
    return headerRevision(res.header);
  }

  async compact(revision: number): Promise<void> {
    try {
      await this.call(() => this.client.kv.compact({ revision }));
    } catch (err) {
      // Already compacted at or beyond it: nothing to do (as the other backends).
      if (err instanceof StoreError && err.code === 'Compacted') return;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w.fail(new StoreError('Unavailable', 'store closed'));
    this.client.close();
  }

  /** Opens a bare watch stream (used by EtcdWatch). */
  openStream(): Promise<Duplex> {
    this.checkOpen();
    return this.client.watchClient.watch();
  }

  forget(w: EtcdWatch): void {
    this.watchers.delete(w);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private async checkNotCompacted(revision: number): Promise<void> {
    try {
      await this.call(() => this.client.kv.range({ key: Buffer.from([0]), revision, limit: 1, count_only: true }));
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Compacted') throw err;
      // A future revision (watching from the current one) is fine.
      if (err instanceof Error && err.message.includes(FUTURE_MESSAGE)) return;
      throw err;
    }
  }

  /**
   * The cluster's compact revision. etcd only discloses it on a watch that starts below
   * it, so open one from revision 1 and read the cancellation.
   */
  async compactRevision(): Promise<number> {
    const stream = await this.openStream();
    try {
      return await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => resolve(0), 2000);
        stream.on('data', (res: IWatchResponse) => {
          if (res.compact_revision && res.compact_revision !== '0') {
            clearTimeout(timer);
            resolve(Number(res.compact_revision));
          }
        });
        stream.on('error', (err: Error) => {
          clearTimeout(timer);
          reject(err);
        });
        stream.write({ create_request: { key: Buffer.from([0]), start_revision: 1 } });
      });
    } finally {
      stream.cancel();
    }
  }

  /** Runs an RPC, translating etcd's errors into StoreErrors where they mean one. */
  private async call<T>(rpc: () => Promise<T>): Promise<T> {
    this.checkOpen();
    try {
      return await rpc();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (msg.includes(COMPACTED_MESSAGE)) {
        const compactRev = await this.compactRevision().catch(() => 0);
        throw new StoreError('Compacted', `etcd: ${COMPACTED_MESSAGE} (compact revision ${compactRev})`, undefined, compactRev);
      }
      if (/unavailable|connect|deadline|no connection|ECONNREFUSED/i.test(msg)) throw new StoreError('Unavailable', `etcd: ${msg}`);
      throw err;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Unavailable', 'store closed');
  }
}

/** One Store watch on its own etcd watch stream; resumes after stream failures. */
class EtcdWatch implements Watcher {
  private stream?: Duplex;
  private cancelled = false;
  private brokenSince = 0;

  constructor(
    private readonly store: EtcdStore,
    private readonly prefix: string,
    /** The last revision delivered (or known to have nothing for us). */
    private lastRevision: number,
    private readonly onEvents: (events: WatchEvent[]) => void,
    private readonly onError?: (err: Error) => void,
  ) {}

  /** Opens the stream and resolves once etcd confirmed the watch. */
  async start(): Promise<void> {
    const stream = await this.store.openStream();
    if (this.cancelled) {
      stream.cancel();
      return;
    }
    this.stream = stream;
    await new Promise<void>((resolve, reject) => {
      let created = false;
      stream.on('data', (res: IWatchResponse) => {
        if (stream !== this.stream) return;
        if (res.created && !created) {
          created = true;
          this.brokenSince = 0;
          if (res.canceled) reject(new StoreError('Unavailable', `etcd refused the watch: ${res.cancel_reason}`));
          else resolve();
          return;
        }
        this.handle(res);
      });
      const broken = (err?: Error) => {
        if (stream !== this.stream || this.cancelled) return;
        this.stream = undefined;
        stream.cancel();
        if (!created) reject(err ?? new StoreError('Unavailable', 'etcd watch stream ended'));
        else this.resume(err);
      };
      stream.on('error', (err: Error) => broken(err));
      stream.on('end', () => broken());
      stream.write({
        create_request: {
          key: Buffer.from(this.prefix),
          range_end: etcdRangeEnd(this.prefix),
          start_revision: this.lastRevision + 1,
          prev_kv: true,
          progress_notify: true,
        },
      });
    });
  }

  private handle(res: IWatchResponse): void {
    if (res.canceled) {
      const compactRev = Number(res.compact_revision || 0);
      this.fail(
        compactRev > 0
          ? new StoreError('Compacted', `etcd: watch position ${this.lastRevision} compacted (compact revision ${compactRev})`, undefined, compactRev)
          : new StoreError('Unavailable', `etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`),
      );
      return;
    }
    if (res.events.length === 0) {
      // Progress notification: nothing for us up to the header revision.
      const rev = headerRevision(res.header);
      if (rev > this.lastRevision) this.lastRevision = rev;
      return;
    }
    const events: WatchEvent[] = res.events.map((e) => {
      const kv = toKeyValue(e.kv);
      const prevKv = e.prev_kv ? toKeyValue(e.prev_kv) : undefined;
      if (e.type === 'Delete') {
        // etcd's delete event carries no value; the store contract wants the last one.
        const del: KeyValue = prevKv
          ? { key: kv.key, value: prevKv.value, createRevision: prevKv.createRevision, modRevision: kv.modRevision }
          : kv;
        return prevKv ? { type: 'DELETE', kv: del, prevKv } : { type: 'DELETE', kv: del };
      }
      return prevKv ? { type: 'PUT', kv, prevKv } : { type: 'PUT', kv };
    });
    this.lastRevision = events[events.length - 1].kv.modRevision;
    try {
      this.onEvents(events);
    } catch (err) {
      if (this.onError) this.onError(err as Error);
      else console.error('watch consumer threw:', err);
    }
  }

  /** Re-establishes the watch from the last delivered revision, with backoff. */
  private resume(cause?: Error): void {
    if (this.cancelled || this.store.isClosed) return;
    const now = Date.now();
    if (this.brokenSince === 0) this.brokenSince = now;
    if (now - this.brokenSince > WATCH_RESUME_GIVE_UP_MS) {
      this.fail(new StoreError('Unavailable', `etcd watch lost: ${cause?.message ?? 'stream ended'}`));
      return;
    }
    const delay = Math.min(2000, 100 * 2 ** Math.floor((now - this.brokenSince) / 1000));
    setTimeout(() => {
      if (this.cancelled) return;
      this.start().catch((err: Error) => this.resume(err));
    }, delay);
  }

  fail(err: Error): void {
    if (this.cancelled) return;
    this.cancel();
    this.onError?.(err);
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.store.forget(this);
    const stream = this.stream;
    this.stream = undefined;
    stream?.cancel();
  }
}

/** etcd's range_end for "every key starting with prefix" ('' → every key). */
function etcdRangeEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

/** Compare clauses: the key exists and was last written at expected. */
function guard(key: Buffer, expected: number) {
  return [
    { key, target: 'Create' as const, result: 'Greater' as const, create_revision: 0 },
    { key, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expected },
  ];
}

function mismatch(key: string, expected: number, kvs: IKeyValue[] | undefined): StoreError {
  const current = firstKv(kvs);
  if (!current) return new StoreError('NotFound', `key ${key} not found`);
  return new StoreError('Conflict', `key ${key} has modRevision ${current.modRevision}, not ${expected}`, current);
}

function firstKv(kvs: IKeyValue[] | undefined): KeyValue | undefined {
  return kvs && kvs.length > 0 ? toKeyValue(kvs[0]) : undefined;
}

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key.toString(),
    value: kv.value ? kv.value.toString() : '',
    createRevision: Number(kv.create_revision),
    modRevision: Number(kv.mod_revision),
  };
}

function headerRevision(h: IResponseHeader): number {
  return Number(h.revision);
}

/** Connects to etcd and checks that it answers. */
export async function openEtcdStore(hosts: string[]): Promise<EtcdStore> {
  const store = new EtcdStore(hosts);
  try {
    await store.currentRevision();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
