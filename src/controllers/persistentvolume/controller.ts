// The PersistentVolume binder (upstream pkg/controller/volume/persistentvolume, kube-controller-
// manager's "persistentvolume-binder"): binds Pending claims to Available volumes, keeps both
// sides' phases (Pending/Bound/Lost for claims, Available/Bound/Released/Failed for volumes),
// reclaims released volumes (Delete or Retain), and provisions volumes for classes whose
// provisioner is skiff.io/host-path (host-path-provisioner.ts).
//
// Binding writes, in upstream's order: the volume's spec.claimRef (with the
// pv.kubernetes.io/bound-by-controller annotation when we chose the volume), the volume's phase
// Bound, the claim's spec.volumeName and its pv.kubernetes.io/bind-completed annotation, then
// the claim's status (Bound, the volume's access modes and capacity). Each step is skipped when
// already done, so a sync interrupted half way is finished by the next one.
//
// WaitForFirstConsumer classes: the binder leaves an unbound claim alone until the scheduler
// either pre-binds a volume (claimRef) or, to provision, annotates the claim with
// volume.kubernetes.io/selected-node. One worker per queue, as upstream, so a claim and its volume
// are never written by two syncs at once; what we wrote is remembered until the informer
// catches up, so a sync never acts on a cache older than our own last write.
import { rmSync } from 'node:fs';
import { posix } from 'node:path';
import type { KObject } from '../../api/types.js';
import {
  GVR,
  WorkQueue,
  clientLog,
  isAlreadyExists,
  isConflict,
  isNotFound,
  objectKey,
  runWorkers,
  type EventRecorder,
  type HandlerRegistration,
  type ResourceClient,
  type SharedInformer,
} from '../../client/index.js';
import type { Controller, ControllerContext } from '../types.js';
import {
  ANN_BETA_STORAGE_PROVISIONER,
  ANN_BIND_COMPLETED,
  ANN_BOUND_BY_CONTROLLER,
  ANN_PROVISIONED_BY,
  ANN_SELECTED_NODE,
  ANN_STORAGE_PROVISIONER,
  claimClass,
  findBestMatch,
  refersTo,
  volumeMismatch,
} from './matching.js';
import { DEFAULT_STORAGE_DIR, HOST_PATH_PROVISIONER, claimReference, hostPathVolume, nodeHostname, provisionedVolumeName } from './host-path-provisioner.js';

export interface PersistentVolumeControllerOptions {
  /** Where skiff.io/host-path volumes go when the class has no parameters.basePath. */
  storageDir?: string;
  /** Periodic re-sync of every claim and volume (upstream 15 s). */
  resyncPeriodMs?: number;
}

const NAME = 'persistentvolume-binder';
const EVENT_SOURCE = 'persistentvolume-controller';

/** resourceVersion order (numeric in skiff's stores; unknown shapes count as not newer). */
function newer(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b) return false;
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return a.length !== b.length ? a.length > b.length : a > b;
}

function annotated(obj: KObject, key: string): boolean {
  return obj.metadata?.annotations?.[key] !== undefined;
}

function withAnnotations(obj: KObject, add: Record<string, string>, remove: string[] = []): KObject {
  const annotations = { ...(obj.metadata?.annotations ?? {}), ...add };
  for (const k of remove) delete annotations[k];
  return { ...obj, metadata: { ...obj.metadata, annotations } };
}

export class PersistentVolumeController implements Controller {
  readonly name = NAME;
  private readonly claimQueue = new WorkQueue<string>();
  private readonly volumeQueue = new WorkQueue<string>();
  private storageDir: string | undefined;
  private readonly resyncPeriodMs: number;
  private pvs!: SharedInformer;
  private pvcs!: SharedInformer;
  private classes!: SharedInformer;
  private nodes!: SharedInformer;
  private pvClient!: ResourceClient;
  private pvcClient!: ResourceClient;
  private recorder!: EventRecorder;
  /** Objects as we last wrote them, until the informer shows that version or a later one. */
  private readonly writtenPVs = new Map<string, KObject>();
  private readonly writtenPVCs = new Map<string, KObject>();

