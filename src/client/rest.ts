// RestClient: JSON requests and watch streams against the API server over a Transport, with
// client-side rate limiting (upstream's --kube-api-qps/--kube-api-burst; watches are exempt),
// typed Status errors, and a User-Agent naming the component.
import type { ClientRequest, IncomingMessage } from 'node:http';
import { arch, platform } from 'node:os';
import { ApiStatusError, responseError } from './errors.js';
import { TokenBucket } from './token-bucket.js';
import {
  inProcessTransport,
  networkTransport,
  readKubeconfig,
  type ClientUser,
  type InProcessConnector,
  type Transport,
} from './transport.js';
import { LineDecoder } from './watch-decoder.js';

/** The Kubernetes version skiff speaks, used in User-Agent strings. */
export const CLIENT_VERSION = 'v1.32.4';

export type QueryValue = string | number | boolean | string[] | undefined | null;
export type QueryParams = Record<string, QueryValue>;

export interface RestClientOptions {
  /** Path of a kubeconfig file (HTTPS with the client certificate it names). */
  kubeconfig?: string;
  /** kubeconfig context; default current-context. */
  context?: string;
  /** In-process transport: ApiServer.connect and the identity to authenticate as. */
  inProcess?: { connect: InProcessConnector; user: ClientUser };
  /** A ready-made transport (overrides kubeconfig/inProcess). */
  transport?: Transport;
  /** Component name for the User-Agent ("skiff-scheduler" → "skiff-scheduler/v1.32.4 (linux/amd64) skiff"). */
  component?: string;
  /** Full User-Agent override. */
  userAgent?: string;
  /** Sustained requests per second (default 50; <= 0 disables throttling). */
  qps?: number;
  /** Burst size (default 100). */
  burst?: number;
  /** Per-request inactivity timeout for non-watch requests (default 60 s; 0: none). */
  timeoutMs?: number;
}

export interface RequestOptions {
  query?: QueryParams;
  /** A JSON value (serialized here), or a string/Buffer sent as is. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchHandle {
  /** Ends the watch; onClose is then called without an error. */
  abort(): void;
  readonly closed: boolean;
}

export class RestClient {
  readonly transport: Transport;
  readonly userAgent: string;
  private readonly limiter: TokenBucket;
  private readonly timeoutMs: number;

