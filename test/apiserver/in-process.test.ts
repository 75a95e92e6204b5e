// The in-process transport serves requests through the full handler chain without TCP or TLS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';

let api: ApiServer;
let dir: string;
let agent: http.Agent;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-inproc-'));
  api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  agent = new http.Agent({ keepAlive: true });
  (agent as any).createConnection = () => api.connect({ name: 'system:kube-scheduler', groups: ['system:authenticated'] });
});
after(async () => {
  agent.destroy();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

test('in-process requests reuse one connection and pass validation', async () => {
  const ns = await request('GET', '/api/v1/namespaces');
  assert.equal(ns.status, 200);
  assert.deepEqual(ns.body.items.map((n: any) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  const created = await request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'c1' }, data: { a: 'b' } });
  assert.equal(created.status, 201);
  const bad = await request('POST', '/api/v1/namespaces/default/configmaps', { metadata: { name: 'Not_Valid' } });
  assert.equal(bad.status, 422);
  assert.equal(bad.body.reason, 'Invalid');
  for (let i = 0; i < 50; i++) assert.equal((await request('GET', '/api/v1/namespaces/default/configmaps/c1')).status, 200);
});
