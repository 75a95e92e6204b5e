import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import {
  ensureServerPki,
  issueClientCert,
  TLS_FILES,
  userFromPeerCertificate,
  writeKubeconfig,
  type ServerPki,
} from '../../src/pki/index.js';
import { x509 } from '../../src/pki/x509.js';
import { createCa, signLeaf } from '../../src/pki/certs.js';

const execFileAsync = promisify(execFile);
const KUBECTL = '/usr/bin/kubectl';

let tmp: string;
let dataDir: string;
let pki: ServerPki;
let firstStartMs: number;
let server: https.Server;
let port: number;

function sansOf(certPem: string): { dns: string[]; ips: string[] } {
  const ext = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  const items = ext?.names.items ?? [];
  return {
    dns: items.filter((n) => n.type === 'dns').map((n) => n.value),
    ips: items.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

// Echo server shaped like the API server's auth: TLS asks for a client cert but does
// not reject; the handler decides from socket.authorized.
function startEchoServer(p: ServerPki): Promise<https.Server> {
  const srv = https.createServer(
    {
      key: p.servingKeyPem,
      cert: p.servingCertPem,
      ca: p.clientCaCertPem,
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const socket = req.socket as TLSSocket;
      const user = socket.authorized ? userFromPeerCertificate(socket.getPeerCertificate()) : undefined;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, authorized: socket.authorized, user: user ?? null }));
    },
  );
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

function get(path: string, opts: https.RequestOptions): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, agent: false, ...opts }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) }));
    });
    req.on('error', reject);
  });
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'skiff-pki-'));
  dataDir = join(tmp, 'data');
  const t0 = performance.now();
  pki = await ensureServerPki(dataDir, { hostnames: ['skiff.example.test'], ips: ['192.0.2.10'] });
  firstStartMs = performance.now() - t0;
  server = await startEchoServer(pki);
  port = (server.address() as AddressInfo).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(tmp, { recursive: true, force: true });
});

