// Static pods (upstream's config/file.go and mirror pods): every YAML/JSON Pod manifest in the
// manifest directory runs on this node without the API server. Each gets a uid derived from its
// content, the name "<name>-<node>", and the config annotations; the kubelet mirrors it into
// the API as a read-only "mirror pod" (annotation kubernetes.io/config.mirror) for visibility.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { isAlreadyExists, isNotFound, rfc3339, type Client, type KObject } from '../../client/index.js';
import type { KubeletLog } from '../log.js';
import { CONFIG_HASH_ANNOTATION, CONFIG_MIRROR_ANNOTATION, CONFIG_SEEN_ANNOTATION, CONFIG_SOURCE_ANNOTATION } from '../pods/labels.js';

/** The defaults the API server would apply, which a static pod never goes through. */
function applyDefaults(pod: KObject): void {
  const spec = (pod.spec ??= {});
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  // Static pods tolerate everything that would evict them (upstream adds NoExecute: Exists).
  spec.tolerations ??= [{ operator: 'Exists', effect: 'NoExecute' }];
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    if (!c.imagePullPolicy) {
      const tag = (String(c.image ?? '').split('/').pop() ?? '').split(':')[1];
      c.imagePullPolicy = String(c.image).includes('@') || (tag && tag !== 'latest') ? 'IfNotPresent' : 'Always';
    }
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
}

/** Turns a manifest into the static pod the kubelet runs. */
export function staticPod(manifest: KObject, nodeName: string, source: string): KObject {
  if (manifest.kind !== 'Pod') throw new Error(`${source}: kind ${manifest.kind ?? '(none)'} is not Pod`);
  const pod: KObject = structuredClone(manifest);
  pod.apiVersion = 'v1';
  const md = (pod.metadata ??= {});
  if (!md.name) throw new Error(`${source}: metadata.name is required`);
  md.name = `${md.name}-${nodeName}`;
  md.namespace ??= 'default';
  applyDefaults(pod);
  pod.spec!.nodeName = nodeName;
  const hash = createHash('md5').update(JSON.stringify(pod)).update(nodeName).update(source).digest('hex');
  md.uid = hash;
  md.annotations = { ...(md.annotations ?? {}), [CONFIG_HASH_ANNOTATION]: hash, [CONFIG_SOURCE_ANNOTATION]: 'file', [CONFIG_SEEN_ANNOTATION]: rfc3339() };
  delete pod.status;
  return pod;
}

/** Every Pod in the directory's *.yaml, *.yml, *.json files (errors are logged and skipped). */
export function readManifests(dir: string, nodeName: string, log: KubeletLog): KObject[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  const out: KObject[] = [];
  for (const n of names) {
    if (n.startsWith('.') || !/\.(ya?ml|json)$/.test(n)) continue;
    const path = join(dir, n);
    try {
      if (!statSync(path).isFile()) continue;
      for (const doc of parseAllDocuments(readFileSync(path, 'utf8'))) {
        if (doc.errors.length) throw doc.errors[0];
        const obj = doc.toJS();
        if (obj) out.push(staticPod(obj, nodeName, path));
      }
    } catch (e) {
      log('warning', `static pod manifest ${path}: ${(e as Error).message}`);
    }
  }
  return out;
}

export interface StaticPodSourceOptions {
  dir: string;
  nodeName: string;
  client: Client;
  log: KubeletLog;
  /** The Node's uid, for the mirror pods' owner reference. */
  nodeUid(): string | undefined;
  onUpdate(pod: KObject): void;
  onRemove(uid: string): void;
  /** Rescan period (default 20 s, upstream's file check frequency). */
  intervalMs?: number;
}

export class StaticPodSource {
  /** uid -> static pod. */
  readonly pods = new Map<string, KObject>();
  /** "<ns>/<name>" -> the mirror pod seen in the API. */
  private readonly mirrors = new Map<string, KObject>();
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;

  constructor(private readonly o: StaticPodSourceOptions) {}

  start(): void {
    this.scan();
    this.timer = setInterval(() => this.scan(), this.o.intervalMs ?? 20_000);
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    return this.busy ?? Promise.resolve();
  }

  isStatic(pod: KObject): boolean {
    return this.pods.has(pod.metadata?.uid ?? '');
  }

  /** The static pod's mirror pod in the API, if it exists. */
  mirrorOf(pod: KObject): KObject | undefined {
    return this.mirrors.get(`${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }

  /** Called for mirror pods seen by the pod informer. */
  observeMirror(pod: KObject, deleted: boolean): void {
    const key = `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (deleted) {
      if (this.mirrors.get(key)?.metadata?.uid === pod.metadata?.uid) this.mirrors.delete(key);
    } else this.mirrors.set(key, pod);
  }

  scan(): void {
    const found = readManifests(this.o.dir, this.o.nodeName, this.o.log);
    const seen = new Set<string>();
    for (const p of found) {
      // The seen annotation changes every scan; keep the first one so the pod looks unchanged.
      const uid = p.metadata!.uid!;
      seen.add(uid);
      const old = this.pods.get(uid);
      if (old) continue;
      this.pods.set(uid, p);
      this.o.onUpdate(p);
    }
    for (const [uid] of this.pods) {
      if (seen.has(uid)) continue;
      this.pods.delete(uid);
      this.o.onRemove(uid);
    }
    if (!this.busy) this.busy = this.syncMirrors().finally(() => (this.busy = undefined));
  }

  /** Creates missing mirror pods, replaces stale ones and deletes those whose static pod is gone. */
  async syncMirrors(): Promise<void> {
    const pods = this.o.client.pods;
    const wanted = new Map<string, KObject>();
    for (const p of this.pods.values()) wanted.set(`${p.metadata?.namespace}/${p.metadata?.name}`, p);
    for (const [key, p] of wanted) {
      const m = this.mirrors.get(key);
      const hash = p.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
      if (m && m.metadata?.annotations?.[CONFIG_MIRROR_ANNOTATION] === hash && !m.metadata?.deletionTimestamp) continue;
      try {
        if (m) await pods.delete(m.metadata?.namespace, m.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: m.metadata?.uid } }).catch((e) => (isNotFound(e) ? undefined : Promise.reject(e)));
        const mirror: KObject = structuredClone(p);
        delete mirror.metadata!.uid;
        mirror.metadata!.annotations = { ...mirror.metadata!.annotations, [CONFIG_MIRROR_ANNOTATION]: hash! };
        const nodeUid = this.o.nodeUid();
        if (nodeUid) mirror.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: this.o.nodeName, uid: nodeUid, controller: true }];
        const created = await pods.create(mirror.metadata!.namespace, mirror);
        this.mirrors.set(key, created);
      } catch (e) {
        if (isAlreadyExists(e)) continue; // a stale one the informer has not shown us yet
        this.o.log('warning', `mirror pod ${key}: ${(e as Error).message}`);
      }
    }
    for (const [key, m] of this.mirrors) {
      if (wanted.has(key)) continue;
      try {
        await pods.delete(m.metadata?.namespace, m.metadata?.name ?? '', { gracePeriodSeconds: 0, preconditions: { uid: m.metadata?.uid } });
      } catch (e) {
        if (!isNotFound(e)) this.o.log('warning', `deleting mirror pod ${key}: ${(e as Error).message}`);
      }
      this.mirrors.delete(key);
    }
  }
}
