// In-process store for unit tests: the current state in a map plus the event log for
// reads at past revisions and watches. Nothing survives the process.
import {
  StoreError,
  type KeyValue,
  type RangeOptions,
  type RangeResult,
  type Store,
  type WatchEvent,
  type Watcher,
} from './store.js';
import { WatchHub, checkReadable, compacted } from './local.js';

export class MemoryStore implements Store {
  private readonly current = new Map<string, KeyValue>();
  /** One event per revision above the compact revision; below it only the survivors. */
  private log: WatchEvent[] = [];
  private rev = 0;
  private compactRev = 0;
  private closed = false;
  private readonly hub = new WatchHub();

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkOpen();
    return this.current.get(key);
  }

  async range(prefix: string, opts: RangeOptions = {}): Promise<RangeResult> {
    this.checkOpen();
    const revision = opts.revision && opts.revision > 0 ? opts.revision : this.rev;
    checkReadable(revision, this.rev, this.compactRev);
    const after = opts.startAfter ?? '';
    let all: KeyValue[];
    if (revision === this.rev) {
      all = [];
      for (const [key, kv] of this.current) if (key.startsWith(prefix) && key > after) all.push(kv);
    } else {
      const state = new Map<string, KeyValue | undefined>();
      for (const e of this.log) {
        if (e.kv.modRevision > revision) break;
        if (e.kv.key.startsWith(prefix) && e.kv.key > after) state.set(e.kv.key, e.type === 'PUT' ? e.kv : undefined);
      }
      all = [...state.values()].filter((kv): kv is KeyValue => kv !== undefined);
    }
    all.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
    return { kvs: all.slice(0, limit), more: all.length > limit, revision };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    this.checkOpen();
    const existing = this.current.get(key);
    if (existing) throw new StoreError('AlreadyExists', `key ${key} already exists`, existing);
    const rev = ++this.rev;
    const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
    this.current.set(key, kv);
    this.commit({ type: 'PUT', kv });
    return kv;
  }

  async update(key: string, value: string, expectedModRevision: number): Promise<KeyValue> {
    this.checkOpen();
    const prev = this.current.get(key);
    if (!prev) throw new StoreError('NotFound', `key ${key} not found`);
    if (prev.modRevision !== expectedModRevision) {
      throw new StoreError('Conflict', `key ${key} has modRevision ${prev.modRevision}, not ${expectedModRevision}`, prev);
    }
    const rev = ++this.rev;
    const kv: KeyValue = { key, value, createRevision: prev.createRevision, modRevision: rev };
    this.current.set(key, kv);
    this.commit({ type: 'PUT', kv, prevKv: prev });
    return kv;
  }

  async delete(key: string, expectedModRevision?: number): Promise<KeyValue> {
    this.checkOpen();
    const prev = this.current.get(key);
    if (!prev) throw new StoreError('NotFound', `key ${key} not found`);
    if (expectedModRevision !== undefined && prev.modRevision !== expectedModRevision) {
      throw new StoreError('Conflict', `key ${key} has modRevision ${prev.modRevision}, not ${expectedModRevision}`, prev);
    }
    const rev = ++this.rev;
    const kv: KeyValue = { key, value: prev.value, createRevision: prev.createRevision, modRevision: rev };
    this.current.delete(key);
    this.commit({ type: 'DELETE', kv, prevKv: prev });
    return kv;
  }

  async watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher> {
    this.checkOpen();
    if (afterRevision < this.compactRev) throw compacted(afterRevision, this.compactRev);
    const history: WatchEvent[] = [];
    for (let i = firstAfter(this.log, afterRevision); i < this.log.length; i++) {
      if (this.log[i].kv.key.startsWith(prefix)) history.push(this.log[i]);
    }
    return this.hub.subscribe(prefix, history, onEvents, onError);
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    if (revision > this.rev) throw new Error(`cannot compact to future revision ${revision} (current ${this.rev})`);
    if (revision <= this.compactRev) return;
    // Keep everything above the revision; at or below it only the last PUT of each key
    // that is still live at the revision.
    const lastAtOrBelow = new Map<string, WatchEvent>();
    let i = 0;
    for (; i < this.log.length && this.log[i].kv.modRevision <= revision; i++) lastAtOrBelow.set(this.log[i].kv.key, this.log[i]);
    const kept = [...lastAtOrBelow.values()].filter((e) => e.type === 'PUT').sort((a, b) => a.kv.modRevision - b.kv.modRevision);
    this.log = kept.concat(this.log.slice(i));
    this.compactRev = revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.failAll(new StoreError('Unavailable', 'store closed'));
  }

  private commit(event: WatchEvent): void {
    this.log.push(event);
    this.hub.publish([event]);
  }

  private checkOpen(): void {
    if (this.closed) throw new StoreError('Unavailable', 'store closed');
  }
}

/** Index of the first event with modRevision > rev (the log is in revision order). */
function firstAfter(log: WatchEvent[], rev: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid].kv.modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
