// ServiceAccount controller: a "default" ServiceAccount in every namespace, recreated when deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/client/index.js';
import { startControllerEnv as startEnv, waitForIgnoringErrors as waitFor, type ControllerEnv as Env } from './harness.js';
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
