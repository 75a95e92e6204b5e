// EventRecorder: writes events.k8s.io/v1 Events for components, like client-go's tools/events.
// Recording never blocks or throws: events are queued and written in the background in
// batches. A repeat of the same event (same regarding object, reason, action, note, type and
// reporter) within 6 minutes becomes a series on the existing Event (series.count,
// series.lastObservedTime) instead of a new object. Writes that keep failing are dropped.
import { format } from 'node:util';
import type { KObject } from '../api/types.js';
import type { Client } from './client.js';
import { isAlreadyExists, isNotFound } from './errors.js';
import { clientLog } from './log.js';
import type { ResourceClient } from './resources.js';
import { microTime } from './time.js';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: Client;
  /** Who reports, e.g. "default-scheduler" or "skiff.io/kubelet". */
  reportingController: string;
  /** Which instance, e.g. "default-scheduler-<hostname>". */
  reportingInstance: string;
  /** Pending writes are sent at most this often (default 500 ms). */
  flushIntervalMs?: number;
  /** Repeats within this window join a series (default 6 minutes). */
  seriesWindowMs?: number;
  /** Attempts per write before the event is dropped (default 3). */
  maxAttempts?: number;
  /** Most series tracked at once (default 4096; the least recently seen are forgotten first). */
  maxCachedSeries?: number;
}

interface Entry {
  key: string;
  name: string;
  namespace: string;
  regarding: ObjectReference;
  related?: ObjectReference;
  type: EventType;
  reason: string;
  action: string;
  note: string;
  eventTime: string;
  count: number;
  lastObserved: Date;
  lastSeenMs: number;
  /** The server has the Event. */
  created: boolean;
  /** count already written to the server. */
  writtenCount: number;
  attempts: number;
}

const NOTE_LIMIT = 1024;
const WRITE_CONCURRENCY = 8;

export class EventRecorder {
  private readonly events: ResourceClient;
  private readonly cache = new Map<string, Entry>();
  private readonly pending = new Set<Entry>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private stopped = false;
  private warned = false;
  private seq = 0;

  constructor(private readonly opts: EventRecorderOptions) {
    this.events = opts.client.events;
  }

  /** Records an event about regarding (an object or a reference). Never throws or waits. */
  event(regarding: KObject | ObjectReference, type: EventType, reason: string, action: string, note: string, related?: KObject | ObjectReference): void {
    if (this.stopped) return;
    try {
      this.record(toReference(regarding), related ? toReference(related) : undefined, type, reason, action, note);
    } catch (e) {
      this.warnOnce(`event recorder: ${(e as Error).message}`);
    }
  }

  /** Like event(), with a printf-style note (upstream's Eventf argument order). */
  eventf(regarding: KObject | ObjectReference, related: KObject | ObjectReference | undefined, type: EventType, reason: string, action: string, noteFmt: string, ...args: unknown[]): void {
    this.event(regarding, type, reason, action, args.length ? format(noteFmt, ...args) : noteFmt, related);
  }