  constructor(opts: PersistentVolumeControllerOptions = {}) {
    this.storageDir = opts.storageDir;
    this.resyncPeriodMs = opts.resyncPeriodMs ?? 15_000;
  }

  async run(ctx: ControllerContext, ready: Promise<void>): Promise<void> {
    this.storageDir ??= ctx.options.storageDir || DEFAULT_STORAGE_DIR;
    this.pvs = ctx.informers.informer(GVR.persistentVolumes);
    this.pvcs = ctx.informers.informer(GVR.persistentVolumeClaims);
    this.classes = ctx.informers.informer(GVR.storageClasses);
    this.nodes = ctx.informers.informer(GVR.nodes);
    this.pvClient = ctx.client.persistentVolumes;
    this.pvcClient = ctx.client.persistentVolumeClaims;
    this.recorder = ctx.recorder(EVENT_SOURCE);
    const resync = { resyncPeriodMs: this.resyncPeriodMs };
    const regs: HandlerRegistration[] = [
      this.pvs.addEventHandler(
        {
          onAdd: (pv) => this.volumeChanged(pv),
          onUpdate: (_old, pv) => this.volumeChanged(pv),
          onDelete: (pv) => {
            this.writtenPVs.delete(pv.metadata!.name!);
            const ref = pv.spec?.claimRef;
            if (ref?.name) this.claimQueue.add(`${ref.namespace}/${ref.name}`);
          },
        },
        resync,
      ),
      this.pvcs.addEventHandler(
        {
          onAdd: (pvc) => this.claimQueue.add(objectKey(pvc)),
          onUpdate: (_old, pvc) => this.claimQueue.add(objectKey(pvc)),
          onDelete: (pvc) => {
            this.writtenPVCs.delete(objectKey(pvc));
            // Its volume is released: find it by spec.volumeName, or by a claimRef to the claim.
            if (pvc.spec?.volumeName) this.volumeQueue.add(pvc.spec.volumeName);
            for (const pv of this.pvs.list()) if (refersTo(pv.spec?.claimRef, pvc)) this.volumeQueue.add(pv.metadata!.name!);
          },
        },
        resync,
      ),
      // A class appearing (or changing) may unblock claims that wait for it.
      this.classes.addEventHandler({
        onAdd: (_sc, initial) => {
          if (!initial) this.requeuePendingClaims();
        },
        onUpdate: () => this.requeuePendingClaims(),
      }),
    ];
    const stop = () => {
      for (const r of regs) r.remove();
      this.claimQueue.shutdown();
      this.volumeQueue.shutdown();
    };
    if (ctx.signal.aborted) return stop();
    ctx.signal.addEventListener('abort', stop, { once: true });
    await ready;
    if (ctx.signal.aborted) return;
    const onError = (kind: string) => (key: string, err: unknown, requeues: number) => {
      if (!isConflict(err)) clientLog('warning', `${NAME}: sync ${kind} ${key} failed (retry ${requeues + 1}): ${(err as Error)?.message ?? err}`);
    };
    await Promise.all([
      runWorkers(this.claimQueue, 1, (key) => this.syncClaim(key), { onError: onError('claim') }),
      runWorkers(this.volumeQueue, 1, (key) => this.syncVolume(key), { onError: onError('volume') }),
    ]);
  }

  private volumeChanged(pv: KObject): void {
    this.volumeQueue.add(pv.metadata!.name!);
    const ref = pv.spec?.claimRef;
    if (ref?.name && ref.namespace) this.claimQueue.add(`${ref.namespace}/${ref.name}`);
  }

  private requeuePendingClaims(): void {
    for (const pvc of this.pvcs.list()) if (!pvc.spec?.volumeName) this.claimQueue.add(objectKey(pvc));
  }

