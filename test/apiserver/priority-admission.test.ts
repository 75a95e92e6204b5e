// Priority admission: class values, the global default, unknown classes refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client } from '../../src/client/index.js';

let api: ApiServer;
let dir: string;
let client: Client;
const pod = (name: string, spec: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { containers: [{ name: 'c', image: 'i' }], ...spec } });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-prio-'));
  api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  client = new Client({ inProcess: { connect: (u) => api.connect(u), user: { name: 'admin', groups: ['system:masters'] } } });
});
after(async () => {
  client.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

test('priorityClassName sets priority and preemptionPolicy; unknown classes are refused', async () => {
  await client.priorityClasses.create(undefined, { metadata: { name: 'high' }, value: 1000, preemptionPolicy: 'Never' });
  const p = await client.pods.create('default', pod('a', { priorityClassName: 'high' }));
  assert.equal(p.spec.priority, 1000);
  assert.equal(p.spec.preemptionPolicy, 'Never');
  await assert.rejects(client.pods.create('default', pod('b', { priorityClassName: 'nope' })), /no PriorityClass with name nope was found/);
  const sys = await client.pods.create('default', pod('c', { priorityClassName: 'system-node-critical' }));
  assert.equal(sys.spec.priority, 2000001000);
});

test('the global default class applies to pods without a class', async () => {
  const before = await client.pods.create('default', pod('d'));
  assert.equal(before.spec.priority, 0);
  await client.priorityClasses.create(undefined, { metadata: { name: 'default-prio' }, value: 7, globalDefault: true });
  const p = await client.pods.create('default', pod('e'));
  assert.equal(p.spec.priorityClassName, 'default-prio');
  assert.equal(p.spec.priority, 7);
});