  constructor(opts: RestClientOptions) {
    if (opts.transport) this.transport = opts.transport;
    else if (opts.inProcess) this.transport = inProcessTransport(opts.inProcess.connect, opts.inProcess.user);
    else if (opts.kubeconfig) this.transport = networkTransport(readKubeconfig(opts.kubeconfig, opts.context));
    else throw new Error('RestClient: one of kubeconfig, inProcess or transport is required');
    this.userAgent = opts.userAgent ?? `${opts.component ?? 'skiff'}/${CLIENT_VERSION} (${platform()}/${goArch()}) skiff`;
    this.limiter = new TokenBucket(opts.qps ?? 50, opts.burst ?? 100);
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** Sends one request; resolves with the parsed JSON body (text for non-JSON), rejects with ApiStatusError on non-2xx. */
  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const wait = this.limiter.reserve();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    let body: Buffer | string | undefined;
    let contentType = opts.contentType;
    if (opts.body !== undefined) {
      if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) body = opts.body;
      else body = JSON.stringify(opts.body);
      contentType ??= 'application/json';
    }
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, opts, body, contentType);
      } catch (e) {
        // A keep-alive socket the server closed while idle: the request never reached it.
        const err = e as NodeJS.ErrnoException & { reusedSocket?: boolean };
        if (attempt < 2 && err.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) continue;
        throw e;
      }
    }
  }

  private once<T>(method: string, path: string, opts: RequestOptions, body: Buffer | string | undefined, contentType: string | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const headers: Record<string, string | number> = {
        ...this.transport.headers,
        Accept: opts.accept ?? 'application/json',
        'User-Agent': this.userAgent,
      };
      if (body !== undefined) {
        headers['Content-Type'] = contentType!;
        headers['Content-Length'] = Buffer.byteLength(body);
      }
      // A deadline for the whole exchange (socket idle timeouts do not exist on in-process pipes).
      const timeout = opts.timeoutMs ?? this.timeoutMs;
      let timer: NodeJS.Timeout | undefined;
      const req = this.start(method, path, opts.query, headers, opts.signal, false, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          size += c.length;
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) return reject(responseError(code, buf));
          if (buf.length === 0) return resolve(undefined as T);
          const type = res.headers['content-type'] ?? '';
          if (!type.includes('json')) return resolve(buf.toString('utf8') as T);
          try {
            resolve(JSON.parse(buf.toString('utf8')) as T);
          } catch (e) {
            reject(new Error(`${method} ${path}: invalid JSON response: ${(e as Error).message}`));
          }
        });
      });
      req.on('error', (e: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
        clearTimeout(timer);
        e.reusedSocket = req.reusedSocket;
        reject(e);
      });
      if (timeout > 0) timer = setTimeout(() => req.destroy(new Error(`${method} ${path}: timed out after ${timeout} ms`)), timeout);
      req.end(body);
    });
  }

  /**
   * Opens a watch (GET with watch=true) and feeds each newline-delimited event to onEvent as it
   * arrives. onClose runs exactly once: with no error when the server ends the stream or abort()
   * is called, else with the error (an ApiStatusError for a non-2xx response). An exception
   * thrown by onEvent ends the watch and is passed to onClose. Watches are not rate limited.
   */
  watchStream(
    path: string,
    query: QueryParams,
    onEvent: (type: WatchEventType, object: any) => void,
    onClose: (err?: Error) => void,
  ): WatchHandle {
    let closed = false;
    let aborted = false;
    let res: IncomingMessage | undefined;
    const finish = (err?: Error) => {
      if (closed) return;
      closed = true;
      onClose(aborted ? undefined : err);
    };
    const handle: WatchHandle = {
      abort() {
        if (closed || aborted) return;
        aborted = true;
        req.destroy();
        res?.destroy();
        finish();
      },
      get closed() {
        return closed;
      },
    };
    const headers = { ...this.transport.headers, Accept: 'application/json', 'User-Agent': this.userAgent };
    const req = this.start('GET', path, { ...query, watch: 'true' }, headers, undefined, true, (r) => {
      res = r;
      const code = r.statusCode ?? 0;
      if (code < 200 || code > 299) {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => finish(responseError(code, Buffer.concat(chunks))));
        r.on('error', (e) => finish(e));
        return;
      }
      const decoder = new LineDecoder((line) => {
        const ev = JSON.parse(line);
        onEvent(ev.type, ev.object);
      });
      r.on('data', (c: Buffer) => {
        if (closed) return;
        try {
          decoder.push(c);
        } catch (e) {
          finish(e as Error);
          req.destroy();
          r.destroy();
        }
      });
      r.on('end', () => {
        if (closed) return;
        try {
          decoder.end();
          finish();
        } catch (e) {
          finish(e as Error);
        }
      });
      r.on('error', (e) => finish(e));
      r.on('close', () => finish(r.complete ? undefined : new Error('watch stream closed before it completed')));
    });
    req.on('error', (e) => finish(e));
    req.end();
    return handle;
  }

  private start(
    method: string,
    path: string,
    query: QueryParams | undefined,
    headers: Record<string, string | number>,
    signal: AbortSignal | undefined,
    watch: boolean,
    onResponse: (res: IncomingMessage) => void,
  ): ClientRequest {
    const t = this.transport;
    return t.request(
      {
        agent: watch ? t.watchAgent : t.agent,
        host: t.host,
        port: t.port,
        servername: t.servername,
        method,
        path: t.basePath + path + encodeQuery(query),
        headers,
        signal,
      },
      onResponse,
    );
  }

  /** Releases pooled connections (open watches end). */
  close(): void {
    this.transport.close();
  }
}

/** "?a=1&b=x&b=y", skipping undefined/null/"" values. */
export function encodeQuery(q: QueryParams | undefined): string {
  if (!q) return '';
  let out = '';
  for (const k in q) {
    const v = q[k];
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      for (const x of v) out += `${out ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(x)}`;
    } else out += `${out ? '&' : '?'}${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`;
  }
  return out;
}

function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a;
}

export { ApiStatusError };
