// TokenRequest issues bound tokens; the authenticator accepts them only while what they are bound to lives.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client } from '../../src/client/index.js';

let api: ApiServer;
let dir: string;
let client: Client;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'skiff-sat-'));
  api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  client = new Client({ inProcess: { connect: (u) => api.connect(u), user: { name: 'admin', groups: ['system:masters'] } } });
});
after(async () => {
  client.close();
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

function getWithToken(path: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get({ host: '127.0.0.1', port: api.port, path, rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
}

async function token(sa: string, spec: Record<string, unknown> = {}): Promise<any> {
  return client.rest.request('POST', `/api/v1/namespaces/default/serviceaccounts/${sa}/token`, {
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec },
  });
}

test('a token authenticates as its service account until the account is deleted', async () => {
  await client.serviceAccounts.create('default', { metadata: { name: 'robot' } });
  const tr = await token('robot');
  assert.equal(tr.kind, 'TokenRequest');
  assert.equal(tr.spec.expirationSeconds, 3600);
  const claims = JSON.parse(Buffer.from(tr.status.token.split('.')[1], 'base64url').toString());
  assert.equal(claims.sub, 'system:serviceaccount:default:robot');
  assert.equal(await getWithToken('/api/v1/namespaces', tr.status.token), 200);
  assert.equal(await getWithToken('/api/v1/namespaces', tr.status.token.slice(0, -4) + 'AAAA'), 401);
  await client.serviceAccounts.delete('default', 'robot');
  assert.equal(await getWithToken('/api/v1/namespaces', tr.status.token), 401);
});

test('pod-bound tokens die with the pod; audiences must match; short expiry is rejected', async () => {
  await client.serviceAccounts.create('default', { metadata: { name: 'bot' } });
  const pod = await client.pods.create('default', { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } });
  const bound = await token('bot', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p', uid: pod.metadata!.uid } });
  assert.equal(await getWithToken('/api/v1/namespaces', bound.status.token), 200);
  const other = await token('bot', { audiences: ['vault'] });
  assert.equal(await getWithToken('/api/v1/namespaces', other.status.token), 401);
  await assert.rejects(token('bot', { expirationSeconds: 60 }), /may not specify a duration less than 10 minutes/);
  await client.pods.delete('default', 'p', { gracePeriodSeconds: 0 });
  assert.equal(await getWithToken('/api/v1/namespaces', bound.status.token), 401);
});
