// Pod volumes on the host (upstream's volume manager and plugins, for the volume types a node
// can serve alone): emptyDir, configMap, secret, downwardAPI, projected (with service account
// tokens), hostPath and persistentVolumeClaim (bound to a hostPath or local volume). Each lives under <podsDir>/<uid>/volumes/<plugin>/<name>; the API-backed
// ones are (re)written atomically on every sync so updates reach running containers.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync, chmodSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { KObject } from '../../client/index.js';
import { formatMap, resourceFieldValue } from '../pods/env.js';
import { writeAtomic, type Payload } from './atomic-writer.js';
import type { TokenManager } from './token-manager.js';
import { PvcError, resolveClaim, unprocessedVolumesMessage, type ResolvedClaim } from './persistent-volumes.js';

const run = promisify(execFile);

/** A volume that cannot be set up; reported as FailedMount, the pod waits in ContainerCreating. */
export class VolumeError extends Error {}

export interface MountedVolume {
  hostPath: string;
  readOnly: boolean;
}

export interface VolumeContext {
  podsDir: string;
  tokens: TokenManager;
  configMap(ns: string, name: string): Promise<KObject | undefined>;
  secret(ns: string, name: string): Promise<KObject | undefined>;
  /** Claim and volume lookups for persistentVolumeClaim volumes (undefined when not found). */
  claim(ns: string, name: string): Promise<KObject | undefined>;
  volume(name: string): Promise<KObject | undefined>;
  /** The cluster CA served as kube-root-ca.crt when that ConfigMap does not exist yet. */
  clusterCA?: string;
  podIP?: string;
  hostIP?: string;
  nodeAllocatable?: Record<string, string>;
  /** Whether emptyDir medium Memory may mount tmpfs (default true; falls back to disk on failure). */
  tmpfs?: boolean;
}

const DEFAULT_MODE = 0o644;

export function podDir(podsDir: string, uid: string): string {
  return join(podsDir, uid);
}

function volumeDir(podsDir: string, uid: string, plugin: string, name: string): string {
  return join(podsDir, uid, 'volumes', plugin, name);
}

function configMapData(cm: KObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries<string>(cm.data ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries<string>(cm.binaryData ?? {})) out.set(k, Buffer.from(v, 'base64'));
  return out;
}

function secretData(s: KObject): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries<string>(s.data ?? {})) out.set(k, Buffer.from(v, 'base64'));
  for (const [k, v] of Object.entries<string>(s.stringData ?? {})) out.set(k, Buffer.from(v, 'utf8'));
  return out;
}

/** Adds data (all keys, or the listed items) to payload; errors on missing items unless optional. */
function project(payload: Payload, data: Map<string, Buffer>, items: KObject[] | undefined, mode: number, what: string, optional: boolean): void {
  if (!items?.length) {
    for (const [k, v] of data) payload.set(k, { data: v, mode });
    return;
  }
  for (const it of items) {
    const v = data.get(it.key);
    if (!v) {
      if (optional) continue;
      throw new VolumeError(`configmap references non-existent config key: ${it.key}`.replace('configmap', what));
    }
    payload.set(it.path, { data: v, mode: it.mode ?? mode });
  }
}

function downwardItems(pod: KObject, items: KObject[], mode: number, ctx: VolumeContext, payload: Payload): void {
  const md = pod.metadata ?? {};
  for (const it of items ?? []) {
    let value = '';
    if (it.fieldRef) {
      const path: string = it.fieldRef.fieldPath;
      const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
      if (sub) value = (md[sub[1]] ?? {})[sub[2]] ?? '';
      else if (path === 'metadata.name') value = md.name ?? '';
      else if (path === 'metadata.namespace') value = md.namespace ?? '';
      else if (path === 'metadata.uid') value = md.uid ?? '';
      else if (path === 'metadata.labels') value = formatMap(md.labels);
      else if (path === 'metadata.annotations') value = formatMap(md.annotations);
      else if (path === 'spec.nodeName') value = pod.spec?.nodeName ?? '';
      else if (path === 'spec.serviceAccountName') value = pod.spec?.serviceAccountName ?? '';
      else if (path === 'status.podIP') value = ctx.podIP ?? '';
      else if (path === 'status.hostIP') value = ctx.hostIP ?? '';
      else throw new VolumeError(`unsupported fieldPath: ${path}`);
    } else if (it.resourceFieldRef) {
      const name = it.resourceFieldRef.containerName;
      const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x: KObject) => x.name === name);
      if (!c) throw new VolumeError(`container ${name} not found for resourceFieldRef`);
      value = resourceFieldValue(c, it.resourceFieldRef, ctx.nodeAllocatable);
    }
    payload.set(it.path, { data: Buffer.from(value, 'utf8'), mode: it.mode ?? mode });
  }
}

