// core/v1 LimitRange. Enforcement is admission's job; this defaults, validates and prints.
import type { FieldError, ResourceDef } from '../types.js';
import { invalid, isQuantity, notSupported, parseQuantity, QUANTITY_FORMAT_ERROR, required } from '../validation.js';

const TYPES = ['Container', 'PersistentVolumeClaim', 'Pod'];
const BOUNDS = ['max', 'min', 'default', 'defaultRequest', 'maxLimitRequestRatio'];

/** SetDefaults_LimitRangeItem: container defaults fall back to max, default requests to default or min. */
function defaultItem(item: any): void {
  if (item?.type !== 'Container') return;
  for (const [k, v] of Object.entries(item.max ?? {})) {
    item.default ??= {};
    if (item.default[k] == null) item.default[k] = v;
  }
  for (const [k, v] of Object.entries(item.default ?? {})) {
    item.defaultRequest ??= {};
    if (item.defaultRequest[k] == null) item.defaultRequest[k] = v;
  }
  for (const [k, v] of Object.entries(item.min ?? {})) {
    item.defaultRequest ??= {};
    if (item.defaultRequest[k] == null) item.defaultRequest[k] = v;
  }
}

function validateItem(item: any, field: string, out: FieldError[]): void {
  if (!item?.type) out.push(required(`${field}.type`));
  else if (!TYPES.includes(item.type)) out.push(notSupported(`${field}.type`, item.type, TYPES));
  for (const b of BOUNDS) {
    for (const [k, v] of Object.entries<any>(item?.[b] ?? {})) {
      if (!isQuantity(v)) out.push(invalid(`${field}.${b}[${k}]`, v, QUANTITY_FORMAT_ERROR));
    }
  }
  if (item?.type === 'Pod' && (item.default || item.defaultRequest))
    out.push(invalid(`${field}.default`, item.default ?? item.defaultRequest, 'may not be specified when `type` is \'Pod\''));
  const q = (b: string, k: string) => parseQuantity(item?.[b]?.[k]);
  for (const k of Object.keys(item?.min ?? {})) {
    const min = q('min', k);
    if (item.max?.[k] != null && min > q('max', k))
      out.push(invalid(`${field}.min[${k}]`, item.min[k], `min value ${item.min[k]} is greater than max value ${item.max[k]}`));
    if (item.defaultRequest?.[k] != null && min > q('defaultRequest', k))
      out.push(invalid(`${field}.defaultRequest[${k}]`, item.defaultRequest[k], `min value ${item.min[k]} is greater than default request value ${item.defaultRequest[k]}`));
    if (item.default?.[k] != null && min > q('default', k))
      out.push(invalid(`${field}.default[${k}]`, item.min[k], `min value ${item.min[k]} is greater than default value ${item.default[k]}`));
  }
  for (const k of Object.keys(item?.max ?? {})) {
    const max = q('max', k);
    if (item.default?.[k] != null && q('default', k) > max)
      out.push(invalid(`${field}.default[${k}]`, item.max[k], `default value ${item.default[k]} is greater than max value ${item.max[k]}`));
    if (item.defaultRequest?.[k] != null && q('defaultRequest', k) > max)
      out.push(invalid(`${field}.defaultRequest[${k}]`, item.defaultRequest[k], `default request value ${item.defaultRequest[k]} is greater than max value ${item.max[k]}`));
  }
  for (const k of Object.keys(item?.defaultRequest ?? {})) {
    if (item.default?.[k] != null && q('defaultRequest', k) > q('default', k))
      out.push(invalid(`${field}.defaultRequest[${k}]`, item.defaultRequest[k], `default request value ${item.defaultRequest[k]} is greater than default limit value ${item.default[k]}`));
  }
  for (const [k, v] of Object.entries<any>(item?.maxLimitRequestRatio ?? {})) {
    if (isQuantity(v) && parseQuantity(v) < 1)
      out.push(invalid(`${field}.maxLimitRequestRatio[${k}]`, v, `ratio ${v} is less than 1`));
  }
}

export const limitranges: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'LimitRange',
  plural: 'limitranges',
  singular: 'limitrange',
  namespaced: true,
  shortNames: ['limits'],
  defaults(lr) {
    for (const item of lr.spec?.limits ?? []) defaultItem(item);
  },
  validate(lr) {
    const out: FieldError[] = [];
    (lr.spec?.limits ?? []).forEach((item: any, i: number) => validateItem(item, `spec.limits[${i}]`, out));
    return out;
  },
  // Upstream has no printer for LimitRange: the default table (NAME, CREATED AT).
  columns: [
    { name: 'Created At', type: 'date', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  row: (lr) => [lr.metadata?.creationTimestamp ?? ''],
};
