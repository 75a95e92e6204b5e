// Shared informers: one reflector and one local cache per resource (and selector), fanned out
// to any number of event handlers, like client-go's SharedIndexInformer.
//
// Objects in the cache and those passed to handlers are the ones decoded from the wire, shared
// by every handler and lister: handlers MUST NOT mutate them (copy first, e.g. structuredClone).
// Handlers run synchronously as events arrive and should be quick (typically: enqueue a key).
import type { KObject } from '../api/types.js';
import type { Client } from './client.js';
import { gvrKey, type GroupVersionResource } from './gvr.js';
import { Indexer, objectKey, type IndexFunc } from './indexer.js';
import { clientLog } from './log.js';
import { Reflector, type ReflectorOptions } from './reflector.js';
import type { ResourceClient } from './resources.js';

export interface EventHandlers<T extends KObject = KObject> {
  /** isInitialList: the object came from the first list (or was replayed to a late handler). */
  onAdd?(obj: T, isInitialList: boolean): void;
  /** Also called on resync with oldObj === newObj. */
  onUpdate?(oldObj: T, newObj: T): void;
  /** The object's last state: the watch event's, or the cached one when a relist found it gone. */
  onDelete?(obj: T): void;
}

export interface InformerOptions extends ReflectorOptions {
  /** Default resync period for handlers (0: none). A resync calls onUpdate(obj, obj) for every cached object. */
  resyncPeriodMs?: number;
}

export interface HandlerRegistration {
  remove(): void;
}

interface Listener<T extends KObject> {
  handlers: EventHandlers<T>;
  timer?: NodeJS.Timeout;
}

export class SharedInformer<T extends KObject = KObject> {
  /** The local cache (read-only for callers). */
  readonly store = new Indexer<T>();
  private readonly listeners = new Set<Listener<T>>();
  private readonly reflector: Reflector<T>;
  private synced = false;
  private started = false;
  private stopped = false;
  private syncWaiters: Array<(ok: boolean) => void> = [];

  constructor(
    readonly client: ResourceClient<T>,
    private readonly opts: InformerOptions = {},
  ) {
    this.reflector = new Reflector<T>(
      client,
      { replace: (items) => this.replace(items), apply: (type, obj) => this.apply(type, obj) },
      opts,
    );
  }

  /**
   * Registers handlers. Added after the first sync, they first receive onAdd for every cached
   * object (synchronously, before this returns).
   */
  addEventHandler(handlers: EventHandlers<T>, opts: { resyncPeriodMs?: number } = {}): HandlerRegistration {
    const listener: Listener<T> = { handlers };
    this.listeners.add(listener);
    if (this.synced && handlers.onAdd) for (const obj of this.store.list()) this.call(() => handlers.onAdd!(obj, true));
    const period = opts.resyncPeriodMs ?? this.opts.resyncPeriodMs ?? 0;
    if (period > 0 && handlers.onUpdate) {
      listener.timer = setInterval(() => {
        if (!this.synced) return;
        for (const obj of this.store.list()) this.call(() => handlers.onUpdate!(obj, obj));
      }, period);
      listener.timer.unref();
    }
    return {
      remove: () => {
        clearInterval(listener.timer);
        this.listeners.delete(listener);
      },
    };
  }

  /** Adds a cache index (e.g. pods by spec.nodeName); allowed before or after start. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.store.addIndexer(name, fn);
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.reflector.start();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.reflector.stop();
    for (const l of this.listeners) clearInterval(l.timer);
    for (const w of this.syncWaiters) w(false);
    this.syncWaiters = [];
  }

  get isStarted(): boolean {
    return this.started;
  }

  /** True once the first list has been applied to the cache and its handlers. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, or false when the informer is stopped or signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(done);
    });
  }

  /** The resourceVersion the cache reflects. */
  get lastSyncResourceVersion(): string {
    return this.reflector.lastSyncResourceVersion;
  }

  /** The underlying reflector (diagnostics and tests). */
  get reflectorForTesting(): Reflector<T> {
    return this.reflector;
  }

  get(namespace: string | undefined | null, name: string): T | undefined {
    return this.store.getByName(namespace, name);
  }

  list(namespace?: string): T[] {
    return namespace ? this.store.byNamespace(namespace) : this.store.list();
  }

  byIndex(indexName: string, value: string): T[] {
    return this.store.byIndex(indexName, value);
  }

  /** A relist: like DeltaFIFO's Replace, objects gone from the list are deleted and changed ones updated. */
  private replace(items: T[]): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.get(key);
      if (old && old.metadata?.resourceVersion === obj.metadata?.resourceVersion) continue;
      this.store.set(key, obj);
      if (old) this.emitUpdate(old, obj);
      else this.emitAdd(obj, initial);
    }
    if (this.store.size > seen.size) {
      const gone: string[] = [];
      for (const key of this.store.keys()) if (!seen.has(key)) gone.push(key);
      for (const key of gone) this.emitDelete(this.store.delete(key)!);
    }
    if (initial) {
      this.synced = true;
      for (const w of this.syncWaiters) w(true);
      this.syncWaiters = [];
    }
  }

  private apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void {
    const key = objectKey(obj);
    if (type === 'DELETED') {
      this.store.delete(key);
      this.emitDelete(obj);
      return;
    }
    const old = this.store.set(key, obj);
    if (old) this.emitUpdate(old, obj);
    else this.emitAdd(obj, false);
  }

  private emitAdd(obj: T, initial: boolean): void {
    for (const l of this.listeners) if (l.handlers.onAdd) this.call(() => l.handlers.onAdd!(obj, initial));
  }

  private emitUpdate(old: T, obj: T): void {
    for (const l of this.listeners) if (l.handlers.onUpdate) this.call(() => l.handlers.onUpdate!(old, obj));
  }

  private emitDelete(obj: T): void {
    for (const l of this.listeners) if (l.handlers.onDelete) this.call(() => l.handlers.onDelete!(obj));
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      clientLog('error', `informer ${gvrKey(this.client.gvr)}: event handler threw: ${(e as Error)?.stack ?? e}`);
    }
  }
}

export interface InformerSelector {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Hands out one shared informer per resource and selector, so every controller in a process
 * watching pods shares one list+watch and one cache.
 */
export class SharedInformerFactory {
  private readonly informers = new Map<string, SharedInformer<any>>();
  private stopped = false;

  constructor(
    readonly client: Client,
    private readonly defaults: InformerOptions = {},
  ) {}

  informer<T extends KObject = KObject>(gvr: GroupVersionResource, selector: InformerSelector = {}): SharedInformer<T> {
    const key = `${gvrKey(gvr)}|${selector.namespace ?? ''}|${selector.labelSelector ?? ''}|${selector.fieldSelector ?? ''}`;
    let inf = this.informers.get(key);
    if (!inf) {
      inf = new SharedInformer<T>(this.client.resource<T>(gvr), { ...this.defaults, ...selector });
      this.informers.set(key, inf);
    }
    return inf as SharedInformer<T>;
  }

  /** Starts every informer handed out so far that is not running yet (call again after requesting more). */
  start(): void {
    if (this.stopped) return;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves true once every started informer has synced (false if stopped or aborted first). */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const started = [...this.informers.values()].filter((i) => i.isStarted);
    const results = await Promise.all(started.map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  stop(): void {
    this.stopped = true;
    for (const inf of this.informers.values()) inf.stop();
  }
}
