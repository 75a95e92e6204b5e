// Join tokens, the node-join endpoints (mounted next to a real in-process API server) and the
// agent's credential handling: pinning, rejection messages, reuse and re-join.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { ensureJoinToken, type NodeJoinDeps } from '../../src/apiserver/node-join.js';
import { caHash, formatJoinToken, parseJoinToken, secretsEqual } from '../../src/agent/join-token.js';
import { createKeyAndCsr } from '../../src/agent/csr.js';
import { AGENT_FILES, CA_MISMATCH, TOKEN_REJECTED, ensureAgentCredentials } from '../../src/agent/index.js';
import { CACERTS_PATH, NODE_CREDENTIALS_PATH } from '../../src/agent/join-protocol.js';
import { Client } from '../../src/client/index.js';
import { x509 } from '../../src/pki/x509.js';
import { subjectAltNames } from '../../src/pki/certs.js';
import { freePort } from '../helpers/cluster.js';
import { startJoinFront, type JoinFront } from './join-front.js';

const CA_A = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';

describe('join tokens', () => {
  it('formats and parses K10 tokens', () => {
    const t = formatJoinToken(CA_A, 's3cret');
    assert.match(t, /^K10[0-9a-f]{64}::server:s3cret$/);
    assert.deepEqual(parseJoinToken(t), { caHash: caHash(CA_A), user: 'server', secret: 's3cret' });
    assert.deepEqual(parseJoinToken(`  ${t}\n`), parseJoinToken(t));
    // A secret may itself contain colons: only the first one separates the user.
    assert.equal(parseJoinToken(formatJoinToken(CA_A, 'a:b')).secret, 'a:b');
  });

  it('accepts bare secrets without a CA hash', () => {
    assert.deepEqual(parseJoinToken('plainsecret'), { secret: 'plainsecret' });
  });

  it('rejects malformed tokens', () => {
    assert.throws(() => parseJoinToken('K10abc::server:x'), /CA hash/);
    assert.throws(() => parseJoinToken(`K10${'a'.repeat(64)}`), /expected K10/);
    assert.throws(() => parseJoinToken(`K10${'a'.repeat(64)}::server:`), /secret/);
    assert.throws(() => parseJoinToken(''), /empty/);
    assert.throws(() => parseJoinToken('two words'), /whitespace/);
  });

  it('compares secrets in constant time', () => {
    assert.equal(secretsEqual('abc', 'abc'), true);
    assert.equal(secretsEqual('abc', 'abd'), false);
    assert.equal(secretsEqual('abc', 'abcd'), false);
  });
});