test('first start creates the k3s-style file set with private keys at 0600', () => {
  console.log(`# first-start PKI creation took ${firstStartMs.toFixed(1)} ms`);
  const dir = join(dataDir, 'server', 'tls');
  assert.equal(pki.tlsDir, dir);
  for (const f of Object.values(TLS_FILES)) assert.ok(existsSync(join(dir, f)), `${f} exists`);
  for (const f of [TLS_FILES.serverCaKey, TLS_FILES.clientCaKey, TLS_FILES.servingKey, TLS_FILES.adminKey, TLS_FILES.serviceAccountKey]) {
    assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} mode`);
  }
  assert.equal(readFileSync(join(dir, TLS_FILES.serverCaCert), 'utf8'), pki.serverCaCertPem);
  assert.match(pki.serviceAccountPublicKeyPem, /BEGIN PUBLIC KEY/);
  assert.match(pki.serviceAccountKeyPem, /BEGIN PRIVATE KEY/);
});

test('certificates carry the expected subjects, usages and SANs', async () => {
  const serverCa = new x509.X509Certificate(pki.serverCaCertPem);
  const clientCa = new x509.X509Certificate(pki.clientCaCertPem);
  assert.match(serverCa.subject, /^CN=skiff-server-ca@\d+$/);
  assert.match(clientCa.subject, /^CN=skiff-client-ca@\d+$/);
  assert.notEqual(pki.serverCaCertPem, pki.clientCaCertPem);
  const years = (serverCa.notAfter.getTime() - Date.now()) / (365 * 86400e3);
  assert.ok(years > 9.9 && years < 10.1, `CA validity ${years} years`);
  const bc = serverCa.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  const caKu = serverCa.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(caKu.usages & x509.KeyUsageFlags.keyCertSign);

  const serving = new x509.X509Certificate(pki.servingCertPem);
  assert.equal(serving.issuer, serverCa.subject);
  assert.ok(await serving.verify({ publicKey: serverCa.publicKey, signatureOnly: true }));
  const ku = serving.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(ku.usages & x509.KeyUsageFlags.digitalSignature && ku.usages & x509.KeyUsageFlags.keyEncipherment);
  assert.deepEqual([...(serving.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.serverAuth]);
  const sans = sansOf(pki.servingCertPem);
  for (const d of ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', 'skiff.example.test']) {
    assert.ok(sans.dns.includes(d), `SAN ${d}`);
  }
  for (const ip of ['127.0.0.1', '10.96.0.1', '192.0.2.10']) assert.ok(sans.ips.includes(ip), `SAN ${ip}`);
  assert.equal(sans.ips.length, 4); // includes ::1

  const admin = new x509.X509Certificate(pki.adminCertPem);
  assert.equal(admin.issuer, clientCa.subject);
  assert.deepEqual(admin.subjectName.getField('CN'), ['system:admin']);
  assert.deepEqual(admin.subjectName.getField('O'), ['system:masters']);
  assert.deepEqual([...(admin.getExtension(x509.ExtendedKeyUsageExtension)?.usages ?? [])], [x509.ExtendedKeyUsage.clientAuth]);
});

test('second start reloads everything; new SANs regenerate only the serving cert', async () => {
  const again = await ensureServerPki(dataDir, {});
  assert.equal(again.serverCaCertPem, pki.serverCaCertPem);
  assert.equal(again.clientCaCertPem, pki.clientCaCertPem);
  assert.equal(again.servingCertPem, pki.servingCertPem, 'subset of SANs keeps serving cert');
  assert.equal(again.adminCertPem, pki.adminCertPem);
  assert.equal(again.serviceAccountKeyPem, pki.serviceAccountKeyPem);

  const widened = await ensureServerPki(dataDir, { hostnames: ['Other.Example.Test'], ips: ['0:0:0:0:0:0:0:1', '198.51.100.7'] });
  assert.equal(widened.serverCaCertPem, pki.serverCaCertPem);
  assert.equal(widened.serverCaKeyPem, pki.serverCaKeyPem);
  assert.equal(widened.adminCertPem, pki.adminCertPem);
  assert.notEqual(widened.servingCertPem, pki.servingCertPem);
  const sans = sansOf(widened.servingCertPem);
  assert.ok(sans.dns.includes('other.example.test'));
  assert.ok(sans.ips.includes('198.51.100.7'));
  assert.equal(readFileSync(join(pki.tlsDir, TLS_FILES.servingCert), 'utf8'), widened.servingCertPem);

  // The same request again is now covered (IPv6 spelled differently still matches).
  const third = await ensureServerPki(dataDir, { hostnames: ['other.example.test'], ips: ['::1', '198.51.100.7'] });
  assert.equal(third.servingCertPem, widened.servingCertPem);
});

test('Node https client: admin cert maps to system:admin, anonymous is unauthorized', async () => {
  const admin = await get('/healthz', { ca: pki.serverCaCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem });
  assert.deepEqual(admin.body, {
    path: '/healthz',
    authorized: true,
    user: { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] },
  });
  // Hostname verification by name, too.
  const byName = await get('/x', { host: 'localhost', ca: pki.serverCaCertPem, cert: pki.adminCertPem, key: pki.adminKeyPem });
  assert.equal(byName.body.user.name, 'system:admin');

  const anon = await get('/healthz', { ca: pki.serverCaCertPem });
  assert.equal(anon.body.authorized, false);
  assert.equal(anon.body.user, null);
});

test('issueClientCert: multiple groups become multiple O; foreign CA certs are not authorized', async () => {
  const t0 = performance.now();
  const node = await issueClientCert(pki, 'system:node:worker-1', ['system:nodes', 'skiff:agents'], 30);
  console.log(`# issueClientCert took ${(performance.now() - t0).toFixed(1)} ms`);
  const cert = new x509.X509Certificate(node.certPem);
  const days = (cert.notAfter.getTime() - Date.now()) / 86400e3;
  assert.ok(days > 29.9 && days < 30.1);
  const res = await get('/', { ca: pki.serverCaCertPem, cert: node.certPem, key: node.keyPem });
  assert.deepEqual(res.body.user, { name: 'system:node:worker-1', groups: ['system:nodes', 'skiff:agents', 'system:authenticated'] });

  // A cert signed by the *server* CA (or any other CA) must not pass as a client identity.
  const rogueCa = await createCa('rogue', 1);
  const rogue = await signLeaf(rogueCa, { commonName: 'system:admin', organizations: ['system:masters'], usage: 'client', days: 1 });
  const denied = await get('/', { ca: pki.serverCaCertPem, cert: rogue.certPem, key: rogue.keyPem });
  assert.equal(denied.body.authorized, false);
  assert.equal(denied.body.user, null);
});

