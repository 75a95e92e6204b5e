// The watch cache: every object of every resource held in memory, fed by one store watch,
// so that gets, lists and watches are served without touching the store. Each resource keeps a
// window of recent events so watches can resume from a recent resourceVersion; older ones get 410.
import type { KObject } from '../api/types.js';
import type { KeyValue, Store, Watcher, WatchEvent } from '../storage/store.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** An object as stored, with metadata.resourceVersion set. Treated as immutable once cached. */
export interface CacheEntry {
  key: string;
  obj: KObject;
  rev: number;
  /** Lazily computed JSON of obj (shared by every list and watch that sends it). */
  json?: string;
}

export interface CacheEvent {
  type: EventType;
  entry: CacheEntry;
  /** The previous state (MODIFIED and DELETED). */
  prev?: CacheEntry;
  rev: number;
  /** Encoded frames, memoized per format so fan-out to many watchers encodes once. */
  frames?: Map<string, Buffer>;
}

export interface CacheWatcher {
  /** Called for every event of the resource, in order. */
  onEvent(ev: CacheEvent): void;
}

export function entryJson(e: CacheEntry): string {
  return (e.json ??= JSON.stringify(e.obj));
}

const EVENT_WINDOW = 10_000;

export class ResourceCache {
  readonly items = new Map<string, CacheEntry>();
  private sorted: CacheEntry[] | null = null;
  private readonly events: CacheEvent[] = [];
  private head = 0; // index of the oldest event in the ring
  /** Every event with rev > floor is in the window. */
  floor: number;
  readonly watchers = new Set<CacheWatcher>();

  constructor(readonly prefix: string, startRev: number) {
    this.floor = startRev;
  }

  /** Entries ordered by key (namespace/name), as upstream lists them. */
  sortedEntries(): CacheEntry[] {
    if (!this.sorted) {
      this.sorted = [...this.items.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    }
    return this.sorted;
  }

  load(entry: CacheEntry): void {
    this.items.set(entry.key, entry);
    this.sorted = null;
  }

  apply(ev: CacheEvent): void {
    if (ev.type === 'DELETED') {
      this.items.delete(ev.entry.key);
      this.sorted = null;
    } else {
      if (ev.type === 'ADDED') this.sorted = null;
      else if (this.sorted) {
        // Same key set: replace in place to keep the sorted view.
        const i = this.sorted.indexOf(ev.prev!);
        if (i >= 0) this.sorted[i] = ev.entry;
        else this.sorted = null;
      }
      this.items.set(ev.entry.key, ev.entry);
    }
    if (this.events.length - this.head >= EVENT_WINDOW) {
      this.floor = this.events[this.head].rev;
      this.head++;
      if (this.head > EVENT_WINDOW) {
        this.events.splice(0, this.head);
        this.head = 0;
      }
    }
    this.events.push(ev);
    for (const w of this.watchers) w.onEvent(ev);
  }

  /** Events with rev > afterRev, or undefined when they are no longer all in the window. */
  eventsSince(afterRev: number): CacheEvent[] | undefined {
    if (afterRev < this.floor) return undefined;
    // Binary search for the first event with rev > afterRev.
    let lo = this.head;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.events[mid].rev <= afterRev) lo = mid + 1;
      else hi = mid;
    }
    return this.events.slice(lo);
  }
}

/**
 * One watch on the store's whole '/registry/' prefix, dispatched to per-resource caches by
 * key prefix ('/registry/pods/' or '/registry/apps/deployments/').
 */
export class WatchCache {
  private readonly caches = new Map<string, ResourceCache>();
  private watcher?: Watcher;
  /** The newest store revision the cache reflects. */
  rev = 0;
  private waiters: Array<{ rev: number; resolve: () => void }> = [];

  constructor(
    private readonly store: Store,
    private readonly prefixes: string[],
  ) {}

  async start(): Promise<void> {
    let startAfter: string | undefined;
    let revision: number | undefined;
    const loaded: KeyValue[] = [];
    for (;;) {
      const res = await this.store.range('/registry/', { limit: 5000, startAfter, revision });
      revision = res.revision;
      loaded.push(...res.kvs);
      if (!res.more || res.kvs.length === 0) break;
      startAfter = res.kvs[res.kvs.length - 1].key;
    }
    this.rev = revision ?? (await this.store.currentRevision());
    for (const p of this.prefixes) this.caches.set(p, new ResourceCache(p, this.rev));
    for (const kv of loaded) {
      const c = this.cacheForKey(kv.key);
      if (c) c.load(toEntry(kv));
    }
    this.watcher = await this.store.watch('/registry/', this.rev, (evs) => this.onStoreEvents(evs), (err) => {
      process.emitWarning(`watch cache: store watch failed: ${err.message}`);
    });
  }

  stop(): void {
    this.watcher?.cancel();
  }

  /** The cache of the resource stored under '/registry/<storage>/'. */
  resource(storage: string): ResourceCache {
    const c = this.caches.get(storage);
    if (!c) throw new Error(`no cache for ${storage}`);
    return c;
  }

  /** Resolves once the cache reflects revision rev (or rejects after timeoutMs). */
  waitFor(rev: number, timeoutMs = 10_000): Promise<void> {
    if (this.rev >= rev) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = { rev, resolve: () => (clearTimeout(t), resolve()) };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out waiting for the watch cache to reach revision ${rev} (at ${this.rev})`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  private cacheForKey(key: string): ResourceCache | undefined {
    // '/registry/<a>/...' or '/registry/<a>/<b>/...'
    const rest = key.slice('/registry/'.length);
    const i = rest.indexOf('/');
    if (i < 0) return undefined;
    const one = rest.slice(0, i);
    const c1 = this.caches.get(one);
    if (c1) return c1;
    const j = rest.indexOf('/', i + 1);
    return j < 0 ? undefined : this.caches.get(rest.slice(0, j));
  }

  private onStoreEvents(evs: WatchEvent[]): void {
    for (const ev of evs) {
      const rev = ev.kv.modRevision;
      if (rev <= this.rev) continue; // already seen (replay overlap)
      this.rev = rev;
      const c = this.cacheForKey(ev.kv.key);
      if (!c) continue;
      const prev = c.items.get(ev.kv.key);
      if (ev.type === 'DELETE') {
        if (!prev) continue;
        const obj = { ...prev.obj, metadata: { ...prev.obj.metadata, resourceVersion: String(rev) } };
        c.apply({ type: 'DELETED', entry: { key: ev.kv.key, obj, rev }, prev, rev });
      } else {
        c.apply({ type: prev ? 'MODIFIED' : 'ADDED', entry: toEntry(ev.kv), prev, rev });
      }
    }
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.rev <= this.rev);
      if (ready.length) {
        this.waiters = this.waiters.filter((w) => w.rev > this.rev);
        for (const w of ready) w.resolve();
      }
    }
  }
}

function toEntry(kv: KeyValue): CacheEntry {
  const obj = JSON.parse(kv.value) as KObject;
  (obj.metadata ??= {}).resourceVersion = String(kv.modRevision);
  return { key: kv.key, obj, rev: kv.modRevision };
}
