// storage.k8s.io/v1 StorageClass (cluster-scoped).
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { forbidden, invalid, notSupported, qualifiedNameErrors, required, semanticEqual, validateImmutable } from '../validation.js';
import { age } from '../printers.js';
import { AGE_COLUMN } from '../apps/common.js';

/** Annotation marking the class PVCs without storageClassName get (printed as "name (default)"). */
export const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

const RECLAIM_POLICIES = ['Delete', 'Retain'];
const BINDING_MODES = ['Immediate', 'WaitForFirstConsumer'];
const MAX_PARAMETERS = 512;
const MAX_PARAMETERS_SIZE = 256 * 1024;

export function defaultStorageClass(obj: KObject): void {
  obj.reclaimPolicy ??= 'Delete';
  obj.volumeBindingMode ??= 'Immediate';
}

export function validateStorageClass(obj: KObject, old?: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const prov = obj.provisioner ?? '';
  if (!prov) errs.push(required('provisioner', ''));
  else for (const m of qualifiedNameErrors(String(prov).toLowerCase())) errs.push(invalid('provisioner', prov, m));
  const params: Record<string, string> = obj.parameters ?? {};
  const keys = Object.keys(params);
  if (keys.length > MAX_PARAMETERS)
    errs.push({ type: 'FieldValueTooLong', field: 'parameters', badValue: '', detail: `may not be more than ${MAX_PARAMETERS} bytes` });
  let size = 0;
  for (const k of keys) {
    if (k.length === 0) errs.push(invalid('parameters', k, 'field can not be empty.'));
    size += k.length + String(params[k] ?? '').length;
  }
  if (size > MAX_PARAMETERS_SIZE)
    errs.push({ type: 'FieldValueTooLong', field: 'parameters', badValue: '', detail: `may not be more than ${MAX_PARAMETERS_SIZE} bytes` });
  if (obj.reclaimPolicy && !RECLAIM_POLICIES.includes(obj.reclaimPolicy))
    errs.push(notSupported('reclaimPolicy', obj.reclaimPolicy, RECLAIM_POLICIES));
  if (obj.volumeBindingMode == null) errs.push(required('volumeBindingMode', ''));
  else if (!BINDING_MODES.includes(obj.volumeBindingMode)) errs.push(notSupported('volumeBindingMode', obj.volumeBindingMode, BINDING_MODES));
  if (old) {
    if (!semanticEqual(obj.parameters, old.parameters)) errs.push(forbidden('parameters', 'updates to parameters are forbidden.'));
    if (obj.provisioner !== old.provisioner) errs.push(forbidden('provisioner', 'updates to provisioner are forbidden.'));
    if (obj.reclaimPolicy !== old.reclaimPolicy) errs.push(forbidden('reclaimPolicy', 'updates to reclaimPolicy are forbidden.'));
    errs.push(...validateImmutable(obj.volumeBindingMode, old.volumeBindingMode, 'volumeBindingMode'));
  }
  return errs;
}

export const storageclasses: ResourceDef = {
  group: 'storage.k8s.io',
  version: 'v1',
  kind: 'StorageClass',
  plural: 'storageclasses',
  singular: 'storageclass',
  namespaced: false,
  shortNames: ['sc'],
  defaults: defaultStorageClass,
  validate: validateStorageClass,
  nameCell: (sc) => (sc.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true' ? `${sc.metadata?.name} (default)` : sc.metadata?.name ?? ''),
  columns: [
    { name: 'Provisioner', type: 'string', description: 'provisioner indicates the type of the provisioner.', priority: 0 },
    { name: 'ReclaimPolicy', type: 'string', description: 'reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class.', priority: 0 },
    { name: 'VolumeBindingMode', type: 'string', description: 'volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.', priority: 0 },
    { name: 'AllowVolumeExpansion', type: 'string', description: 'allowVolumeExpansion shows whether the storage class allow volume expand.', priority: 0 },
    AGE_COLUMN,
  ],
  row: (obj) => [
    obj.provisioner ?? '',
    obj.reclaimPolicy ?? 'Delete',
    obj.volumeBindingMode ?? 'Immediate',
    obj.allowVolumeExpansion === true,
    age(obj.metadata?.creationTimestamp),
  ],
};