test('writeKubeconfig writes a k3s-shaped kubeconfig at 0600 that client-node loads', async () => {
  const path = join(tmp, 'nested', 'dir', 'kubeconfig.yaml');
  writeKubeconfig(path, { server: `https://127.0.0.1:${port}`, caPem: pki.serverCaCertPem, certPem: pki.adminCertPem, keyPem: pki.adminKeyPem });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  const doc = parse(readFileSync(path, 'utf8'));
  assert.equal(doc['current-context'], 'default');
  assert.deepEqual(doc.contexts, [{ name: 'default', context: { cluster: 'default', user: 'default' } }]);
  assert.equal(doc.clusters[0].name, 'default');
  assert.equal(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), pki.serverCaCertPem);
  assert.equal(Buffer.from(doc.users[0].user['client-key-data'], 'base64').toString(), pki.adminKeyPem);

  const kc = new KubeConfig();
  kc.loadFromFile(path);
  assert.equal(kc.getCurrentCluster()?.server, `https://127.0.0.1:${port}`);
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const res = await get('/api', { ca: opts.ca, cert: opts.cert, key: opts.key });
  assert.equal(res.body.user.name, 'system:admin');
});

test('real kubectl accepts the serving cert and presents the client cert', { skip: !existsSync(KUBECTL) && 'kubectl not installed' }, async () => {
  const env = { ...process.env, HOME: tmp, KUBECONFIG: '' };
  for (const host of ['127.0.0.1', 'localhost']) {
    const path = join(tmp, `kubeconfig-${host}`);
    writeKubeconfig(path, { server: `https://${host}:${port}`, caPem: pki.serverCaCertPem, certPem: pki.adminCertPem, keyPem: pki.adminKeyPem });
    const { stdout } = await execFileAsync(KUBECTL, ['--kubeconfig', path, 'get', '--raw', '/whoami'], { env, timeout: 20_000 });
    assert.deepEqual(JSON.parse(stdout), {
      path: '/whoami',
      authorized: true,
      user: { name: 'system:admin', groups: ['system:masters', 'system:authenticated'] },
    });
  }
  // A kubelet-style identity from issueClientCert works through kubectl as well.
  const kubelet = await issueClientCert(pki, 'system:node:n1', ['system:nodes']);
  const path = join(tmp, 'kubelet.kubeconfig');
  writeKubeconfig(path, { server: `https://127.0.0.1:${port}`, caPem: pki.serverCaCertPem, ...kubelet, user: 'system:node:n1' });
  const { stdout } = await execFileAsync(KUBECTL, ['--kubeconfig', path, 'get', '--raw', '/whoami'], { env, timeout: 20_000 });
  assert.deepEqual(JSON.parse(stdout).user, { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] });
});

test('userFromPeerCertificate handles missing certs and string/array O', () => {
  assert.equal(userFromPeerCertificate(undefined), undefined);
  assert.equal(userFromPeerCertificate({} as any), undefined);
  assert.equal(userFromPeerCertificate({ subject: { O: 'x' } } as any), undefined);
  assert.deepEqual(userFromPeerCertificate({ subject: { CN: 'alice', O: 'dev' } } as any), { name: 'alice', groups: ['dev', 'system:authenticated'] });
  assert.deepEqual(userFromPeerCertificate({ subject: { CN: 'bob', O: ['a', 'b'] } } as any), { name: 'bob', groups: ['a', 'b', 'system:authenticated'] });
  assert.deepEqual(userFromPeerCertificate({ subject: { CN: 'carol' } } as any), { name: 'carol', groups: ['system:authenticated'] });
  assert.deepEqual(userFromPeerCertificate({ subject: { CN: 'dan', O: 'system:authenticated' } } as any), { name: 'dan', groups: ['system:authenticated'] });
});
