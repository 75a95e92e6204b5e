// The informer's local cache: objects by "namespace/name" (or "name" when cluster-scoped)
// plus secondary indices, like client-go's cache.Indexer. The "namespace" index is built in;
// callers add their own (e.g. pods by spec.nodeName). Objects are stored as received and
// shared with every reader: nobody may mutate them.
import type { KObject } from '../api/types.js';

/** Index values of an object: none, one, or several. */
export type IndexFunc<T> = (obj: T) => string | string[] | undefined | null;

export const NAMESPACE_INDEX = 'namespace';

/** The cache key of an object: "namespace/name", or "name" for cluster-scoped objects. */
export function objectKey(obj: KObject): string {
  const m = obj.metadata;
  const name = m?.name ?? '';
  return m?.namespace ? `${m.namespace}/${name}` : name;
}

export function keyOf(namespace: string | undefined | null, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

const EMPTY: readonly string[] = [];

function values(v: string | string[] | undefined | null): readonly string[] {
  if (v === undefined || v === null) return EMPTY;
  return typeof v === 'string' ? [v] : v;
}

export class Indexer<T extends KObject = KObject> {
  private readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor() {
    this.addIndexer(NAMESPACE_INDEX, (o) => o.metadata?.namespace ?? '');
  }

  get size(): number {
    return this.items.size;
  }

  /** Adds an index; existing objects are indexed at once. Replacing an index of the same name rebuilds it. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    this.indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.indices.set(name, index);
    for (const [key, obj] of this.items) for (const v of values(fn(obj))) addTo(index, v, key);
  }

  hasIndexer(name: string): boolean {
    return this.indexers.has(name);
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined | null, name: string): T | undefined {
    return this.items.get(keyOf(namespace, name));
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  list(): T[] {
    return Array.from(this.items.values());
  }

  keys(): IterableIterator<string> {
    return this.items.keys();
  }

  entries(): IterableIterator<[string, T]> {
    return this.items.entries();
  }

  /** Stores obj under key; returns the object it replaced. */
  set(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      const next = values(fn(obj));
      if (old) {
        const prev = values(fn(old));
        if (sameValues(prev, next)) continue;
        for (const v of prev) removeFrom(index, v, key);
      }
      for (const v of next) addTo(index, v, key);
    }
    return old;
  }

  /** Removes key; returns the object it held. */
  delete(key: string): T | undefined {
    const old = this.items.get(key);
    if (!old) return undefined;
    this.items.delete(key);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const v of values(fn(old))) removeFrom(index, v, key);
    }
    return old;
  }

  /** Objects whose index `name` contains value. */
  byIndex(name: string, value: string): T[] {
    const keys = this.indexKeys(name, value);
    const out: T[] = [];
    for (const k of keys) out.push(this.items.get(k)!);
    return out;
  }

  /** Keys of the objects whose index `name` contains value. */
  indexKeys(name: string, value: string): ReadonlySet<string> {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return index.get(value) ?? new Set();
  }

  /** The values present in index `name`. */
  indexValues(name: string): string[] {
    const index = this.indices.get(name);
    if (!index) throw new Error(`index "${name}" does not exist`);
    return Array.from(index.keys());
  }

  byNamespace(namespace: string): T[] {
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }
}

function addTo(index: Map<string, Set<string>>, v: string, key: string): void {
  let set = index.get(v);
  if (!set) index.set(v, (set = new Set()));
  set.add(key);
}

function removeFrom(index: Map<string, Set<string>>, v: string, key: string): void {
  const set = index.get(v);
  if (!set) return;
  set.delete(key);
  if (set.size === 0) index.delete(v);
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
