// core/v1 PersistentVolume (cluster-scoped) and PersistentVolumeClaim.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { forbidden, invalid, isQuantity, jsonEqual, notSupported, QUANTITY_FORMAT_ERROR, required } from '../validation.js';

const ACCESS_MODES = ['ReadOnlyMany', 'ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOncePod'];
const RECLAIM_POLICIES = ['Delete', 'Recycle', 'Retain'];
const VOLUME_MODES = ['Block', 'Filesystem'];
/** The PersistentVolumeSource fields; exactly one may be set. */
const PV_SOURCES = [
  'gcePersistentDisk', 'awsElasticBlockStore', 'hostPath', 'glusterfs', 'nfs', 'rbd', 'iscsi', 'cinder', 'cephfs', 'fc',
  'flocker', 'flexVolume', 'azureFile', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk',
  'portworxVolume', 'scaleIO', 'local', 'storageos', 'csi',
];

/** ACCESS MODES as upstream's GetAccessModesAsString (RWO,ROX,RWX,RWOP). */
export function accessModesString(modes: string[] | undefined): string {
  const set = new Set(modes ?? []);
  const out: string[] = [];
  if (set.has('ReadWriteOnce')) out.push('RWO');
  if (set.has('ReadOnlyMany')) out.push('ROX');
  if (set.has('ReadWriteMany')) out.push('RWX');
  if (set.has('ReadWriteOncePod')) out.push('RWOP');
  return out.join(',');
}

function validateAccessModes(modes: any, field: string, out: FieldError[]): void {
  if (!Array.isArray(modes) || modes.length === 0) {
    out.push(required(field));
    return;
  }
  modes.forEach((m: string) => {
    if (!ACCESS_MODES.includes(m)) out.push(notSupported(field, m, ACCESS_MODES));
  });
  if (modes.includes('ReadWriteOncePod') && modes.length > 1)
    out.push(forbidden(field, 'may not use ReadWriteOncePod with other access modes'));
}

function validateStorage(map: any, field: string, out: FieldError[]): void {
  if (map?.storage == null) {
    out.push(required(`${field}[storage]`));
    return;
  }
  if (!isQuantity(map.storage)) out.push(invalid(`${field}[storage]`, map.storage, QUANTITY_FORMAT_ERROR));
}

function storageClass(obj: KObject): string {
  return obj.spec?.storageClassName ?? obj.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ?? '';
}

function validatePV(pv: KObject, old?: KObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = pv.spec ?? {};
  validateAccessModes(spec.accessModes, 'spec.accessModes', out);
  if (!spec.capacity || Object.keys(spec.capacity).length === 0) out.push(required('spec.capacity'));
  else validateStorage(spec.capacity, 'spec.capacity', out);
  if (spec.persistentVolumeReclaimPolicy && !RECLAIM_POLICIES.includes(spec.persistentVolumeReclaimPolicy))
    out.push(notSupported('spec.persistentVolumeReclaimPolicy', spec.persistentVolumeReclaimPolicy, RECLAIM_POLICIES));
  if (spec.volumeMode && !VOLUME_MODES.includes(spec.volumeMode)) out.push(notSupported('spec.volumeMode', spec.volumeMode, VOLUME_MODES));
  const sources = PV_SOURCES.filter((s) => spec[s] != null);
  if (sources.length === 0) out.push(required('spec', 'must specify a volume type'));
  else if (sources.length > 1) out.push(forbidden(`spec.${sources[1]}`, 'may not specify more than 1 volume type'));
  if (spec.hostPath && !spec.hostPath.path) out.push(required('spec.hostPath.path'));
  if (spec.local && !spec.local.path) out.push(required('spec.local.path'));
  if (spec.local && !spec.nodeAffinity) out.push(required('spec.nodeAffinity', 'Local volume requires node affinity'));
  if (spec.nfs && !spec.nfs.server) out.push(required('spec.nfs.server'));
  if (spec.csi && !spec.csi.driver) out.push(required('spec.csi.driver'));
  if (old) {
    for (const s of PV_SOURCES)
      if (old.spec?.[s] != null && !jsonEqual(spec[s], old.spec[s])) out.push(forbidden(`spec.persistentvolumesource`, 'spec.persistentvolumesource is immutable after creation'));
    if ((old.spec?.volumeMode ?? 'Filesystem') !== (spec.volumeMode ?? 'Filesystem'))
      out.push(invalid('spec.volumeMode', spec.volumeMode, 'field is immutable'));
  }
  return out;
}

