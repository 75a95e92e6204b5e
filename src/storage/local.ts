// Shared pieces of the backends that live in this process and are the only writer of
// their data (memory, sqlite): watch fan-out fed by the write path (no polling), and the
// revision checks of reads.
import { StoreError, type WatchEvent, type Watcher } from './store.js';

type OnEvents = (events: WatchEvent[]) => void;
type OnError = (err: Error) => void;

/** One watch: buffers events and hands them over in batches on a later tick, in order. */
class Subscription implements Watcher {
  private pending: WatchEvent[] = [];
  private scheduled = false;
  cancelled = false;

  constructor(
    private readonly hub: WatchHub,
    readonly prefix: string,
    private readonly onEvents: OnEvents,
    private readonly onError?: OnError,
  ) {}

  /**
   * Queues events for the consumer. History (at subscribe) is handed over with setImmediate,
   * so the caller of watch() has its Watcher before the first batch arrives. Live events of a
   * commit go in a microtask: after the writers' promises settle but within the same turn, so
   * a writer waiting to see its own write (the API server's watch cache) does not wait a
   * whole event-loop turn for it. Events of one commit still arrive as one batch.
   */
  push(events: WatchEvent[], live = false): void {
    if (this.cancelled || events.length === 0) return;
    for (const e of events) this.pending.push(e);
    if (!this.scheduled) {
      this.scheduled = true;
      if (live) queueMicrotask(this.flush);
      else setImmediate(this.flush);
    }
  }

  private flush = (): void => {
    this.scheduled = false;
    if (this.cancelled || this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.onEvents(batch);
    } catch (err) {
      // A consumer bug must not break the store's write path or other watchers.
      if (this.onError) this.onError(err as Error);
      else console.error('watch consumer threw:', err);
    }
  };

  fail(err: Error): void {
    if (this.cancelled) return;
    this.cancel();
    if (this.onError) setImmediate(() => this.onError!(err));
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.pending = [];
    this.hub.remove(this);
  }
}

export class WatchHub {
  private readonly subs = new Set<Subscription>();

  /**
   * Registers a watch whose history (events already committed, oldest first) is delivered
   * before any live event. The caller must read the history and subscribe in the same
   * synchronous step so nothing is missed or delivered twice.
   */
  subscribe(prefix: string, history: WatchEvent[], onEvents: OnEvents, onError?: OnError): Watcher {
    const sub = new Subscription(this, prefix, onEvents, onError);
    this.subs.add(sub);
    sub.push(history);
    return sub;
  }

  /** Events of one commit, in revision order. */
  publish(events: WatchEvent[]): void {
    if (events.length === 0) return;
    for (const sub of this.subs) {
      if (sub.prefix === '') {
        sub.push(events, true);
        continue;
      }
      const mine = events.filter((e) => e.kv.key.startsWith(sub.prefix));
      if (mine.length > 0) sub.push(mine, true);
    }
  }

  /** Ends every watch (store closing or compaction of a live watch's position). */
  failAll(err: Error): void {
    for (const sub of [...this.subs]) sub.fail(err);
  }

  remove(sub: Subscription): void {
    this.subs.delete(sub);
  }

  get size(): number {
    return this.subs.size;
  }
}

/** The smallest string greater than every string starting with prefix ('' → no bound). */
export function prefixEnd(prefix: string): string {
  if (prefix === '') return '\u{10FFFF}';
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export function compacted(revision: number, compactRevision: number): StoreError {
  return new StoreError(
    'Compacted',
    `required revision ${revision} has been compacted (compact revision ${compactRevision})`,
    undefined,
    compactRevision,
  );
}

/** Throws unless a read at revision is possible: not compacted away and not in the future. */
export function checkReadable(revision: number, current: number, compactRevision: number): void {
  if (revision < compactRevision) throw compacted(revision, compactRevision);
  if (revision > current) throw new Error(`required revision ${revision} is a future revision (current ${current})`);
}