describe('node join', () => {
  let dir: string;
  let agentRoot: string;
  let api: ApiServer;
  let front: JoinFront;
  let token: string;
  let nodeExists: (name: string) => boolean = () => true;
  const deps = (): NodeJoinDeps => ({ pki: api.pki, token, dataDir: dir, nodeExists: (n) => nodeExists(n) });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-join-'));
    agentRoot = mkdtempSync(join(tmpdir(), 'skiff-agent-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    token = ensureJoinToken(dir, api.pki);
    front = await startJoinFront(api, { get pki() { return api.pki; }, get token() { return token; }, dataDir: dir, nodeExists: (n) => nodeExists(n) });
  });
  after(async () => {
    await front?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(agentRoot, { recursive: true, force: true });
  });

  const call = (method: string, path: string, opts: { auth?: string; body?: string } = {}) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        `${front.url}${path}`,
        {
          method,
          ca: api.pki.serverCaCertPem,
          headers: { ...(opts.auth ? { Authorization: opts.auth } : {}), 'Content-Type': 'application/json' },
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end(opts.body);
    });
  const secret = () => parseJoinToken(token).secret;
  const joinBody = async (nodeName: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ nodeName, nodePassword: 'p'.repeat(32), csrPem: (await createKeyAndCsr('ignored')).csrPem, ...extra });

  it('writes token and node-token (0600) pinned to the server CA, stable across starts', () => {
    assert.match(token, /^K10[0-9a-f]{64}::server:[0-9a-f]{32}$/);
    assert.equal(parseJoinToken(token).caHash, caHash(api.pki.serverCaCertPem));
    for (const f of ['token', 'node-token']) {
      const p = join(dir, 'server', f);
      assert.equal(readFileSync(p, 'utf8'), token + '\n');
      assert.equal(statSync(p).mode & 0o777, 0o600);
    }
    assert.equal(ensureJoinToken(dir, api.pki), token);
  });

  it('takes an explicit --token (bare or full) and refuses one for another CA', () => {
    const other = mkdtempSync(join(tmpdir(), 'skiff-join-explicit-'));
    try {
      const t = ensureJoinToken(other, api.pki, 'my-cluster-secret');
      assert.equal(t, formatJoinToken(api.pki.serverCaCertPem, 'my-cluster-secret'));
      assert.equal(ensureJoinToken(other, api.pki, t), t);
      assert.equal(ensureJoinToken(other, api.pki), t, 'later starts without --token keep it');
      assert.throws(() => ensureJoinToken(other, api.pki, formatJoinToken(CA_A, 'x')), /does not match this server's CA/);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('serves the CA unauthenticated, matching the token hash', async () => {
    const r = await call('GET', CACERTS_PATH);
    assert.equal(r.status, 200);
    assert.equal(r.body, api.pki.serverCaCertPem);
    assert.equal(caHash(r.body), parseJoinToken(token).caHash);
    assert.equal((await call('POST', CACERTS_PATH)).status, 405);
  });

  it('rejects missing or wrong bearer secrets with 401', async () => {
    const body = await joinBody('n1');
    for (const auth of [undefined, 'Bearer wrong', `Basic ${secret()}`, `Bearer ${token}`]) {
      const r = await call('POST', NODE_CREDENTIALS_PATH, { auth, body });
      assert.equal(r.status, 401, String(auth));
      assert.equal(JSON.parse(r.body).reason, 'Unauthorized');
    }
    assert.equal((await call('GET', NODE_CREDENTIALS_PATH, { auth: `Bearer ${secret()}` })).status, 405);
  });

  it('validates the request', async () => {
    const auth = `Bearer ${secret()}`;
    const bad = async (body: string, msg: RegExp) => {
      const r = await call('POST', NODE_CREDENTIALS_PATH, { auth, body });
      assert.equal(r.status, 400, body);
      assert.match(JSON.parse(r.body).message, msg);
    };
    await bad('not json', /not JSON/);
    await bad(await joinBody('Bad_Name'), /nodeName/);
    await bad(await joinBody('n1', { nodePassword: 'short' }), /nodePassword/);
    await bad(await joinBody('n1', { csrPem: 'garbage' }), /csrPem: not a PEM/);
    await bad(await joinBody('n1', { nodeIPs: ['not-an-ip'] }), /nodeIPs/);
    // A CSR whose signature does not verify: one flipped bit in the signature.
    const { csrPem } = await createKeyAndCsr('x');
    const der = Buffer.from(new x509.Pkcs10CertificateRequest(csrPem).rawData);
    der[der.length - 3] ^= 1;
    const tampered = x509.PemConverter.encode(der, 'CERTIFICATE REQUEST');
    await bad(await joinBody('n1', { csrPem: tampered }), /csrPem: (certificate request signature does not verify|unparsable)/);
  });

  it('issues node client, serving and kube-proxy certificates for the CSR keys', async () => {
    const kubelet = await createKeyAndCsr('system:masters-wannabe');
    const serving = await createKeyAndCsr('x');
    const proxy = await createKeyAndCsr('y');
    const r = await call('POST', NODE_CREDENTIALS_PATH, {
      auth: `Bearer ${secret()}`,
      body: JSON.stringify({
        nodeName: 'worker-1',
        nodePassword: 'q'.repeat(32),
        csrPem: kubelet.csrPem,
        servingCsrPem: serving.csrPem,
        proxyCsrPem: proxy.csrPem,
        nodeIPs: ['192.0.2.7'],
      }),
    });
    assert.equal(r.status, 200, r.body);
    const out = JSON.parse(r.body);
    assert.equal(out.caPem, api.pki.serverCaCertPem);
    assert.equal(out.clientCaPem, api.pki.clientCaCertPem);
    const clientCa = new x509.X509Certificate(api.pki.clientCaCertPem);
    const serverCa = new x509.X509Certificate(api.pki.serverCaCertPem);

    const cc = new x509.X509Certificate(out.clientCertPem);
    assert.deepEqual(cc.subjectName.getField('CN'), ['system:node:worker-1']);
    assert.deepEqual(cc.subjectName.getField('O'), ['system:nodes']);
    assert.equal(await cc.verify({ publicKey: clientCa.publicKey, signatureOnly: true }), true);
    const csrKey = new x509.Pkcs10CertificateRequest(kubelet.csrPem).publicKey;
    assert.deepEqual(Buffer.from(cc.publicKey.rawData), Buffer.from(csrKey.rawData), 'signed the CSR key, not a new one');
    assert.ok(cc.notAfter.getTime() - Date.now() > 300 * 86400_000);

    const sc = new x509.X509Certificate(out.servingCertPem);
    assert.equal(await sc.verify({ publicKey: serverCa.publicKey, signatureOnly: true }), true);
    const sans = subjectAltNames(sc);
    assert.ok(sans.dnsNames.has('worker-1'));
    assert.ok(sans.ips.has('192.0.2.7') && sans.ips.has('127.0.0.1'));
    const eku = sc.getExtension(x509.ExtendedKeyUsageExtension)!;
    assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth]);

    const pc = new x509.X509Certificate(out.proxyCertPem);
    assert.deepEqual(pc.subjectName.getField('CN'), ['system:kube-proxy']);
    assert.equal(await pc.verify({ publicKey: clientCa.publicKey, signatureOnly: true }), true);
  });

  it('refuses a second machine taking a joined node name, unless the Node is gone', async () => {
    const auth = `Bearer ${secret()}`;
    const first = await call('POST', NODE_CREDENTIALS_PATH, { auth, body: await joinBody('taken', { nodePassword: 'a'.repeat(32) }) });
    assert.equal(first.status, 200);
    const again = await call('POST', NODE_CREDENTIALS_PATH, { auth, body: await joinBody('taken', { nodePassword: 'a'.repeat(32) }) });
    assert.equal(again.status, 200, 'the same machine may join again');
    const thief = await call('POST', NODE_CREDENTIALS_PATH, { auth, body: await joinBody('taken', { nodePassword: 'b'.repeat(32) }) });
    assert.equal(thief.status, 403);
    assert.match(JSON.parse(thief.body).message, /node password rejected: node "taken"/);
    nodeExists = (n) => n !== 'taken';
    try {
      const reuse = await call('POST', NODE_CREDENTIALS_PATH, { auth, body: await joinBody('taken', { nodePassword: 'b'.repeat(32) }) });
      assert.equal(reuse.status, 200);
    } finally {
      nodeExists = () => true;
    }
    assert.equal(statSync(join(dir, 'server', 'cred', 'node-passwd')).mode & 0o777, 0o600);
  });

  it('agent: joins, writes its files and kubeconfig, and authenticates as system:node:<name>', async () => {
    const dataDir = join(agentRoot, 'a1');
    const creds = await ensureAgentCredentials({ dataDir, serverUrl: front.url, token, nodeName: 'agent-1', nodeIPs: ['192.0.2.9'], withProxy: true, waitMs: 0 });
    assert.equal(creds.joined, true);
    const agentDir = join(dataDir, 'agent');
    for (const f of [AGENT_FILES.kubeletKey, AGENT_FILES.servingKey, AGENT_FILES.proxyKey, AGENT_FILES.kubeletKubeconfig, AGENT_FILES.proxyKubeconfig, AGENT_FILES.nodePassword]) {
      assert.equal(statSync(join(agentDir, f)).mode & 0o777, 0o600, f);
    }
    assert.equal(readFileSync(join(agentDir, AGENT_FILES.serverCa), 'utf8'), api.pki.serverCaCertPem);
    // The kubeconfig works: create this node's Node object with it.
    const client = new Client({ kubeconfig: creds.kubeletKubeconfig });
    try {
      await client.nodes.create(undefined, { metadata: { name: 'agent-1' } } as any);
      const got = await client.nodes.get(undefined, 'agent-1');
      assert.equal(got.metadata!.name, 'agent-1');
      assert.deepEqual([...new Set(front.users)], ['system:node:agent-1']);
    } finally {
      client.close();
    }
    // Restart: saved credentials are used without asking the server (even when it is gone).
    const again = await ensureAgentCredentials({ dataDir, serverUrl: 'https://127.0.0.1:1', token, nodeName: 'agent-1', nodeIPs: ['192.0.2.9'], withProxy: true, waitMs: 0 });
    assert.equal(again.joined, false);
    assert.match(readFileSync(creds.kubeletKubeconfig, 'utf8'), /server: https:\/\/127\.0\.0\.1:1\n/);
  });

  it('agent: joins again when the saved certificate is for another name or about to expire', async () => {
    const dataDir = join(agentRoot, 'a2');
    const base = { dataDir, serverUrl: front.url, token, nodeName: 'agent-2', waitMs: 0 };
    assert.equal((await ensureAgentCredentials(base)).joined, true);
    assert.equal((await ensureAgentCredentials(base)).joined, false);
    const renamed = await ensureAgentCredentials({ ...base, nodeName: 'agent-2b' });
    assert.equal(renamed.joined, true);
    const cc = new x509.X509Certificate(readFileSync(join(dataDir, 'agent', AGENT_FILES.kubeletCert), 'utf8'));
    assert.deepEqual(cc.subjectName.getField('CN'), ['system:node:agent-2b']);
    // A certificate with little time left (issued here for the test) triggers a new join.
    const { issueClientCert } = await import('../../src/pki/index.js');
    const shortLived = await issueClientCert(api.pki, 'system:node:agent-2b', ['system:nodes'], 10);
    writeFileSync(join(dataDir, 'agent', AGENT_FILES.kubeletCert), shortLived.certPem);
    writeFileSync(join(dataDir, 'agent', AGENT_FILES.kubeletKey), shortLived.keyPem);
    const logs: string[] = [];
    const renewed = await ensureAgentCredentials({ ...base, nodeName: 'agent-2b', log: (m) => logs.push(m) });
    assert.equal(renewed.joined, true);
    assert.match(logs.join('\n'), /expires soon/);
  });

  it('agent: a wrong secret, a foreign CA hash and an unreachable server give one-line errors', async () => {
    const dataDir = join(agentRoot, 'a3');
    const { caHash: hash } = parseJoinToken(token);
    await assert.rejects(
      ensureAgentCredentials({ dataDir, serverUrl: front.url, token: `K10${hash}::server:wrongsecret`, nodeName: 'a3', waitMs: 0 }),
      { message: TOKEN_REJECTED },
    );
    await assert.rejects(
      ensureAgentCredentials({ dataDir, serverUrl: front.url, token: formatJoinToken(CA_A, secret()), nodeName: 'a3', waitMs: 0 }),
      { message: CA_MISMATCH },
    );
    const port = await freePort();
    await assert.rejects(
      ensureAgentCredentials({ dataDir, serverUrl: `https://127.0.0.1:${port}`, token, nodeName: 'a3', waitMs: 0 }),
      { message: `cannot reach the server at https://127.0.0.1:${port}: ECONNREFUSED` },
    );
    // A bare secret still joins (no pinning, with a warning).
    const logs: string[] = [];
    const creds = await ensureAgentCredentials({ dataDir, serverUrl: front.url, token: secret(), nodeName: 'a3', waitMs: 0, log: (m) => logs.push(m) });
    assert.equal(creds.joined, true);
    assert.match(logs.join('\n'), /no CA hash/);
  });

  it('agent: waits for a server that comes up later', async () => {
    const port = await freePort();
    const late = ensureAgentCredentials({ dataDir: join(agentRoot, 'a4'), serverUrl: `https://127.0.0.1:${port}`, token, nodeName: 'a4', waitMs: 20_000 });
    await new Promise((r) => setTimeout(r, 500));
    const front2 = await startJoinFront(api, deps(), port);
    try {
      assert.equal((await late).joined, true);
    } finally {
      await front2.close();
    }
  });
});