export const persistentvolumes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolume',
  plural: 'persistentvolumes',
  singular: 'persistentvolume',
  namespaced: false,
  shortNames: ['pv'],
  subresources: { status: true },
  defaults(pv) {
    pv.spec ??= {};
    pv.spec.persistentVolumeReclaimPolicy ||= 'Retain';
    pv.spec.volumeMode ||= 'Filesystem';
    pv.status ??= {};
    pv.status.phase ||= 'Pending';
    if (pv.spec.hostPath) pv.spec.hostPath.type ??= '';
  },
  prepareForCreate(pv) {
    pv.status = { phase: 'Pending', lastPhaseTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  },
  prepareForUpdate(pv, old) {
    pv.status = old.status;
  },
  validate: validatePV,
  columns: [
    { name: 'Capacity', type: 'string', description: 'capacity is the description of the persistent volume\'s resources and capacity.', priority: 0 },
    { name: 'Access Modes', type: 'string', description: 'accessModes contains all ways the volume can be mounted.', priority: 0 },
    { name: 'Reclaim Policy', type: 'string', description: 'persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.', priority: 0 },
    { name: 'Status', type: 'string', description: 'phase indicates if a volume is available, bound to a claim, or released by a claim.', priority: 0 },
    { name: 'Claim', type: 'string', description: 'claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.', priority: 0 },
    { name: 'StorageClass', type: 'string', description: 'StorageClass of the pv', priority: 0 },
    { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClass of the pv', priority: 0 },
    { name: 'Reason', type: 'string', description: 'reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
    { name: 'VolumeMode', type: 'string', description: 'volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.', priority: 1 },
  ],
  row(pv) {
    const spec = pv.spec ?? {};
    const claim = spec.claimRef ? `${spec.claimRef.namespace ?? ''}/${spec.claimRef.name ?? ''}` : '';
    return [
      String(spec.capacity?.storage ?? '0'),
      accessModesString(spec.accessModes),
      spec.persistentVolumeReclaimPolicy ?? '',
      pv.metadata?.deletionTimestamp ? 'Terminating' : pv.status?.phase ?? '',
      claim,
      storageClass(pv),
      spec.volumeAttributesClassName ?? '<unset>',
      pv.status?.reason ?? '',
      age(pv.metadata?.creationTimestamp),
      spec.volumeMode ?? '<unset>',
    ];
  },
};

function validatePVC(pvc: KObject, old?: KObject): FieldError[] {
  const out: FieldError[] = [];
  const spec = pvc.spec ?? {};
  validateAccessModes(spec.accessModes, 'spec.accessModes', out);
  validateStorage(spec.resources?.requests, 'spec.resources', out);
  if (spec.resources?.limits?.storage != null && !isQuantity(spec.resources.limits.storage))
    out.push(invalid('spec.resources.limits[storage]', spec.resources.limits.storage, QUANTITY_FORMAT_ERROR));
  if (spec.volumeMode && !VOLUME_MODES.includes(spec.volumeMode)) out.push(notSupported('spec.volumeMode', spec.volumeMode, VOLUME_MODES));
  if (old) {
    // Only the storage request may change (and volumeName may be set once by the binder).
    const a = structuredClone(spec);
    const b = structuredClone(old.spec ?? {});
    if (a.resources?.requests) delete a.resources.requests.storage;
    if (b.resources?.requests) delete b.resources.requests.storage;
    if (!b.volumeName) {
      delete a.volumeName;
      delete b.volumeName;
    }
    if (!jsonEqual(a, b)) out.push(forbidden('spec', 'spec is immutable after creation except resources.requests for bound claims'));
  }
  return out;
}

export const persistentvolumeclaims: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'PersistentVolumeClaim',
  plural: 'persistentvolumeclaims',
  singular: 'persistentvolumeclaim',
  namespaced: true,
  shortNames: ['pvc'],
  subresources: { status: true },
  defaults(pvc) {
    pvc.spec ??= {};
    pvc.spec.volumeMode ||= 'Filesystem';
    pvc.spec.resources ??= {};
    pvc.status ??= {};
    pvc.status.phase ||= 'Pending';
  },
  prepareForCreate(pvc) {
    pvc.status = { phase: 'Pending' };
  },
  prepareForUpdate(pvc, old) {
    pvc.status = old.status;
  },
  validate: validatePVC,
  columns: [
    { name: 'Status', type: 'string', description: 'phase represents the current phase of PersistentVolumeClaim.', priority: 0 },
    { name: 'Volume', type: 'string', description: 'volumeName is the binding reference to the PersistentVolume backing this claim.', priority: 0 },
    { name: 'Capacity', type: 'string', description: 'capacity represents the actual resources of the underlying volume.', priority: 0 },
    { name: 'Access Modes', type: 'string', description: 'accessModes contains the actual access modes the volume backing the PVC has.', priority: 0 },
    { name: 'StorageClass', type: 'string', description: 'StorageClass of the pvc', priority: 0 },
    { name: 'VolumeAttributesClass', type: 'string', description: 'VolumeAttributesClass of the pvc', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
    { name: 'VolumeMode', type: 'string', description: 'volumeMode defines what type of volume is required by the claim.', priority: 1 },
  ],
  row(pvc) {
    const spec = pvc.spec ?? {};
    const bound = !!spec.volumeName;
    return [
      pvc.metadata?.deletionTimestamp ? 'Terminating' : pvc.status?.phase ?? '',
      spec.volumeName ?? '',
      bound ? String(pvc.status?.capacity?.storage ?? '0') : '',
      bound ? accessModesString(pvc.status?.accessModes) : '',
      storageClass(pvc),
      spec.volumeAttributesClassName ?? '<unset>',
      age(pvc.metadata?.creationTimestamp),
      spec.volumeMode ?? '<unset>',
    ];
  },
};
