// Builds an image archive without any registry: an OCI image layout
// (oci-layout, index.json, blobs/sha256/...) packed in one tar, plus the docker
// `manifest.json` so tools that only read docker-save archives accept it too.
// containerd's importer names the image from the index annotation
// io.containerd.image.name.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { buildTar, type TarEntry } from './tar.js';

export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

/** The parts of the image config's `config` object that a runtime reads. */
export interface ImageRuntimeConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
}

export interface ImageSpecInput {
  /** Full reference, e.g. "skiff.local/busybox:latest". */
  ref: string;
  /** Root filesystem entries of the single layer. */
  rootfs: TarEntry[];
  config: ImageRuntimeConfig;
  /** GOARCH-style architecture; defaults to this machine's. */
  architecture?: string;
}

export interface BuiltImage {
  ref: string;
  /** The whole archive, ready to write to a file or to import. */
  archive: Buffer;
  manifestDigest: string;
  /** The image id as the CRI reports it: the config digest. */
  configDigest: string;
  layerDiffId: string;
}

export function goArch(nodeArch: string = process.arch): string {
  switch (nodeArch) {
    case 'x64': return 'amd64';
    case 'ia32': return '386';
    case 'arm': return 'arm';
    case 'arm64': return 'arm64';
    case 'ppc64': return 'ppc64le';
    case 's390x': return 's390x';
    case 'riscv64': return 'riscv64';
    default: return nodeArch;
  }
}

function sha256(buf: Buffer): string {
  return 'sha256:' + createHash('sha256').update(buf).digest('hex');
}

function blobPath(digest: string): string {
  return 'blobs/sha256/' + digest.slice('sha256:'.length);
}

/** "skiff.local/busybox:latest" -> "latest"; a reference without a tag gets "latest". */
export function refTag(ref: string): string {
  const at = ref.indexOf('@');
  const base = at >= 0 ? ref.slice(0, at) : ref;
  const slash = base.lastIndexOf('/');
  const colon = base.lastIndexOf(':');
  return colon > slash ? base.slice(colon + 1) : 'latest';
}

export function buildImageArchive(input: ImageSpecInput): BuiltImage {
  const arch = input.architecture ?? goArch();
  const layerTar = buildTar(input.rootfs);
  const layerDiffId = sha256(layerTar);
  const layer = gzipSync(layerTar, { level: 6 });
  const layerDigest = sha256(layer);

  const epoch = '1970-01-01T00:00:00Z';
  const config = Buffer.from(JSON.stringify({
    created: epoch,
    architecture: arch,
    os: 'linux',
    config: input.config,
    rootfs: { type: 'layers', diff_ids: [layerDiffId] },
    history: [{ created: epoch, created_by: 'skiff images build', comment: input.ref }],
  }));
  const configDigest = sha256(config);

  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: { mediaType: MEDIA_TYPE_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: MEDIA_TYPE_LAYER_GZIP, digest: layerDigest, size: layer.length }],
  }));
  const manifestDigest = sha256(manifest);

  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_INDEX,
    manifests: [{
      mediaType: MEDIA_TYPE_MANIFEST,
      digest: manifestDigest,
      size: manifest.length,
      platform: { architecture: arch, os: 'linux' },
      annotations: {
        'io.containerd.image.name': input.ref,
        'org.opencontainers.image.ref.name': refTag(input.ref),
      },
    }],
  };
  const dockerManifest = [{ Config: blobPath(configDigest), RepoTags: [input.ref], Layers: [blobPath(layerDigest)] }];

  const archive = buildTar([
    { type: 'file', path: 'oci-layout', data: JSON.stringify({ imageLayoutVersion: '1.0.0' }) },
    { type: 'dir', path: 'blobs' },
    { type: 'dir', path: 'blobs/sha256' },
    { type: 'file', path: blobPath(layerDigest), data: layer },
    { type: 'file', path: blobPath(configDigest), data: config },
    { type: 'file', path: blobPath(manifestDigest), data: manifest },
    { type: 'file', path: 'index.json', data: JSON.stringify(index) },
    { type: 'file', path: 'manifest.json', data: JSON.stringify(dockerManifest) },
  ]);
  return { ref: input.ref, archive, manifestDigest, configDigest, layerDiffId };
}