  /** Writes everything pending now; resolves when done (failures are retried on later flushes). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const run = async (): Promise<void> => {
      if (this.flushing) await this.flushing;
      if (!this.pending.size) return;
      const batch = [...this.pending];
      this.pending.clear();
      const p = this.writeAll(batch);
      this.flushing = p;
      try {
        await p;
      } finally {
        if (this.flushing === p) this.flushing = undefined;
      }
      if (this.pending.size && !this.stopped) this.schedule();
    };
    return run();
  }

  /** Flushes pending events and stops recording. */
  async stop(): Promise<void> {
    await this.flush();
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private record(regarding: ObjectReference, related: ObjectReference | undefined, type: EventType, reason: string, action: string, note: string): void {
    if (note.length > NOTE_LIMIT) note = note.slice(0, NOTE_LIMIT);
    const key = JSON.stringify([
      regarding.apiVersion, regarding.kind, regarding.namespace, regarding.name, regarding.uid, regarding.fieldPath,
      related?.kind, related?.namespace, related?.name, type, reason, action, note,
    ]);
    const now = new Date();
    const nowMs = now.getTime();
    const window = this.opts.seriesWindowMs ?? 6 * 60_000;
    let e = this.cache.get(key);
    if (e && nowMs - e.lastSeenMs <= window) {
      e.count++;
      e.lastObserved = now;
      e.lastSeenMs = nowMs;
      // Keep the Map in recency order for eviction.
      this.cache.delete(key);
      this.cache.set(key, e);
    } else {
      e = {
        key,
        name: `${regarding.name || 'unknown'}.${this.eventId(nowMs)}`,
        namespace: regarding.namespace || 'default',
        regarding,
        related,
        type,
        reason,
        action,
        note,
        eventTime: microTime(now),
        count: 1,
        lastObserved: now,
        lastSeenMs: nowMs,
        created: false,
        writtenCount: 0,
        attempts: 0,
      };
      if (this.cache.has(key)) this.cache.delete(key);
      this.cache.set(key, e);
      this.evict(nowMs, window);
    }
    this.pending.add(e);
    this.schedule();
  }

  /** Hex nanoseconds, unique within this recorder even for events in the same millisecond. */
  private eventId(nowMs: number): string {
    return (BigInt(nowMs) * 1_000_000n + BigInt(this.seq++ % 1_000_000)).toString(16);
  }

  private evict(nowMs: number, window: number): void {
    const max = this.opts.maxCachedSeries ?? 4096;
    for (const [k, e] of this.cache) {
      if (this.cache.size <= max && nowMs - e.lastSeenMs <= window) break;
      if (this.pending.has(e)) continue;
      this.cache.delete(k);
    }
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, this.opts.flushIntervalMs ?? 500);
    this.timer.unref();
  }

  private async writeAll(batch: Entry[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < batch.length) await this.write(batch[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, batch.length) }, worker));
  }

  private async write(e: Entry): Promise<void> {
    const count = e.count;
    try {
      if (!e.created) {
        await this.events.create(e.namespace, this.toEvent(e, count)).catch((err) => {
          if (!isAlreadyExists(err)) throw err;
        });
        e.created = true;
      } else if (count !== e.writtenCount) {
        const series = { count, lastObservedTime: microTime(e.lastObserved) };
        await this.events.patch(e.namespace, e.name, { series }, 'merge');
      }
      e.writtenCount = count;
      e.attempts = 0;
    } catch (err) {
      if (e.created && isNotFound(err)) {
        // The Event expired or was deleted: start a new one for the series.
        e.created = false;
        e.name = `${e.regarding.name || 'unknown'}.${this.eventId(Date.now())}`;
        e.eventTime = microTime();
      }
      if (++e.attempts >= (this.opts.maxAttempts ?? 3)) {
        this.warnOnce(`event recorder: dropping event ${e.namespace}/${e.name} (${e.reason}): ${(err as Error).message}`);
        if (this.cache.get(e.key) === e) this.cache.delete(e.key);
        return;
      }
    }
    if (e.count !== e.writtenCount || !e.created) this.pending.add(e);
  }

  private toEvent(e: Entry, count: number): KObject {
    const ev: KObject = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: e.name, namespace: e.namespace },
      eventTime: e.eventTime,
      reportingController: this.opts.reportingController,
      reportingInstance: this.opts.reportingInstance,
      action: e.action,
      reason: e.reason,
      regarding: e.regarding,
      note: e.note,
      type: e.type,
    };
    if (e.related) ev.related = e.related;
    if (count >= 2) ev.series = { count, lastObservedTime: microTime(e.lastObserved) };
    return ev;
  }

  private warnOnce(message: string): void {
    if (this.warned) return;
    this.warned = true;
    clientLog('warning', `${message} (further event write failures are not logged)`);
  }
}

/** An ObjectReference for an object (or the reference itself). */
export function toReference(o: KObject | ObjectReference): ObjectReference {
  const meta = (o as KObject).metadata;
  if (!meta) return o as ObjectReference;
  const ref: ObjectReference = { apiVersion: o.apiVersion, kind: o.kind, namespace: meta.namespace, name: meta.name, uid: meta.uid, resourceVersion: meta.resourceVersion };
  for (const k of Object.keys(ref) as (keyof ObjectReference)[]) if (ref[k] === undefined) delete ref[k];
  return ref;
}