  // ---- reading: the informer, or our own newer write ----

  private volume(name: string): KObject | undefined {
    return this.latest(this.writtenPVs, name, this.pvs.get(null, name));
  }

  private claim(key: string): KObject | undefined {
    const slash = key.indexOf('/');
    return this.latest(this.writtenPVCs, key, this.pvcs.get(key.slice(0, slash), key.slice(slash + 1)));
  }

  private latest(written: Map<string, KObject>, key: string, cached: KObject | undefined): KObject | undefined {
    const mine = written.get(key);
    if (!mine) return cached;
    if (!cached || cached.metadata?.uid !== mine.metadata?.uid) {
      // Deleted (or replaced) since our write: the informer is right.
      if (!cached || newer(cached.metadata?.resourceVersion, mine.metadata?.resourceVersion)) written.delete(key);
      return cached;
    }
    if (newer(mine.metadata?.resourceVersion, cached.metadata?.resourceVersion)) return mine;
    written.delete(key);
    return cached;
  }

  /** All volumes, with our newer writes in place of the cached versions. */
  private allVolumes(): KObject[] {
    const list = this.pvs.list();
    if (this.writtenPVs.size === 0) return list;
    return list.map((pv) => this.volume(pv.metadata!.name!) ?? pv);
  }

  // ---- writes (each remembers its result) ----

  private async writeVolume(pv: KObject): Promise<KObject> {
    const out = await this.pvClient.update(null, pv);
    this.writtenPVs.set(out.metadata!.name!, out);
    return out;
  }

  private async writeVolumeStatus(pv: KObject, phase: string, message?: string): Promise<KObject> {
    if (pv.status?.phase === phase && (message === undefined || pv.status?.message === message)) return pv;
    const status: KObject = { ...pv.status, phase };
    if (message !== undefined) status.message = message;
    else delete status.message;
    const out = await this.pvClient.updateStatus(null, { ...pv, status });
    this.writtenPVs.set(out.metadata!.name!, out);
    return out;
  }

  private async writeClaim(pvc: KObject): Promise<KObject> {
    const out = await this.pvcClient.update(pvc.metadata!.namespace, pvc);
    this.writtenPVCs.set(objectKey(out), out);
    return out;
  }

  private async writeClaimStatus(pvc: KObject, phase: string, pv?: KObject): Promise<KObject> {
    const status: KObject = { ...pvc.status, phase };
    if (pv) {
      status.accessModes = pv.spec?.accessModes;
      status.capacity = pv.spec?.capacity;
    } else if (phase !== 'Bound') {
      delete status.accessModes;
      delete status.capacity;
    }
    if (JSON.stringify(status) === JSON.stringify(pvc.status ?? {})) return pvc;
    const out = await this.pvcClient.updateStatus(pvc.metadata!.namespace, { ...pvc, status });
    this.writtenPVCs.set(objectKey(out), out);
    return out;
  }

  // ---- claims ----

  async syncClaim(key: string): Promise<void> {
    const pvc = this.claim(key);
    if (!pvc) return;
    if (!annotated(pvc, ANN_BIND_COMPLETED)) return this.syncUnboundClaim(pvc);
    return this.syncBoundClaim(pvc);
  }

  private async syncUnboundClaim(pvc: KObject): Promise<void> {
    const volumeName: string | undefined = pvc.spec?.volumeName;
    if (!volumeName) {
      const delay = this.isDelayBinding(pvc);
      const pv = findBestMatch(pvc, this.allVolumes(), delay);
      if (pv) return this.bind(pv, pvc);
      return this.noVolumeYet(pvc, delay);
    }
    // The user asked for a particular volume.
    const pv = this.volume(volumeName);
    if (!pv) {
      this.recorder.event(pvc, 'Normal', 'FailedBinding', 'Binding', `volume "${volumeName}" not found`);
      await this.writeClaimStatus(pvc, 'Pending');
      return;
    }
    const ref = pv.spec?.claimRef;
    if (!ref) {
      const why = volumeMismatch(pv, pvc);
      if (why) {
        this.recorder.event(pvc, 'Warning', 'VolumeMismatch', 'Binding', `Cannot bind to requested volume "${volumeName}": ${why}`);
        await this.writeClaimStatus(pvc, 'Pending');
        return;
      }
      return this.bind(pv, pvc);
    }
    if (refersTo(ref, pvc)) return this.bind(pv, pvc);
    this.recorder.event(pvc, 'Warning', 'FailedBinding', 'Binding', 'volume already bound to a different claim.');
    await this.writeClaimStatus(pvc, 'Pending');
  }

