// Messages between SqliteStore (main thread) and the worker thread that owns the SQLite
// connection (sqlite-worker.ts). The main thread decides every write (revision, preconditions)
// and the worker only makes decided rows durable; reads of the past and history run there too.
import type { MessagePort } from 'node:worker_threads';
import type { KeyValue, WatchEvent } from './store.js';

/** workerData of the worker. */
export interface WorkerStart {
  kind: 'skiff-sqlite';
  path: string;
  maxPageCount?: number;
  /** The channel for everything below. */
  port: MessagePort;
  /** Set to 1 (and notified) once the startup message is on the port, so the opener may block for it. */
  started: Int32Array;
}

/** The state the worker loaded at startup: the live keys (columnar: cheap to clone), the counters. */
export interface LoadedState {
  rev: number;
  compactRev: number;
  keys: string[];
  values: string[];
  createRevisions: number[];
  modRevisions: number[];
}

export type StartupMessage = { type: 'ready'; state: LoadedState } | { type: 'failed'; message: string };

export const ROW_CREATE = 0;
export const ROW_UPDATE = 1;
export const ROW_DELETE = 2;

/**
 * One decided write. A deletion carries no value: the worker copies it from the key's
 * previous row (prevRevision), which saves sending the object twice.
 */
export interface CommitRow {
  kind: typeof ROW_CREATE | typeof ROW_UPDATE | typeof ROW_DELETE;
  revision: number;
  key: string;
  createRevision: number;
  /** The key's previous row (0 for a create). */
  prevRevision: number;
  value?: string;
}

export type Request =
  | { type: 'commit'; id: number; rows: CommitRow[] }
  /** Live keys in [prefix, end) after `after` as of revision; limit -1 for all. */
  | { type: 'rangeAt'; id: number; prefix: string; end: string; after: string; revision: number; limit: number }
  /** Events under [prefix, end) with afterRevision < revision <= upTo, oldest first. */
  | { type: 'history'; id: number; prefix: string; end: string; afterRevision: number; upTo: number }
  | { type: 'compact'; id: number; revision: number }
  | { type: 'close'; id: number };

export type Reply =
  /** ms: a commit's transaction time in the worker (for timings). */
  | { id: number; ok: true; kvs?: KeyValue[]; events?: WatchEvent[]; ms?: number }
  /** diverged: the file does not hold what the main thread believes; the store must stop. */
  | { id: number; ok: false; message: string; diverged?: boolean };
