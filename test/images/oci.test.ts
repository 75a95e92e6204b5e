// The image archive builder: OCI layout structure, digests, annotations,
// reproducibility, the busybox and pause rootfs, and tar validity (GNU tar reads it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { buildTar, readTar } from '../../src/images/tar.js';
import { buildImageArchive, goArch, refTag, MEDIA_TYPE_LAYER_GZIP, MEDIA_TYPE_MANIFEST } from '../../src/images/oci.js';
import {
  buildBusyboxImage, buildPauseImage, buildTestImages, isStaticElf, BUSYBOX_IMAGE, PAUSE_IMAGE,
} from '../../src/images/test-images.js';
import { listImageArchives } from '../../src/images/import.js';

const haveBusybox = existsSync('/bin/busybox') ? false : 'needs /bin/busybox (busybox-static)';
const haveCc = spawnSync('sh', ['-c', 'command -v cc']).status === 0 ? false : 'needs a C compiler';

const sha = (b: Buffer) => 'sha256:' + createHash('sha256').update(b).digest('hex');

interface Parsed {
  files: ReturnType<typeof readTar>;
  index: any;
  manifest: any;
  config: any;
  layer: ReturnType<typeof readTar>;
  layerGz: Buffer;
}

function parse(archive: Buffer): Parsed {
  const files = readTar(archive);
  const blob = (digest: string) => {
    const f = files.get('blobs/sha256/' + digest.slice(7));
    assert.ok(f, `missing blob ${digest}`);
    assert.equal(sha(f.data), digest, 'blob content matches its digest');
    return f.data;
  };
  const index = JSON.parse(files.get('index.json')!.data.toString());
  const manifest = JSON.parse(blob(index.manifests[0].digest).toString());
  const config = JSON.parse(blob(manifest.config.digest).toString());
  const layerGz = blob(manifest.layers[0].digest);
  return { files, index, manifest, config, layer: readTar(gunzipSync(layerGz)), layerGz };
}