  /** No volume fits: wait for the scheduler, provision, or wait for someone to create one. */
  private async noVolumeYet(pvc: KObject, delay: boolean): Promise<void> {
    const className = claimClass(pvc);
    const sc = className ? this.classes.get(null, className) : undefined;
    if (delay && !pvc.metadata?.annotations?.[ANN_SELECTED_NODE]) {
      this.recorder.event(pvc, 'Normal', 'WaitForFirstConsumer', 'Binding', 'waiting for first consumer to be created before binding');
      await this.writeClaimStatus(pvc, 'Pending');
      return;
    }
    if (sc?.provisioner && sc.provisioner !== 'kubernetes.io/no-provisioner') {
      if (sc.provisioner === HOST_PATH_PROVISIONER) await this.provision(pvc, sc);
      else await this.awaitExternalProvisioner(pvc, sc.provisioner);
      return;
    }
    const note = className ? `storageclass.storage.k8s.io "${className}" not found` : 'no persistent volumes available for this claim and no storage class is set';
    this.recorder.event(pvc, className && !sc ? 'Warning' : 'Normal', 'FailedBinding', 'Binding', note);
    await this.writeClaimStatus(pvc, 'Pending');
  }

  /** Another provisioner's job: say whose (the annotations it watches for), as upstream does. */
  private async awaitExternalProvisioner(pvc: KObject, provisioner: string): Promise<void> {
    if (pvc.metadata?.annotations?.[ANN_STORAGE_PROVISIONER] !== provisioner) {
      pvc = await this.writeClaim(withAnnotations(pvc, { [ANN_STORAGE_PROVISIONER]: provisioner, [ANN_BETA_STORAGE_PROVISIONER]: provisioner }));
      this.recorder.event(
        pvc,
        'Normal',
        'ExternalProvisioning',
        'Provisioning',
        `Waiting for a volume to be created either by the external provisioner '${provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
    }
    await this.writeClaimStatus(pvc, 'Pending');
  }

  private async provision(pvc: KObject, sc: KObject): Promise<void> {
    const pvName = provisionedVolumeName(pvc);
    if (this.volume(pvName)) return; // provisioned already; binding follows from the volume's events
    const node = pvc.metadata?.annotations?.[ANN_SELECTED_NODE];
    if (!node) {
      this.recorder.event(
        pvc,
        'Warning',
        'ProvisioningFailed',
        'Provisioning',
        `failed to provision volume with StorageClass "${sc.metadata!.name}": configuration error, no node was specified (${HOST_PATH_PROVISIONER} volumes need volumeBindingMode WaitForFirstConsumer)`,
      );
      await this.writeClaimStatus(pvc, 'Pending');
      return;
    }
    if (pvc.metadata?.annotations?.[ANN_STORAGE_PROVISIONER] !== HOST_PATH_PROVISIONER) {
      pvc = await this.writeClaim(withAnnotations(pvc, { [ANN_STORAGE_PROVISIONER]: HOST_PATH_PROVISIONER, [ANN_BETA_STORAGE_PROVISIONER]: HOST_PATH_PROVISIONER }));
    }
    const ref = `${pvc.metadata!.namespace}/${pvc.metadata!.name}`;
    this.recorder.event(pvc, 'Normal', 'Provisioning', 'Provisioning', `External provisioner is provisioning volume for claim "${ref}"`);
    const body = hostPathVolume({ pvc, storageClass: sc, hostname: nodeHostname(this.nodes.get(null, node), node), storageDir: this.storageDir! });
    try {
      const created = await this.pvClient.create(null, body);
      this.writtenPVs.set(pvName, created);
      this.recorder.event(pvc, 'Normal', 'ProvisioningSucceeded', 'Provisioning', `Successfully provisioned volume ${pvName}`);
      await this.bind(created, pvc);
    } catch (e) {
      if (isAlreadyExists(e)) return;
      this.recorder.event(pvc, 'Warning', 'ProvisioningFailed', 'Provisioning', `failed to provision volume with StorageClass "${sc.metadata!.name}": ${(e as Error).message}`);
      throw e;
    }
  }

  private async syncBoundClaim(pvc: KObject): Promise<void> {
    const volumeName: string | undefined = pvc.spec?.volumeName;
    if (!volumeName) {
      if (pvc.status?.phase !== 'Lost') this.recorder.event(pvc, 'Warning', 'ClaimLost', 'Binding', 'Bound claim has lost reference to PersistentVolume. Data on the volume is lost!');
      await this.writeClaimStatus(pvc, 'Lost');
      return;
    }
    const pv = this.volume(volumeName);
    if (!pv) {
      if (pvc.status?.phase !== 'Lost') this.recorder.event(pvc, 'Warning', 'ClaimLost', 'Binding', 'Bound claim has lost its PersistentVolume. Data on the volume is lost!');
      await this.writeClaimStatus(pvc, 'Lost');
      return;
    }
    const ref = pv.spec?.claimRef;
    if (!ref || refersTo(ref, pvc)) return this.bind(pv, pvc);
    if (pvc.status?.phase !== 'Lost') this.recorder.event(pvc, 'Warning', 'ClaimMisbound', 'Binding', 'Two claims are bound to the same volume, this one is bound incorrectly');
    await this.writeClaimStatus(pvc, 'Lost');
  }

  private isDelayBinding(pvc: KObject): boolean {
    const className = claimClass(pvc);
    return !!className && this.classes.get(null, className)?.volumeBindingMode === 'WaitForFirstConsumer';
  }

  /** Binds volume and claim both ways; every step that is already done is skipped. */
  private async bind(pv: KObject, pvc: KObject): Promise<void> {
    const ref = pv.spec?.claimRef;
    if (!refersTo(ref, pvc) || !ref.uid) {
      const next = { ...pv, spec: { ...pv.spec, claimRef: claimReference(pvc) } };
      pv = await this.writeVolume(ref ? next : withAnnotations(next, { [ANN_BOUND_BY_CONTROLLER]: 'yes' }));
    }
    pv = await this.writeVolumeStatus(pv, 'Bound');
    const provisioner = pv.metadata?.annotations?.[ANN_PROVISIONED_BY];
    const wantVolume = pvc.spec?.volumeName !== pv.metadata!.name;
    if (wantVolume || !annotated(pvc, ANN_BIND_COMPLETED)) {
      let next: KObject = { ...pvc, spec: { ...pvc.spec, volumeName: pv.metadata!.name } };
      const add: Record<string, string> = { [ANN_BIND_COMPLETED]: 'yes' };
      if (wantVolume) add[ANN_BOUND_BY_CONTROLLER] = 'yes';
      next = withAnnotations(next, add);
      pvc = await this.writeClaim(next);
      this.recorder.event(pvc, 'Normal', 'Bound', 'Binding', `Bound to volume ${pv.metadata!.name}${provisioner ? ` (provisioned by ${provisioner})` : ''}`);
    }
    await this.writeClaimStatus(pvc, 'Bound', pv);
  }

  // ---- volumes ----

  async syncVolume(name: string): Promise<void> {
    const pv = this.volume(name);
    if (!pv || pv.metadata?.deletionTimestamp) return;
    const ref = pv.spec?.claimRef;
    if (!ref) {
      await this.writeVolumeStatus(pv, 'Available');
      return;
    }
    if (!ref.uid) {
      // Pre-bound by the user to a claim that may not exist yet.
      await this.writeVolumeStatus(pv, 'Available');
      this.claimQueue.add(`${ref.namespace}/${ref.name}`);
      return;
    }
    let pvc = this.claim(`${ref.namespace}/${ref.name}`);
    if (pvc && pvc.metadata?.uid !== ref.uid) pvc = undefined;
    if (!pvc) {
      // The cache may be behind (a claim just created): ask the API server before releasing.
      try {
        const live = await this.pvcClient.get(ref.namespace, ref.name);
        if (live.metadata?.uid === ref.uid) return;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
      return this.release(pv);
    }
    if (!pvc.spec?.volumeName) {
      // Binding in progress (pre-bound by us or the scheduler): the claim's sync finishes it.
      this.claimQueue.add(objectKey(pvc));
      return;
    }
    if (pvc.spec.volumeName === name) {
      await this.writeVolumeStatus(pv, 'Bound');
      return;
    }
    // The claim is bound to another volume. A volume we bound is set free again.
    if (annotated(pv, ANN_BOUND_BY_CONTROLLER) && !pv.metadata?.annotations?.[ANN_PROVISIONED_BY]) {
      const next = withAnnotations({ ...pv, spec: { ...pv.spec, claimRef: null } }, {}, [ANN_BOUND_BY_CONTROLLER]);
      delete next.spec.claimRef;
      await this.writeVolumeStatus(await this.writeVolume(next), 'Available');
    } else if (pv.metadata?.annotations?.[ANN_PROVISIONED_BY]) return this.release(pv);
  }

  /** Removes <storageDir>/<pv-name> of a deleted host-path volume, if it lives here. */
  private removeLocalDirectory(pv: KObject): void {
    const path: string | undefined = pv.spec?.hostPath?.path;
    if (!path || !this.storageDir || path !== posix.join(this.storageDir, pv.metadata!.name!)) return;
    try {
      rmSync(path, { recursive: true, force: true });
    } catch (e) {
      clientLog('warning', `${NAME}: removing ${path} of deleted volume ${pv.metadata!.name}: ${(e as Error).message}`);
    }
  }

  /** The claim is gone: Released, then the reclaim policy. */
  private async release(pv: KObject): Promise<void> {
    const phase = pv.status?.phase;
    if (phase !== 'Released' && phase !== 'Failed') pv = await this.writeVolumeStatus(pv, 'Released');
    if (pv.status?.phase === 'Failed') return;
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Retain') return;
    if (policy === 'Recycle') {
      this.recorder.event(pv, 'Warning', 'VolumeFailedRecycle', 'Reclaim', 'Recycle is not supported by skiff; use Delete or Retain');
      await this.writeVolumeStatus(pv, 'Failed', 'Recycle is not supported');
      return;
    }
    const provisioner = pv.metadata?.annotations?.[ANN_PROVISIONED_BY];
    if (provisioner === HOST_PATH_PROVISIONER) {
      // The object goes. The directory is removed when it is this host's (skiff server: the
      // controllers share the host with the node's kubelet); other nodes' directories stay, as no
      // helper pod removes them yet.
      try {
        await this.pvClient.delete(null, pv.metadata!.name!, { preconditions: { uid: pv.metadata!.uid } });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
        return;
      }
      this.removeLocalDirectory(pv);
      return;
    }
    if (provisioner) return; // an external provisioner deletes its own volumes
    this.recorder.event(pv, 'Warning', 'VolumeFailedDelete', 'Reclaim', 'error getting deleter volume plugin for volume: no deletable volume plugin matched');
    await this.writeVolumeStatus(pv, 'Failed', 'error getting deleter volume plugin for volume: no deletable volume plugin matched');
  }
}
