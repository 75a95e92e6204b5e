// TLS for `skiff kubelet` on its own: files named by the upstream flags, else a self-signed
// serving pair in the cert dir that is reused while it still fits; the operator is warned
// about what will not work (no client CA, a certificate the API server does not trust).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { loadKubeletTls, SELF_SIGNED_CERT } from '../../src/kubelet/server/tls-files.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'skiff-kubelet-tls-'));
  dirs.push(d);
  return d;
};

describe('kubelet TLS files', () => {
  it('without files: a self-signed pair naming the node and its IPs, kept and reused; both gaps are warned about', async () => {
    const certDir = join(tmp(), 'pki');
    const a = await loadKubeletTls({ certDir, nodeName: 'node-a', ips: ['192.0.2.7'] });
    assert.equal(a.clientCaPem, '');
    assert.equal(a.selfSigned, join(certDir, SELF_SIGNED_CERT));
    assert.equal(a.warnings.length, 2);
    assert.match(a.warnings.join('\n'), /self-signed/);
    assert.match(a.warnings.join('\n'), /no --client-ca-file/);
    const leaf = new X509Certificate(a.certPem);
    assert.match(leaf.subjectAltName ?? '', /DNS:node-a/);
    assert.match(leaf.subjectAltName ?? '', /IP Address:192\.0\.2\.7/);
    assert.match(leaf.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(a.keyPem)));
    const b = await loadKubeletTls({ certDir, nodeName: 'node-a', ips: ['192.0.2.7'] });
    assert.equal(b.certPem, a.certPem, 'reused');
    const c = await loadKubeletTls({ certDir, nodeName: 'node-a', ips: ['192.0.2.8'] });
    assert.notEqual(c.certPem, a.certPem, 'a new IP makes a new certificate');
  });

  it('explicit files are used as they are; cert without key is refused; unreadable files name the flag', async () => {
    const dir = tmp();
    const src = await loadKubeletTls({ certDir: join(dir, 'gen'), nodeName: 'n' });
    writeFileSync(join(dir, 'c.crt'), src.certPem);
    writeFileSync(join(dir, 'c.key'), src.keyPem);
    writeFileSync(join(dir, 'ca.crt'), 'CA PEM');
    const t = await loadKubeletTls({ certFile: join(dir, 'c.crt'), keyFile: join(dir, 'c.key'), clientCaFile: join(dir, 'ca.crt'), certDir: join(dir, 'unused'), nodeName: 'n' });
    assert.deepEqual(t, { certPem: src.certPem, keyPem: src.keyPem, clientCaPem: 'CA PEM', selfSigned: undefined, warnings: [] });
    await assert.rejects(loadKubeletTls({ certFile: join(dir, 'c.crt'), certDir: dir, nodeName: 'n' }), /go together/);
    await assert.rejects(loadKubeletTls({ certFile: join(dir, 'nope'), keyFile: join(dir, 'c.key'), certDir: dir, nodeName: 'n' }), /--tls-cert-file: cannot read/);
    assert.equal(readFileSync(join(dir, 'c.crt'), 'utf8'), src.certPem);
  });
});
