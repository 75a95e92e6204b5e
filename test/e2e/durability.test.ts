// Durability: 16 clients create configmaps while the server is killed with SIGKILL; after a
// restart on the same data dir every acknowledged (201) write is there, with consistent
// resourceVersions.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, credentials, makeClient, namespace, sleep } from './util.js';

const NS = 'dur';
const WORKERS = 16;

interface Ack {
  name: string;
  uid: string;
  rv: number;
}

describe('durability across kill -9', () => {
  let dataDir: string;
  let s: TestServer | undefined;
  before(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'skiff-e2e-dur-'));
  });
  after(async () => {
    await s?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('every acknowledged create survives; resourceVersions stay consistent', async () => {
    s = await startServer({ dataDir, apiOnly: true });
    let http = makeClient(credentials(s.kubeconfig), { maxSockets: WORKERS });
    const ns = await http.request('POST', '/api/v1/namespaces', JSON.stringify(namespace(NS)));
    assert.equal(ns.status, 201, ns.text);

    const acks: Ack[] = [];
    let failures = 0;
    let stop = false;
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const name = `w${w}-${i}`;
        try {
          const r = await http.request('POST', `/api/v1/namespaces/${NS}/configmaps`, JSON.stringify(configMap(name, NS, { w: String(w), i: String(i) })));
          if (r.status !== 201) throw new Error(`${r.status} ${r.text}`);
          const o = r.json();
          acks.push({ name, uid: o.metadata.uid, rv: Number(o.metadata.resourceVersion) });
        } catch {
          failures++;
          return; // the server is gone
        }
      }
    });
    // Let writes flow, then kill the server while they are in flight.
    const deadline = Date.now() + 15_000;
    while (acks.length < 600 && failures === 0 && Date.now() < deadline) await sleep(10);
    assert.equal(failures, 0, 'no write failed before the kill');
    await s.kill9();
    stop = true;
    await Promise.all(workers);
    http.close();
    assert.ok(failures > 0, 'some writes were in flight at the kill');
    assert.ok(acks.length >= 600);

    s = await startServer({ dataDir, apiOnly: true });
    http = makeClient(credentials(s.kubeconfig));
    try {
      const list = await http.request('GET', `/api/v1/namespaces/${NS}/configmaps`);
      assert.equal(list.status, 200, list.text);
      const body = list.json();
      const listRv = Number(body.metadata.resourceVersion);
      const byName = new Map<string, any>(body.items.map((o: any) => [o.metadata.name, o]));
      for (const a of acks) {
        const o = byName.get(a.name);
        assert.ok(o, `acknowledged ${a.name} (rv ${a.rv}) is missing after restart`);
        assert.equal(o.metadata.uid, a.uid);
        assert.equal(Number(o.metadata.resourceVersion), a.rv, `${a.name} keeps its resourceVersion`);
        assert.ok(a.rv <= listRv, `${a.name} rv ${a.rv} > list rv ${listRv}`);
      }
      const rvs = body.items.map((o: any) => Number(o.metadata.resourceVersion));
      assert.equal(new Set(rvs).size, rvs.length, 'no two objects share a resourceVersion');
      assert.ok(rvs.every((rv: number) => rv <= listRv));
      // Unacknowledged writes may or may not have landed, but no more than were attempted.
      assert.ok(body.items.length <= acks.length + failures);

      const fresh = await http.request('POST', `/api/v1/namespaces/${NS}/configmaps`, JSON.stringify(configMap('after-restart', NS)));
      assert.equal(fresh.status, 201, fresh.text);
      const freshRv = Number(fresh.json().metadata.resourceVersion);
      assert.ok(freshRv > listRv, `new write rv ${freshRv} > list rv ${listRv}`);
      assert.ok(freshRv > Math.max(...acks.map((a) => a.rv)));

      // kubectl sees the same state.
      const count = (await s.k('get', 'configmaps', '-n', NS, '-o', 'name')).trim().split('\n').length;
      assert.equal(count, body.items.length + 1);
    } finally {
      http.close();
    }
  });
});
