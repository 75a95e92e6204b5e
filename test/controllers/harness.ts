// Shared pieces of the controller tests: a real API server in this process with an admin client
// (startTestApi), controllers run with a hand-built ControllerContext (runControllers), the
// two together (startControllerEnv), and polling helpers.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { writeKubeconfig } from '../../src/pki/index.js';
import { Client, EventRecorder, SharedInformerFactory, setClientLogger } from '../../src/client/index.js';
import { DEFAULT_CONTROLLER_OPTIONS, type Controller, type ControllerContext, type ControllerOptions } from '../../src/controllers/types.js';

export const ADMIN_USER = { name: 'system:admin', groups: ['system:masters'] };

export interface TestApi {
  api: ApiServer;
  /** An admin client for the test's own requests. */
  client: Client;
  /** Path of an admin kubeconfig (written only with `kubeconfig: true`). */
  kubeconfig: string;
  /** Another in-process client; closed by close() before the admin client. */
  newClient(user: { name: string; groups: string[] }, component: string): Client;
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Closes the clients and the server and removes the data directory. */
  close(): Promise<void>;
}

export interface TestApiOptions {
  /** Prefix of the temporary data directory. */
  dirPrefix?: string;
  /** Write an admin kubeconfig for kubectl. */
  kubeconfig?: boolean;
  kubectlTimeoutMs?: number;
  /** Log only client errors (to stderr) instead of the default client logger. */
  quietClient?: boolean;
}

export async function startTestApi(opts: TestApiOptions = {}): Promise<TestApi> {
  if (opts.quietClient) {
    setClientLogger((level, msg) => {
      if (level === 'error') process.stderr.write(`client ${level}: ${msg}\n`);
    });
  }
  const dir = mkdtempSync(join(tmpdir(), opts.dirPrefix ?? 'skiff-ctl-'));
  const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  const kubeconfig = join(dir, 'admin.kubeconfig');
  if (opts.kubeconfig) writeKubeconfig(kubeconfig, { server: api.url, caPem: api.pki.serverCaCertPem, certPem: api.pki.adminCertPem, keyPem: api.pki.adminKeyPem });
  const clients: Client[] = [];
  const newClient = (user: { name: string; groups: string[] }, component: string) => {
    const c = new Client({ inProcess: { connect: (u) => api.connect(u), user }, component, qps: 0 });
    clients.push(c);
    return c;
  };
  const client = newClient(ADMIN_USER, 'skiff-test');
  return {
    api,
    client,
    kubeconfig,
    newClient,
    kubectl(...args) {
      return new Promise((resolve) => {
        execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: opts.kubectlTimeoutMs ?? 20_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
        });
      });
    },
    async close() {
      for (const c of [...clients].reverse()) c.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RunOptions {
  /** Merged over DEFAULT_CONTROLLER_OPTIONS. */
  options?: Partial<ControllerOptions>;
  /** reportingInstance = controller name + this suffix. */
  instanceSuffix?: string;
  /** EventRecorder flush interval (its own default when unset). */
  recorderFlushMs?: number;
  /** One recorder per controller name instead of one per recorder() call. */
  reuseRecorders?: boolean;
  /** Let the controllers register their informers for a tick before the factory starts. */
  yieldBeforeStart?: boolean;
}

export interface RunningControllers {
  informers: SharedInformerFactory;
  recorders: EventRecorder[];
  /** Idempotent: aborts the controllers, waits for them, stops informers and recorders. */
  stop(): Promise<void>;
}

/** Runs controllers with their own informer factory; resolves once the caches synced. */
export async function runControllers(client: Client, controllers: Controller[], opts: RunOptions = {}): Promise<RunningControllers> {
  const informers = new SharedInformerFactory(client);
  const recorders: EventRecorder[] = [];
  const byName = new Map<string, EventRecorder>();
  const abort = new AbortController();
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: (name) => {
      const existing = opts.reuseRecorders ? byName.get(name) : undefined;
      if (existing) return existing;
      const r = new EventRecorder({ client, reportingController: name, reportingInstance: `${name}${opts.instanceSuffix ?? ''}`, flushIntervalMs: opts.recorderFlushMs });
      recorders.push(r);
      byName.set(name, r);
      return r;
    },
    signal: abort.signal,
    options: { ...DEFAULT_CONTROLLER_OPTIONS, ...opts.options },
  };
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const runs = controllers.map((c) => c.run(ctx, ready));
  if (opts.yieldBeforeStart) await new Promise((r) => setImmediate(r));
  informers.start();
  await informers.waitForCacheSync(abort.signal);
  markReady();
  let stopped: Promise<void> | undefined;
  return {
    informers,
    recorders,
    stop: () =>
      (stopped ??= (async () => {
        abort.abort();
        await Promise.all(runs);
        informers.stop();
        await Promise.all(recorders.map((r) => r.stop()));
      })()),
  };
}

export interface ControllerEnv {
  api: ApiServer;
  client: Client;
  /** Runs more controllers (own informers) against the same server; resolves to their stop(). */
  run(controllers: Controller[], options?: Partial<ControllerOptions>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * A server plus the given controllers run by the admin client with 2 workers; `options` are
 * controller options, `recorderFlushMs` the event flush interval (20 ms unless given).
 */
export async function startControllerEnv(
  controllers: Controller[],
  options: Partial<ControllerOptions> = {},
  env: { dirPrefix?: string; recorderFlushMs?: number } = {},
): Promise<ControllerEnv> {
  const t = await startTestApi({ dirPrefix: env.dirPrefix });
  const stops: Array<() => Promise<void>> = [];
  const run = async (list: Controller[], opts: Partial<ControllerOptions> = {}) => {
    const running = await runControllers(t.client, list, { options: { workers: 2, ...opts }, recorderFlushMs: env.recorderFlushMs ?? 20 });
    stops.push(running.stop);
    return running.stop;
  };
  await run(controllers, options);
  return {
    api: t.api,
    client: t.client,
    run,
    async close() {
      for (const s of stops) await s();
      await t.close();
    },
  };
}

type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Polls cond every 20 ms until it holds (returns its value) or throws after timeoutMs; errors from cond propagate. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Truthy<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Like waitFor, but polls every 25 ms and treats a throwing cond as not yet (its last error is in the timeout message). */
export async function waitForIgnoringErrors<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<Truthy<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Truthy<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