async function configMapPayload(pod: KObject, src: KObject, mode: number, ctx: VolumeContext, payload: Payload): Promise<void> {
  const ns = pod.metadata?.namespace ?? 'default';
  let cm = await ctx.configMap(ns, src.name);
  if (!cm && src.name === 'kube-root-ca.crt' && ctx.clusterCA) cm = { data: { 'ca.crt': ctx.clusterCA } };
  if (!cm) {
    if (src.optional) return;
    throw new VolumeError(`configmap "${src.name}" not found`);
  }
  project(payload, configMapData(cm), src.items, mode, 'configmap', !!src.optional);
}

async function secretPayload(pod: KObject, src: KObject, name: string, mode: number, ctx: VolumeContext, payload: Payload): Promise<void> {
  const ns = pod.metadata?.namespace ?? 'default';
  const s = await ctx.secret(ns, name);
  if (!s) {
    if (src.optional) return;
    throw new VolumeError(`secret "${name}" not found`);
  }
  project(payload, secretData(s), src.items, mode, 'secret', !!src.optional);
}

async function projectedPayload(pod: KObject, vol: KObject, ctx: VolumeContext): Promise<Payload> {
  const payload: Payload = new Map();
  const mode = vol.defaultMode ?? DEFAULT_MODE;
  for (const s of vol.sources ?? []) {
    if (s.configMap) await configMapPayload(pod, s.configMap, mode, ctx, payload);
    else if (s.secret) await secretPayload(pod, s.secret, s.secret.name, mode, ctx, payload);
    else if (s.downwardAPI) downwardItems(pod, s.downwardAPI.items ?? [], mode, ctx, payload);
    else if (s.serviceAccountToken) {
      const t = s.serviceAccountToken;
      const token = await ctx.tokens.token({
        namespace: pod.metadata?.namespace ?? 'default',
        serviceAccount: pod.spec?.serviceAccountName || 'default',
        audiences: t.audience ? [t.audience] : [],
        expirationSeconds: t.expirationSeconds ?? 3600,
        boundPod: { name: pod.metadata?.name ?? '', uid: pod.metadata?.uid ?? '' },
      });
      payload.set(t.path, { data: Buffer.from(token, 'utf8'), mode: vol.defaultMode ?? 0o600 });
    } else if (s.clusterTrustBundle) throw new VolumeError('clusterTrustBundle projections are not supported');
  }
  return payload;
}

async function ensureHostPath(path: string, type: string | undefined, createMode = 0o755): Promise<void> {
  const st = (() => {
    try {
      return statSync(path);
    } catch {
      return undefined;
    }
  })();
  switch (type ?? '') {
    case '':
      return;
    case 'DirectoryOrCreate':
      if (!st) {
        mkdirSync(path, { recursive: true, mode: 0o755 });
        if (createMode !== 0o755) chmodSync(path, createMode); // mkdir's mode is masked by the umask
      }
      else if (!st.isDirectory()) throw new VolumeError(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'FileOrCreate':
      if (!st) {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, '', { mode: 0o644 });
      } else if (!st.isFile()) throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'Directory':
      if (!st?.isDirectory()) throw new VolumeError(`hostPath type check failed: ${path} is not a directory`);
      return;
    case 'File':
      if (!st?.isFile()) throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
      return;
    case 'Socket':
      if (!st?.isSocket()) throw new VolumeError(`hostPath type check failed: ${path} is not a socket file`);
      return;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) throw new VolumeError(`hostPath type check failed: ${path} is not a character device`);
      return;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) throw new VolumeError(`hostPath type check failed: ${path} is not a block device`);
      return;
    default:
      throw new VolumeError(`hostPath type ${type} is not supported`);
  }
}

