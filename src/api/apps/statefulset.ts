// apps/v1 StatefulSet.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import {
  forbidden,
  intOrPercentValue,
  invalid,
  notSupported,
  required,
  semanticEqual,
  validateNonnegative,
  validateNotMoreThan100Percent,
  validatePositiveIntOrPercent,
} from '../validation.js';
import {
  REPLICAS_SCALE,
  defaultPodTemplate,
  prepareCreateWithStatus,
  prepareUpdateWithStatus,
  templateCells,
  templateColumns,
  validateAlwaysRestart,
  validatePodTemplate,
  validateSelectorAndTemplate,
} from './common.js';

export function defaultStatefulSet(obj: KObject): void {
  const spec = (obj.spec ??= {});
  spec.podManagementPolicy ||= 'OrderedReady';
  const us = (spec.updateStrategy ??= {});
  if (!us.type) {
    us.type = 'RollingUpdate';
    us.rollingUpdate ??= {};
  }
  if (us.type === 'RollingUpdate' && us.rollingUpdate) us.rollingUpdate.partition ??= 0;
  const retention = (spec.persistentVolumeClaimRetentionPolicy ??= {});
  retention.whenDeleted ||= 'Retain';
  retention.whenScaled ||= 'Retain';
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  defaultPodTemplate(spec.template);
}

// Spec fields an update may change; anything else is forbidden.
const MUTABLE_SPEC = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export function validateStatefulSet(obj: KObject, old?: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  switch (spec.podManagementPolicy) {
    case undefined:
    case '':
      errs.push(required('spec.podManagementPolicy', ''));
      break;
    case 'OrderedReady':
    case 'Parallel':
      break;
    default:
      errs.push(invalid('spec.podManagementPolicy', spec.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const us = spec.updateStrategy ?? {};
  switch (us.type) {
    case undefined:
    case '':
      errs.push(required('spec.updateStrategy', ''));
      break;
    case 'OnDelete':
      if (us.rollingUpdate != null)
        errs.push(invalid('spec.updateStrategy.rollingUpdate', us.rollingUpdate, "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case 'RollingUpdate':
      if (us.rollingUpdate != null) {
        const p = 'spec.updateStrategy.rollingUpdate';
        errs.push(...validateNonnegative(us.rollingUpdate.partition, `${p}.partition`));
        const mu = us.rollingUpdate.maxUnavailable;
        if (mu != null) {
          errs.push(...validatePositiveIntOrPercent(mu, `${p}.maxUnavailable`));
          if ((intOrPercentValue(mu) ?? 0) === 0) errs.push(invalid(`${p}.maxUnavailable`, mu, 'cannot be 0'));
          errs.push(...validateNotMoreThan100Percent(mu, `${p}.maxUnavailable`));
        }
      }
      break;
    default:
      errs.push(invalid('spec.updateStrategy', us, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  if (retention != null) {
    for (const k of ['whenDeleted', 'whenScaled'] as const) {
      if (retention[k] !== 'Retain' && retention[k] !== 'Delete')
        errs.push(notSupported(`spec.persistentVolumeClaimRetentionPolicy.${k}`, retention[k] ?? '', ['Retain', 'Delete']));
    }
  }
  errs.push(...validateNonnegative(spec.replicas, 'spec.replicas'));
  errs.push(...validateNonnegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  if (spec.ordinals != null) errs.push(...validateNonnegative(spec.ordinals.start, 'spec.ordinals.start'));
  errs.push(...validateSelectorAndTemplate(spec, 'statefulset'));
  errs.push(...validatePodTemplate(withClaimVolumes(spec), 'spec.template'));
  errs.push(...validateAlwaysRestart(spec.template, 'StatefulSet'));
  if (old) {
    const a = { ...spec };
    const b = { ...(old.spec ?? {}) };
    for (const k of MUTABLE_SPEC) {
      delete a[k];
      delete b[k];
    }
    if (!semanticEqual(a, b))
      errs.push(
        forbidden(
          'spec',
          "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ),
      );
  }
  return errs;
}

export const statefulsets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  plural: 'statefulsets',
  singular: 'statefulset',
  namespaced: true,
  shortNames: ['sts'],
  categories: ['all'],
  // Pod names are <name>-<ordinal> and become hostnames: names must be DNS labels.
  nameRule: 'dns1123-label',
  subresources: {
    status: true,
    scale: REPLICAS_SCALE,
  },
  defaults: defaultStatefulSet,
  validate: validateStatefulSet,
  prepareForCreate: prepareCreateWithStatus,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: [
    { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', priority: 0 },
    ...templateColumns(),
  ],
  row: (obj) => [`${obj.status?.readyReplicas ?? 0}/${obj.spec?.replicas ?? 0}`, ...templateCells(obj, obj.spec?.template?.spec)],
};

/**
 * The template as its pods will be: each volumeClaimTemplate becomes a volume of that name, so
 * volumeMounts that name a claim template validate (the controller adds those volumes).
 */
function withClaimVolumes(spec: any): any {
  const t = spec?.template;
  const claims: any[] = spec?.volumeClaimTemplates ?? [];
  if (!t?.spec || !claims.length) return t;
  const have = new Set((t.spec.volumes ?? []).map((v: any) => v?.name));
  const extra = claims
    .map((c) => c?.metadata?.name)
    .filter((n: unknown): n is string => typeof n === 'string' && !have.has(n))
    .map((name) => ({ name, persistentVolumeClaim: { claimName: name } }));
  return { ...t, spec: { ...t.spec, volumes: [...(t.spec.volumes ?? []), ...extra] } };
}
