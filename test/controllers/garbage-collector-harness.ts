// Shared setup of the namespace, garbage collector and pod GC tests: a real API server in this
// process and the given controllers run directly with a ControllerContext built here (shared
// informers, event recorders), plus kubectl against the same server.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { writeKubeconfig } from '../../src/pki/index.js';
import { Client, EventRecorder, SharedInformerFactory, setClientLogger } from '../../src/client/index.js';
import { DEFAULT_CONTROLLER_OPTIONS, type Controller, type ControllerContext, type ControllerOptions } from '../../src/controllers/types.js';

export interface Env {
  api: ApiServer;
  /** An admin client for the test's own requests. */
  client: Client;
  kubeconfig: string;
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  close(): Promise<void>;
}

export async function startEnv(controllers: Controller[], options: Partial<ControllerOptions> = {}): Promise<Env> {
  setClientLogger((level, msg) => {
    if (level === 'error') process.stderr.write(`client ${level}: ${msg}\n`);
  });
  const dir = mkdtempSync(join(tmpdir(), 'skiff-gc-'));
  const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, { server: api.url, caPem: api.pki.serverCaCertPem, certPem: api.pki.adminCertPem, keyPem: api.pki.adminKeyPem });
  const connect = (u: any) => api.connect(u);
  const client = new Client({ inProcess: { connect, user: { name: 'system:admin', groups: ['system:masters'] } }, component: 'skiff-test', qps: 0 });
  const cmClient = new Client({
    inProcess: { connect, user: { name: 'system:kube-controller-manager', groups: ['system:authenticated'] } },
    component: 'kube-controller-manager',
    qps: 0,
  });
  const informers = new SharedInformerFactory(cmClient);
  const recorders = new Map<string, EventRecorder>();
  const abort = new AbortController();
  const ctx: ControllerContext = {
    client: cmClient,
    informers,
    signal: abort.signal,
    options: { ...DEFAULT_CONTROLLER_OPTIONS, ...options },
    recorder(name) {
      let r = recorders.get(name);
      if (!r) recorders.set(name, (r = new EventRecorder({ client: cmClient, reportingController: name, reportingInstance: `${name}-test`, flushIntervalMs: 50 })));
      return r;
    },
  };
  let markReady!: () => void;
  const ready = new Promise<void>((r) => (markReady = r));
  const runs = controllers.map((c) => c.run(ctx, ready));
  await new Promise((r) => setImmediate(r));
  informers.start();
  await informers.waitForCacheSync(abort.signal);
  markReady();

  return {
    api,
    client,
    kubeconfig,
    kubectl(...args) {
      return new Promise((resolve) => {
        execFile('kubectl', ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
          resolve({ code: err ? ((err as any).code ?? 1) : 0, stdout, stderr });
        });
      });
    },
    async close() {
      abort.abort();
      await Promise.all(runs);
      informers.stop();
      await Promise.all([...recorders.values()].map((r) => r.stop()));
      cmClient.close();
      client.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls cond until it holds (returns its value) or throws after timeoutMs. */
export async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves true once GET of the object returns 404. */
export async function gone(get: () => Promise<unknown>): Promise<boolean> {
  try {
    await get();
    return false;
  } catch (e) {
    if ((e as any)?.code === 404) return true;
    throw e;
  }
}

export const podSpec = { containers: [{ name: 'app', image: 'nginx:1.25' }] };
