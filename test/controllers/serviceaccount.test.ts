// ServiceAccount controller: a "default" ServiceAccount in every namespace, recreated when deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client, EventRecorder, SharedInformerFactory, type KObject } from '../../src/client/index.js';
import { DEFAULT_CONTROLLER_OPTIONS, type Controller, type ControllerContext, type ControllerOptions } from '../../src/controllers/types.js';

interface Env {
  api: ApiServer;
  client: Client;
  /** Runs more controllers (own informers) against the same server; resolves to their stop(). */
  run(controllers: Controller[], options?: Partial<ControllerOptions>): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

async function startEnv(controllers: Controller[], options: Partial<ControllerOptions> = {}): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-ctl-'));
  const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  const client = new Client({ inProcess: { connect: (u) => api.connect(u), user: { name: 'system:admin', groups: ['system:masters'] } }, component: 'skiff-test', qps: 0 });
  const stops: Array<() => Promise<void>> = [];
  const run = async (list: Controller[], opts: Partial<ControllerOptions> = {}) => {
    const informers = new SharedInformerFactory(client);
    const recorders: EventRecorder[] = [];
    const abort = new AbortController();
    const ctx: ControllerContext = {
      client,
      informers,
      recorder: (name) => {
        const r = new EventRecorder({ client, reportingController: name, reportingInstance: name, flushIntervalMs: 20 });
        recorders.push(r);
        return r;
      },
      signal: abort.signal,
      options: { ...DEFAULT_CONTROLLER_OPTIONS, workers: 2, ...opts },
    };
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    const runs = list.map((c) => c.run(ctx, ready));
    informers.start();
    await informers.waitForCacheSync();
    markReady();
    let stopped: Promise<void> | undefined;
    const stop = () =>
      (stopped ??= (async () => {
        abort.abort();
        await Promise.all(runs);
        informers.stop();
        for (const r of recorders) await r.stop();
      })());
    stops.push(stop);
    return stop;
  };
  await run(controllers, options);
  return {
    api,
    client,
    run,
    async close() {
      for (const s of stops) await s();
      client.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitFor<T>(cond: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
import { ServiceAccountsController } from '../../src/controllers/serviceaccount/controller.js';

let env: Env;
before(async () => {
  env = await startEnv([new ServiceAccountsController()]);
});
after(async () => {
  await env.close();
});

async function sa(ns: string): Promise<KObject | undefined> {
  try {
    return await env.client.serviceAccounts.get(ns, 'default');
  } catch {
    return undefined;
  }
}

test('bootstrap namespaces get a default ServiceAccount', async () => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) await waitFor(() => sa(ns), 10_000, `default SA in ${ns}`);
});

test('a new namespace gets a default ServiceAccount, recreated after deletion', async () => {
  await env.client.namespaces.create(null, { metadata: { name: 'sa-test' } });
  const first = await waitFor(() => sa('sa-test'), 10_000, 'default SA');
  assert.equal(first.metadata!.name, 'default');
  await env.client.serviceAccounts.delete('sa-test', 'default');
  const second = await waitFor(async () => {
    const s = await sa('sa-test');
    return s && s.metadata!.uid !== first.metadata!.uid && s;
  }, 10_000, 'recreated SA');
  assert.equal(second.metadata!.namespace, 'sa-test');
  // Other ServiceAccounts are not the controller's business.
  await env.client.serviceAccounts.create('sa-test', { metadata: { name: 'builder' } });
  await env.client.serviceAccounts.delete('sa-test', 'builder');
  await new Promise((r) => setTimeout(r, 200));
  await assert.rejects(env.client.serviceAccounts.get('sa-test', 'builder'));
});

test('a terminating namespace gets no new ServiceAccount', async () => {
  await env.client.namespaces.create(null, { metadata: { name: 'sa-gone' } });
  await waitFor(() => sa('sa-gone'), 10_000, 'default SA');
  // No namespace controller runs here, so the namespace stays Terminating.
  await env.client.namespaces.delete(null, 'sa-gone');
  await env.client.serviceAccounts.delete('sa-gone', 'default').catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await sa('sa-gone'), undefined);
});
