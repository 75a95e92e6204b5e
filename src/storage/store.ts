// The cluster store contract: a key-value store with etcd semantics.
// Every backend (sqlite, etcd, memory) implements it and passes test/storage-contract.test.ts.
//
// Revisions: one cluster-wide counter that every successful write (create, update, delete)
// increments by exactly one. A key's modRevision is the revision of its last write; its
// createRevision the revision that created it. The API server exposes modRevision as
// metadata.resourceVersion.

export interface KeyValue {
  key: string;
  /** The stored object, JSON text. */
  value: string;
  createRevision: number;
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For PUT the new value; for DELETE the last value, with modRevision = the deletion's revision. */
  kv: KeyValue;
  /** The value before this event, when the backend knows it (always for DELETE). */
  prevKv?: KeyValue;
}

export interface RangeOptions {
  /** Return at most this many keys (0 or undefined: no limit). */
  limit?: number;
  /** Return keys strictly greater than this key (the "continue" position). */
  startAfter?: string;
  /** Read as of this revision (must not be compacted); default: current. */
  revision?: number;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** True when keys beyond the limit remain under the prefix. */
  more: boolean;
  /** The revision the range was read at. */
  revision: number;
}

export interface Watcher {
  cancel(): void;
}

export type StoreErrorCode = 'NotFound' | 'AlreadyExists' | 'Conflict' | 'Compacted' | 'Unavailable';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** For Conflict: the current value, if any. For Compacted: undefined. */
    readonly current?: KeyValue,
    /** For Compacted: the compact revision. */
    readonly compactRevision?: number,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface Store {
  /** The current value of key, or undefined. */
  get(key: string): Promise<KeyValue | undefined>;
  /** Keys that start with prefix, in key order. */
  range(prefix: string, opts?: RangeOptions): Promise<RangeResult>;
  /** Creates key; StoreError('AlreadyExists') if it exists. Resolves once durable. */
  create(key: string, value: string): Promise<KeyValue>;
  /** Replaces key if its modRevision equals expectedModRevision; else Conflict (or NotFound). */
  update(key: string, value: string, expectedModRevision: number): Promise<KeyValue>;
  /**
   * Deletes key (guarded by expectedModRevision when given). Resolves with the deleted value
   * whose modRevision is the deletion's revision. NotFound / Conflict otherwise.
   */
  delete(key: string, expectedModRevision?: number): Promise<KeyValue>;
  /**
   * Streams every change under prefix with revision > afterRevision, in revision order,
   * batched. Throws StoreError('Compacted') synchronously-or-via-promise if afterRevision
   * is older than the compact revision.
   */
  watch(
    prefix: string,
    afterRevision: number,
    onEvents: (events: WatchEvent[]) => void,
    onError?: (err: Error) => void,
  ): Promise<Watcher>;
  /** The latest revision (0 for an empty store). */
  currentRevision(): Promise<number>;
  /** Forgets history at or below revision; later watches/reads from there fail with Compacted. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