async function isMountPoint(dir: string): Promise<boolean> {
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    return mounts.split('\n').some((l) => l.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

async function setupEmptyDir(dir: string, vol: KObject, ctx: VolumeContext): Promise<string | undefined> {
  const fresh = !existsSync(dir);
  mkdirSync(dir, { recursive: true });
  if (fresh) chmodSync(dir, 0o777);
  if (vol.emptyDir?.medium !== 'Memory' || ctx.tmpfs === false || (await isMountPoint(dir))) return undefined;
  const opts = ['mode=0777'];
  if (vol.emptyDir.sizeLimit) opts.push(`size=${vol.emptyDir.sizeLimit}`.replace(/i$/, ''));
  try {
    await run('mount', ['-t', 'tmpfs', '-o', opts.join(','), 'tmpfs', dir]);
    return undefined;
  } catch (e) {
    return `emptyDir ${vol.name}: medium Memory unavailable, using disk: ${(e as Error).message.split('\n')[0]}`;
  }
}

export interface SetupResult {
  volumes: Map<string, MountedVolume>;
  /** Non-fatal notes (e.g. tmpfs fell back to disk). */
  warnings: string[];
}

/**
 * Claims resolved and set up, per "<pod uid>/<volume>": a bound claim's volume never changes, and
 * a pod that mounted it keeps running when the claim is later being deleted (as upstream's
 * mounted volumes stay in the actual state). Forgotten in teardownPodVolumes.
 */
const mountedClaims = new Map<string, ResolvedClaim>();


/** Sets up (or refreshes) every volume of pod; throws VolumeError for the first that fails. */
export async function setupPodVolumes(pod: KObject, ctx: VolumeContext): Promise<SetupResult> {
  const uid = pod.metadata?.uid ?? '';
  const out = new Map<string, MountedVolume>();
  const warnings: string[] = [];
  for (const vol of pod.spec?.volumes ?? []) {
    const name: string = vol.name;
    try {
      if (vol.persistentVolumeClaim) {
        const key = `${uid}/${name}`;
        let claim = mountedClaims.get(key);
        if (!claim) {
          claim = await resolveClaim(pod, vol, ctx);
          await ensureHostPath(claim.path, claim.type, claim.createMode);
          mountedClaims.set(key, claim);
        }
        out.set(name, { hostPath: claim.path, readOnly: claim.readOnly });
      } else if (vol.emptyDir) {
        const dir = volumeDir(ctx.podsDir, uid, 'kubernetes.io~empty-dir', name);
        const w = await setupEmptyDir(dir, vol, ctx);
        if (w) warnings.push(w);
        out.set(name, { hostPath: dir, readOnly: false });
      } else if (vol.hostPath) {
        await ensureHostPath(vol.hostPath.path, vol.hostPath.type);
        out.set(name, { hostPath: vol.hostPath.path, readOnly: false });
      } else if (vol.configMap) {
        const payload: Payload = new Map();
        await configMapPayload(pod, vol.configMap, vol.configMap.defaultMode ?? DEFAULT_MODE, ctx, payload);
        const dir = volumeDir(ctx.podsDir, uid, 'kubernetes.io~configmap', name);
        writeAtomic(dir, payload);
        out.set(name, { hostPath: dir, readOnly: true });
      } else if (vol.secret) {
        const payload: Payload = new Map();
        await secretPayload(pod, vol.secret, vol.secret.secretName, vol.secret.defaultMode ?? DEFAULT_MODE, ctx, payload);
        const dir = volumeDir(ctx.podsDir, uid, 'kubernetes.io~secret', name);
        writeAtomic(dir, payload);
        out.set(name, { hostPath: dir, readOnly: true });
      } else if (vol.downwardAPI) {
        const payload: Payload = new Map();
        downwardItems(pod, vol.downwardAPI.items ?? [], vol.downwardAPI.defaultMode ?? DEFAULT_MODE, ctx, payload);
        const dir = volumeDir(ctx.podsDir, uid, 'kubernetes.io~downward-api', name);
        writeAtomic(dir, payload);
        out.set(name, { hostPath: dir, readOnly: true });
      } else if (vol.projected) {
        const payload = await projectedPayload(pod, vol.projected, ctx);
        const dir = volumeDir(ctx.podsDir, uid, 'kubernetes.io~projected', name);
        writeAtomic(dir, payload);
        out.set(name, { hostPath: dir, readOnly: true });
      } else {
        const kind = Object.keys(vol).find((k) => k !== 'name') ?? 'unknown';
        throw new VolumeError(`volume type ${kind} is not supported by this node`);
      }
    } catch (e) {
      const msg = (e as Error).message;
      if (e instanceof PvcError) throw new VolumeError(unprocessedVolumesMessage([name], msg));
      throw new VolumeError(`MountVolume.SetUp failed for volume "${name}" : ${msg}`);
    }
  }
  return { volumes: out, warnings };
}

/** Unmounts tmpfs emptyDirs and removes the pod's directory. */
export async function teardownPodVolumes(podsDir: string, uid: string): Promise<void> {
  for (const key of mountedClaims.keys()) if (key.startsWith(`${uid}/`)) mountedClaims.delete(key);
  const dir = podDir(podsDir, uid);
  if (!existsSync(dir)) return;
  try {
    const mounts = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m && m.startsWith(dir + '/'));
    for (const m of mounts.reverse()) await run('umount', [m]).catch(() => run('umount', ['-l', m]));
  } catch {
    // nothing mounted
  }
  rmSync(dir, { recursive: true, force: true });
}
