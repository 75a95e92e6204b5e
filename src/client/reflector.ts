// Reflector: keeps a store in step with the server by listing (paged) and then watching from
// the list's resourceVersion. A watch that ends (server timeout, dropped connection) resumes
// from the last resourceVersion seen, bookmarks included; a 410 Gone / Expired (the version
// left the server's event window) forces a fresh list, which the store applies as a Replace.
import type { KObject } from '../api/types.js';
import { isExpired, statusError } from './errors.js';
import { clientLog } from './log.js';
import type { ResourceClient } from './resources.js';
import type { WatchHandle } from './rest.js';
import { gvrKey } from './gvr.js';
import { jitter, sleep } from './time.js';

export interface ReflectorStore<T> {
  /** The complete state after a list (relists included). */
  replace(items: T[], resourceVersion: string): void;
  /** One watch event. */
  apply(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: T): void;
}

export interface ReflectorOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (default 500). */
  pageSize?: number;
  /** Watches ask the server to end after this many seconds, jittered up to twice as long (default 300). */
  minWatchTimeoutSeconds?: number;
  /** Backoff after failures: initial and maximum delay (default 800 ms and 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

export class Reflector<T extends KObject = KObject> {
  /** The resourceVersion of the last list or event seen. */
  lastSyncResourceVersion = '';
  /** How many lists (initial one included) have run. */
  listCount = 0;
  private stopped = true;
  private watch?: WatchHandle;
  private readonly abort = new AbortController();
  private backoff: number;
  private readonly name: string;
  private forcedRv?: string;

  constructor(
    private readonly client: ResourceClient<T>,
    private readonly store: ReflectorStore<T>,
    private readonly opts: ReflectorOptions = {},
  ) {
    this.backoff = opts.initialBackoffMs ?? 800;
    this.name = `${gvrKey(client.gvr)}${opts.namespace ? ` in ${opts.namespace}` : ''}`;
  }

  /** Starts listing and watching; a stopped reflector cannot be restarted (make a new one). */
  start(): void {
    if (!this.stopped || this.abort.signal.aborted) return;
    this.stopped = false;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    this.watch?.abort();
  }

  /**
   * Ends the current watch and starts the next one from resourceVersion (a diagnostic and test
   * hook: a version older than the server's window exercises the 410 relist path).
   */
  restartWatchFrom(resourceVersion: string): void {
    this.forcedRv = resourceVersion;
    this.watch?.abort();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.list();
      } catch (e) {
        if (this.stopped) return;
        clientLog('warning', `reflector ${this.name}: list failed: ${(e as Error).message}`);
        await this.pause();
        continue;
      }
      this.resetBackoff();
      // Watch until the server says our version is too old.
      while (!this.stopped) {
        const started = performance.now();
        const { err, events } = await this.watchOnce();
        if (this.stopped) return;
        if (err && isExpired(err)) {
          clientLog('info', `reflector ${this.name}: ${err.message}; relisting`);
          break;
        }
        if (err) {
          clientLog('warning', `reflector ${this.name}: watch failed: ${err.message}`);
          await this.pause();
        } else if (events === 0 && performance.now() - started < 1000 && this.forcedRv === undefined) {
          // A watch that ends at once without events: do not spin.
          await this.pause();
        } else this.resetBackoff();
      }
    }
  }

  private async list(): Promise<void> {
    const { namespace, labelSelector, fieldSelector } = this.opts;
    let result: { items: T[]; resourceVersion: string };
    try {
      result = await this.client.listAll(namespace, { labelSelector, fieldSelector, limit: this.opts.pageSize ?? 500 });
    } catch (e) {
      // A continue token can expire between pages: fall back to one unpaged list.
      if (!isExpired(e)) throw e;
      const list = await this.client.list(namespace, { labelSelector, fieldSelector });
      result = { items: list.items, resourceVersion: list.metadata.resourceVersion ?? '' };
    }
    if (this.stopped) return;
    this.listCount++;
    this.lastSyncResourceVersion = result.resourceVersion;
    this.store.replace(result.items, result.resourceVersion);
  }

  private watchOnce(): Promise<{ err?: Error; events: number }> {
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    let from = this.lastSyncResourceVersion;
    if (this.forcedRv !== undefined) {
      from = this.forcedRv;
      this.forcedRv = undefined;
    }
    return new Promise((resolve) => {
      let events = 0;
      let failure: Error | undefined;
      const handle = this.client.watch(
        this.opts.namespace,
        {
          resourceVersion: from,
          allowWatchBookmarks: true,
          timeoutSeconds: Math.floor(jitter(min, 1)),
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
        },
        {
          onEvent: (type, obj) => {
            if (failure) return;
            events++;
            if (type === 'ERROR') {
              failure = statusError(obj);
              handle.abort();
              return;
            }
            const rv = obj?.metadata?.resourceVersion;
            if (type !== 'BOOKMARK') this.store.apply(type, obj);
            if (rv) this.lastSyncResourceVersion = rv;
          },
          onClose: (err) => {
            if (this.watch === handle) this.watch = undefined;
            resolve({ err: failure ?? err, events });
          },
        },
      );
      this.watch = handle;
      if (this.stopped) handle.abort();
    });
  }

  private async pause(): Promise<void> {
    await sleep(jitter(this.backoff, 0.5), this.abort.signal);
    this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoffMs ?? 30_000);
  }

  private resetBackoff(): void {
    this.backoff = this.opts.initialBackoffMs ?? 800;
  }
}
