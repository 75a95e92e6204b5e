// Malformed and hostile requests over raw HTTPS: each gets a Status with the right code and
// reason, and nothing is stored.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, credentials, makeClient, namespace, type RawResponse } from './util.js';

const NS = 'bad';
const CMS = `/api/v1/namespaces/${NS}/configmaps`;

describe('bad input over HTTPS', () => {
  let s: TestServer;
  let http: ReturnType<typeof makeClient>;
  before(async () => {
    s = await startServer({ apiOnly: true });
    http = makeClient(credentials(s.kubeconfig));
    const r = await http.request('POST', '/api/v1/namespaces', JSON.stringify(namespace(NS)));
    assert.equal(r.status, 201, r.text);
  });
  after(async () => {
    http?.close();
    await s?.stop();
  });

  function assertStatus(r: RawResponse, code: number, reason: string): any {
    assert.equal(r.status, code, r.text);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    const st = r.json();
    assert.equal(st.kind, 'Status');
    assert.equal(st.apiVersion, 'v1');
    assert.equal(st.status, 'Failure');
    assert.equal(st.code, code);
    assert.equal(st.reason, reason);
    assert.equal(typeof st.message, 'string');
    return st;
  }

  async function assertNothingStored(): Promise<void> {
    const r = await http.request('GET', CMS);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json().items.map((o: any) => o.metadata.name), []);
  }

  it('malformed JSON → 400 BadRequest', async () => {
    assertStatus(await http.request('POST', CMS, '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"'), 400, 'BadRequest');
    assertStatus(await http.request('POST', CMS, 'not json at all'), 400, 'BadRequest');
    assertStatus(await http.request('POST', CMS, '[1,2,3]'), 400, 'BadRequest');
    assertStatus(await http.request('POST', CMS, ''), 400, 'BadRequest');
    await assertNothingStored();
  });

  it('malformed YAML (application/yaml) → 400 BadRequest', async () => {
    const yaml = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n   bad: [indent\n';
    assertStatus(await http.request('POST', CMS, yaml, { 'Content-Type': 'application/yaml' }), 400, 'BadRequest');
    // Well-formed YAML is accepted.
    const ok = await http.request('POST', CMS, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good-yaml\n', { 'Content-Type': 'application/yaml' });
    assert.equal(ok.status, 201, ok.text);
    assert.equal((await http.request('DELETE', `${CMS}/good-yaml`)).status, 200);
    await assertNothingStored();
  });

  it('unsupported media type → 415', async () => {
    assertStatus(await http.request('POST', CMS, 'x', { 'Content-Type': 'text/plain' }), 415, 'UnsupportedMediaType');
    await assertNothingStored();
  });

  it('wrong apiVersion or kind for the URL → 400 BadRequest', async () => {
    const body = (o: object) => JSON.stringify({ ...configMap('wrong', NS), ...o });
    assertStatus(await http.request('POST', CMS, body({ kind: 'Secret' })), 400, 'BadRequest');
    assertStatus(await http.request('POST', CMS, body({ apiVersion: 'apps/v1' })), 400, 'BadRequest');
    assertStatus(await http.request('POST', CMS, body({ apiVersion: 'v2' })), 400, 'BadRequest');
    assertStatus(await http.request('POST', `/apis/apps/v1/namespaces/${NS}/deployments`, body({})), 400, 'BadRequest');
    await assertNothingStored();
  });

  it('namespace in the body differs from the URL → 400 BadRequest', async () => {
    const st = assertStatus(await http.request('POST', CMS, JSON.stringify(configMap('elsewhere', 'default'))), 400, 'BadRequest');
    assert.match(st.message, /the namespace of the provided object does not match the namespace sent on the request/);
    await assertNothingStored();
  });

  it('body larger than 3 MiB → 413 RequestEntityTooLarge', async () => {
    const big = JSON.stringify(configMap('huge', NS, { blob: 'x'.repeat(3 * 1024 * 1024 + 10) }));
    assertStatus(await http.request('POST', CMS, big), 413, 'RequestEntityTooLarge');
    await assertNothingStored();
    // The connection (or a new one) still works.
    assert.equal((await http.request('GET', CMS)).status, 200);
  });

  it('names that are not DNS-1123 → 422 Invalid with a metadata.name cause', async () => {
    for (const name of ['UPPER', 'under_score', '-leading', 'trailing-', 'a'.repeat(254), 'dots..double']) {
      const st = assertStatus(await http.request('POST', CMS, JSON.stringify(configMap(name, NS))), 422, 'Invalid');
      assert.equal(st.details.kind, 'ConfigMap');
      assert.ok(st.details.causes.some((c: any) => c.field === 'metadata.name'), JSON.stringify(st.details));
    }
    // Pods and services are stricter (DNS-1123 label / DNS-1035 label).
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'has.dot' }, spec: { ports: [{ port: 80 }] } };
    const st = assertStatus(await http.request('POST', `/api/v1/namespaces/${NS}/services`, JSON.stringify(svc)), 422, 'Invalid');
    assert.ok(st.details.causes.some((c: any) => c.field === 'metadata.name'));
    const noName = assertStatus(await http.request('POST', CMS, JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: {} })), 422, 'Invalid');
    assert.ok(noName.details.causes.some((c: any) => c.field === 'metadata.name'));
    await assertNothingStored();
  });

  it('?resourceVersion=abc on a list → 400', async () => {
    assertStatus(await http.request('GET', `${CMS}?resourceVersion=abc`), 400, 'BadRequest');
    assertStatus(await http.request('GET', `${CMS}?watch=true&resourceVersion=abc`), 400, 'BadRequest');
  });

  it('?limit=-1 and a garbage continue token → 400', async () => {
    assertStatus(await http.request('GET', `${CMS}?limit=-1`), 400, 'BadRequest');
    assertStatus(await http.request('GET', `${CMS}?limit=2&continue=garbage`), 400, 'BadRequest');
  });

  it('bad selectors → 400', async () => {
    assertStatus(await http.request('GET', `${CMS}?labelSelector=${encodeURIComponent('a in (')}`), 400, 'BadRequest');
    assertStatus(await http.request('GET', `/api/v1/pods?fieldSelector=${encodeURIComponent('spec.bogus=1')}`), 400, 'BadRequest');
  });

  it('unknown paths and methods', async () => {
    assertStatus(await http.request('GET', '/api/v1/flibbertigibbets'), 404, 'NotFound');
    assertStatus(await http.request('GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
    assertStatus(await http.request('PUT', CMS, '{}'), 405, 'MethodNotAllowed');
  });

  it('updates: name mismatch with the URL, missing object, bad patch bodies', async () => {
    const created = await http.request('POST', CMS, JSON.stringify(configMap('target', NS, { a: '1' })));
    assert.equal(created.status, 201);
    const obj = created.json();
    assertStatus(await http.request('PUT', `${CMS}/target`, JSON.stringify({ ...obj, metadata: { ...obj.metadata, name: 'other' } })), 400, 'BadRequest');
    assertStatus(await http.request('PUT', `${CMS}/missing`, JSON.stringify(configMap('missing', NS))), 404, 'NotFound');
    assertStatus(await http.request('PATCH', `${CMS}/target`, '{not json', { 'Content-Type': 'application/merge-patch+json' }), 400, 'BadRequest');
    assertStatus(await http.request('PATCH', `${CMS}/target`, '{"data":{"a":"2"}}', { 'Content-Type': 'application/json' }), 415, 'UnsupportedMediaType');
    assertStatus(await http.request('PATCH', `${CMS}/target`, '[{"op":"replace","path":"/data/nope/deeper","value":1}]', { 'Content-Type': 'application/json-patch+json' }), 422, 'Invalid');
    const after = await http.request('GET', `${CMS}/target`);
    assert.deepEqual(after.json().data, { a: '1' });
    assert.equal(after.json().metadata.resourceVersion, obj.metadata.resourceVersion, 'nothing was written');
    assert.equal((await http.request('DELETE', `${CMS}/target`)).status, 200);
    await assertNothingStored();
  });

  it('requests without a client certificate → 401 Unauthorized Status', async () => {
    const c = credentials(s.kubeconfig);
    const anon = makeClient({ ...c, cert: undefined as any, key: undefined as any });
    try {
      assertStatus(await anon.request('GET', CMS), 401, 'Unauthorized');
    } finally {
      anon.close();
    }
  });
});
