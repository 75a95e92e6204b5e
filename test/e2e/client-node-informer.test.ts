// @kubernetes/client-node against the server: typed API calls, and an informer that sees
// add/update/delete, then survives a 410 Gone (its resourceVersion left the watch window) by relisting.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, createObjects, credentials, makeClient, namespace, waitUntil } from './util.js';

const NS = 'inf';
/** The watch cache keeps this many events per resource (src/apiserver/watch-cache.ts). */
const EVENT_WINDOW = 10_000;

describe('@kubernetes/client-node informer', () => {
  let s: TestServer;
  let kc: k8s.KubeConfig;
  let api: k8s.CoreV1Api;
  before(async () => {
    s = await startServer({ apiOnly: true });
    await createObjects(s, namespace(NS), namespace('churn'));
    kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    api = kc.makeApiClient(k8s.CoreV1Api);
  });
  after(async () => {
    await s?.stop();
  });

  it('typed client: create, read, replace with a stale resourceVersion (409), delete', async () => {
    const created = await api.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'typed' }, data: { a: '1' } } });
    assert.equal(created.metadata?.namespace, NS);
    assert.match(created.metadata?.uid ?? '', /^[0-9a-f-]{36}$/);
    const read = await api.readNamespacedConfigMap({ namespace: NS, name: 'typed' });
    assert.deepEqual(read.data, { a: '1' });
    await api.replaceNamespacedConfigMap({ namespace: NS, name: 'typed', body: { ...read, data: { a: '2' } } });
    await assert.rejects(
      api.replaceNamespacedConfigMap({ namespace: NS, name: 'typed', body: { ...read, data: { a: '3' } } }),
      (e: any) => e.code === 409 && /the object has been modified/.test(String(e.body)),
    );
    await api.deleteNamespacedConfigMap({ namespace: NS, name: 'typed' });
    await assert.rejects(api.readNamespacedConfigMap({ namespace: NS, name: 'typed' }), (e: any) => e.code === 404);
  });

  it('makeInformer sees add/update/delete, then relists after 410 Gone and converges', async () => {
    let lists = 0;
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${NS}/configmaps`, () => {
      lists++;
      return api.listNamespacedConfigMap({ namespace: NS });
    });
    const events: string[] = [];
    const errors: unknown[] = [];
    let paused = false;
    informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
    informer.on('update', (o) => events.push(`update ${o.metadata?.name} ${JSON.stringify(o.data)}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
    informer.on('error', (e) => {
      if (paused) return; // the abort from our own stop()
      errors.push(e);
    });
    const http = makeClient(credentials(s.kubeconfig), { maxSockets: 16 });
    try {
      await createObjects(s, configMap('before', NS, { v: '0' }));
      await informer.start();
      await waitUntil(() => events.includes('add before'), 'initial list');
      assert.equal(lists, 1);

      // Live add/update/delete through the watch.
      await api.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'live' }, data: { v: '1' } } });
      await waitUntil(() => events.includes('add live'), 'ADDED');
      await api.patchNamespacedConfigMap({ namespace: NS, name: 'live', body: { data: { v: '2' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await waitUntil(() => events.includes('update live {"v":"2"}'), 'MODIFIED');
      await api.deleteNamespacedConfigMap({ namespace: NS, name: 'before' });
      await waitUntil(() => events.includes('delete before'), 'DELETED');
      assert.deepEqual(informer.list(NS).map((o) => o.metadata?.name), ['live']);
      const seenRv = Number((informer as unknown as k8s.ListWatch<k8s.V1ConfigMap>).latestResourceVersion());
      assert.ok(seenRv > 0);

      // Disconnect the informer, then change the namespace and push more than a window of
      // configmap events (in another namespace) so its resourceVersion is no longer served.
      paused = true;
      await informer.stop();
      await api.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'while-away' }, data: { v: 'new' } } });
      await api.patchNamespacedConfigMap({ namespace: NS, name: 'live', body: { data: { v: '3' } } }, k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch));
      await churn(http, EVENT_WINDOW + 50);
      await api.deleteNamespacedConfigMap({ namespace: NS, name: 'live' });

      // The server really answers 410 for the informer's resourceVersion.
      const gone = await http.request('GET', `/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${seenRv}`);
      const frame = JSON.parse(gone.text.trim().split('\n')[0]);
      assert.equal(frame.type, 'ERROR');
      assert.equal(frame.object.code, 410);
      assert.equal(frame.object.reason, 'Expired');

      paused = false;
      await informer.start();
      await waitUntil(() => lists === 2, 'a relist after 410', 10_000);
      await waitUntil(() => events.includes('delete live') && events.includes('add while-away'), `convergence (events: ${events.join('; ')})`);
      assert.deepEqual(informer.list(NS).map((o) => o.metadata?.name), ['while-away']);
      assert.deepEqual(informer.get('while-away', NS)?.data, { v: 'new' });

      // And it keeps watching after the relist.
      await api.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'after' }, data: {} } });
      await waitUntil(() => events.includes('add after'), 'ADDED after relist');
      assert.deepEqual(errors, []);
    } finally {
      paused = true;
      await informer.stop();
      http.close();
    }
  });
});

/** Writes n configmap updates in namespace "churn" from 16 parallel clients. */
async function churn(http: ReturnType<typeof makeClient>, n: number): Promise<void> {
  const workers = 16;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const name = `churn-${w}`;
      const created = await http.request('POST', '/api/v1/namespaces/churn/configmaps', JSON.stringify(configMap(name, 'churn', { i: '0' })));
      assert.equal(created.status, 201, created.text);
      for (let i = 1; i < Math.ceil(n / workers); i++) {
        const r = await http.request('PATCH', `/api/v1/namespaces/churn/configmaps/${name}`, JSON.stringify({ data: { i: String(i) } }), {
          'Content-Type': 'application/merge-patch+json',
        });
        assert.equal(r.status, 200, r.text);
      }
    }),
  );
}