test('tar: round trip, long names split into the ustar prefix, GNU tar reads it', () => {
  const long = 'a/' + 'b'.repeat(90) + '/' + 'c'.repeat(60) + '.txt';
  const tar = buildTar([
    { type: 'dir', path: 'a' },
    { type: 'file', path: 'a/x.txt', data: 'hello\n', mode: 0o600 },
    { type: 'symlink', path: 'a/link', target: '/a/x.txt' },
    { type: 'file', path: long, data: Buffer.alloc(1000, 7) },
  ]);
  assert.equal(tar.length % 512, 0);
  const got = readTar(tar);
  assert.equal(got.get('a/')?.type, '5');
  assert.equal(got.get('a/x.txt')?.data.toString(), 'hello\n');
  assert.equal(got.get('a/x.txt')?.mode, 0o600);
  assert.equal(got.get('a/link')?.linkname, '/a/x.txt');
  assert.equal(got.get(long)?.data.length, 1000);

  const dir = mkdtempSync(join(tmpdir(), 'skiff-tar-'));
  try {
    writeFileSync(join(dir, 't.tar'), tar);
    const r = spawnSync('tar', ['-tvf', join(dir, 't.tar')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /a\/link -> \/a\/x\.txt/);
    assert.ok(r.stdout.includes(long));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('oci: layout, index annotations, docker manifest.json, diff ids', () => {
  const img = buildImageArchive({
    ref: 'skiff.local/demo:v1',
    rootfs: [{ type: 'dir', path: 'etc' }, { type: 'file', path: 'etc/motd', data: 'hi\n' }],
    config: { Cmd: ['cat', '/etc/motd'], Env: ['A=b'] },
  });
  const p = parse(img.archive);
  assert.deepEqual(JSON.parse(p.files.get('oci-layout')!.data.toString()), { imageLayoutVersion: '1.0.0' });
  assert.equal(p.index.schemaVersion, 2);
  const desc = p.index.manifests[0];
  assert.equal(desc.mediaType, MEDIA_TYPE_MANIFEST);
  assert.equal(desc.digest, img.manifestDigest);
  assert.equal(desc.annotations['io.containerd.image.name'], 'skiff.local/demo:v1');
  assert.equal(desc.annotations['org.opencontainers.image.ref.name'], 'v1');
  assert.deepEqual(desc.platform, { architecture: goArch(), os: 'linux' });
  assert.equal(p.manifest.layers[0].mediaType, MEDIA_TYPE_LAYER_GZIP);
  assert.equal(p.manifest.layers[0].size, p.layerGz.length);
  assert.equal(p.manifest.config.digest, img.configDigest);
  assert.deepEqual(p.config.rootfs, { type: 'layers', diff_ids: [img.layerDiffId] });
  assert.equal(sha(gunzipSync(p.layerGz)), img.layerDiffId);
  assert.deepEqual(p.config.config, { Cmd: ['cat', '/etc/motd'], Env: ['A=b'] });
  assert.equal(p.config.os, 'linux');
  assert.equal(p.layer.get('etc/motd')?.data.toString(), 'hi\n');

  const docker = JSON.parse(p.files.get('manifest.json')!.data.toString());
  assert.deepEqual(docker[0].RepoTags, ['skiff.local/demo:v1']);
  assert.equal(docker[0].Config, 'blobs/sha256/' + img.configDigest.slice(7));
  assert.ok(p.files.has(docker[0].Layers[0]));

  assert.equal(refTag('skiff.local:5000/a/b'), 'latest');
  assert.equal(refTag('skiff.local:5000/a/b:1.2'), '1.2');
  assert.equal(refTag('x/y:z@sha256:abc'), 'z');
});

test('busybox image: applet symlinks, passwd/group, tmp, default cmd, reproducible', { skip: haveBusybox }, () => {
  const a = buildBusyboxImage();
  const b = buildBusyboxImage();
  assert.equal(a.manifestDigest, b.manifestDigest, 'same input, same digest');
  assert.equal(a.ref, BUSYBOX_IMAGE);
  const p = parse(a.archive);
  assert.deepEqual(p.config.config.Cmd, ['sh']);
  assert.ok(p.config.config.Env[0].startsWith('PATH='));
  const bb = p.layer.get('bin/busybox')!;
  assert.equal(bb.mode, 0o755);
  assert.ok(isStaticElf(bb.data));
  for (const applet of ['bin/sh', 'bin/echo', 'bin/sleep', 'bin/hostname', 'bin/cat']) {
    assert.equal(p.layer.get(applet)?.type, '2', applet);
    assert.equal(p.layer.get(applet)?.linkname, '/bin/busybox');
  }
  assert.match(p.layer.get('etc/passwd')!.data.toString(), /^root:x:0:0:/);
  assert.match(p.layer.get('etc/group')!.data.toString(), /^root:x:0:/);
  assert.equal(p.layer.get('tmp/')?.mode, 0o1777);
});

test('pause image: static C pause with entrypoint /pause, shell fallback without a compiler', { skip: haveBusybox || haveCc }, () => {
  const c = buildPauseImage();
  assert.equal(c.kind, 'c');
  assert.equal(c.ref, PAUSE_IMAGE);
  const p = parse(c.archive);
  assert.deepEqual(p.config.config.Entrypoint, ['/pause']);
  assert.equal(p.config.config.User, '65535:65535');
  const bin = p.layer.get('pause')!;
  assert.ok(isStaticElf(bin.data), 'pause is statically linked');

  // The binary runs on the host too: -v prints its version, SIGTERM ends it with 0.
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pause-test-'));
  try {
    writeFileSync(join(dir, 'pause'), bin.data, { mode: 0o755 });
    const v = spawnSync(join(dir, 'pause'), ['-v'], { encoding: 'utf8' });
    assert.equal(v.stdout.trim(), 'skiff pause 3.10');
    const r = spawnSync('sh', ['-c', `${join(dir, 'pause')} 2>/dev/null & p=$!; sleep 0.2; kill -TERM $p; wait $p; echo $?`], { encoding: 'utf8' });
    assert.equal(r.stdout.trim(), '0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const sh = buildPauseImage({ cc: false });
  assert.equal(sh.kind, 'shell');
  const ps = parse(sh.archive);
  assert.deepEqual(ps.config.config.Entrypoint.slice(0, 2), ['/bin/sh', '-c']);
  assert.equal(ps.layer.get('bin/sh')?.linkname, '/bin/busybox');
});

test('buildTestImages writes both archives; listImageArchives picks archives only', { skip: haveBusybox }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-images-'));
  try {
    const out = buildTestImages(dir);
    writeFileSync(join(dir, 'notes.txt'), 'not an image');
    writeFileSync(join(dir, 'extra.tar.gz'), '');
    assert.deepEqual(listImageArchives(dir), [out.busybox, join(dir, 'extra.tar.gz'), out.pause].sort());
    assert.ok(readFileSync(out.busybox).length > 500_000);
    assert.deepEqual(listImageArchives(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
