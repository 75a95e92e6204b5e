// DefaultStorageClass admission (upstream plugin/pkg/admission/storage/storageclass/setdefault):
// a PersistentVolumeClaim created without spec.storageClassName (and without the beta
// storage-class annotation) gets the default StorageClass, the one annotated
// storageclass.kubernetes.io/is-default-class=true (the newest when there are several). An
// explicit "" means "no class" and is kept.
import type { KObject } from '../../api/types.js';
import { DEFAULT_CLASS_ANNOTATION } from '../../api/storage/storageclass.js';
import type { AdmissionEnv } from './index.js';
import type { AdmissionAttributes, MutatingAdmission } from './types.js';

const BETA_CLASS_ANNOTATION = 'volume.beta.kubernetes.io/storage-class';

export class DefaultStorageClassAdmission implements MutatingAdmission {
  readonly name = 'DefaultStorageClass';
  constructor(private readonly env: AdmissionEnv) {}

  async admit(a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE' || a.subresource || a.resource.group !== '' || a.resource.plural !== 'persistentvolumeclaims') return;
    const spec = (a.obj.spec ??= {});
    if (spec.storageClassName != null || a.obj.metadata?.annotations?.[BETA_CLASS_ANNOTATION] !== undefined) return;
    const classes = this.env.resource('storage.k8s.io/v1/storageclasses');
    if (!classes) return;
    let pick: KObject | undefined;
    for (const sc of this.env.registry.list(classes)) {
      if (sc.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] !== 'true') continue;
      const t = sc.metadata?.creationTimestamp ?? '';
      const best = pick?.metadata?.creationTimestamp ?? '';
      if (!pick || t > best || (t === best && (sc.metadata?.name ?? '') < (pick.metadata?.name ?? ''))) pick = sc;
    }
    if (pick) spec.storageClassName = pick.metadata!.name;
  }
}
