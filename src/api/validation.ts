// Shared validation helpers with upstream's rules and messages (apimachinery validation).
import type { FieldError } from './types.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const C_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function invalid(field: string, badValue: unknown, detail: string): FieldError {
  return { type: 'FieldValueInvalid', field, badValue, detail };
}
export function required(field: string, detail = ''): FieldError {
  return { type: 'FieldValueRequired', field, detail };
}
export function notSupported(field: string, badValue: unknown, valid: string[]): FieldError {
  return {
    type: 'FieldValueNotSupported',
    field,
    badValue,
    detail: 'supported values: ' + valid.map((v) => JSON.stringify(v)).join(', '),
  };
}
export function duplicate(field: string, badValue: unknown): FieldError {
  return { type: 'FieldValueDuplicate', field, badValue, detail: '' };
}
export function forbidden(field: string, detail: string): FieldError {
  return { type: 'FieldValueForbidden', field, detail };
}

/** Problems with value as a DNS-1123 label (empty list: valid). */
export function dns1123LabelErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!DNS1123_LABEL.test(value))
    errs.push(
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
  return errs;
}

/** Problems with value as a DNS-1123 subdomain (empty list: valid). */
export function dns1123SubdomainErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!DNS1123_SUBDOMAIN.test(value))
    errs.push(
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return errs;
}

/** Problems with a qualified name such as a label or annotation key ("prefix/name"). */
export function qualifiedNameErrors(value: string): string[] {
  const parts = value.split('/');
  let name = value;
  const errs: string[] = [];
  if (parts.length === 2) {
    const [prefix, n] = parts;
    name = n;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const e of dns1123SubdomainErrors(prefix)) errs.push('prefix part ' + e);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name.length > 0 && !QUALIFIED_NAME_PART.test(name))
    errs.push(
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    );
  return errs;
}

export function labelValueErrors(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!LABEL_VALUE.test(value))
    errs.push(
      "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    );
  return errs;
}

export function isCIdentifier(value: string): boolean {
  return C_IDENTIFIER.test(value);
}

/** Validates a label map at field path (e.g. "metadata.labels"). */
export function validateLabels(labels: Record<string, string> | undefined, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (!labels) return out;
  for (const [k, v] of Object.entries(labels)) {
    for (const e of qualifiedNameErrors(k)) out.push(invalid(field, k, e));
    if (typeof v !== 'string') out.push(invalid(`${field}[${k}]`, v, 'must be a string'));
    else for (const e of labelValueErrors(v)) out.push(invalid(field, v, e));
  }
  return out;
}

/** Validates annotation keys and the 256 KiB total size limit. */
export function validateAnnotations(annotations: Record<string, string> | undefined, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (!annotations) return out;
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const e of qualifiedNameErrors(k.toLowerCase())) out.push(invalid(field, k, e));
    size += k.length + (typeof v === 'string' ? v.length : 0);
  }
  if (size > 256 * 1024)
    out.push({ type: 'FieldValueTooLong', field, detail: 'may not be more than 262144 bytes', badValue: '' });
  return out;
}

/** Validates a metav1.LabelSelector at field path. */
export function validateLabelSelector(sel: any, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (sel == null) return out;
  out.push(...validateLabels(sel.matchLabels, `${field}.matchLabels`));
  (sel.matchExpressions ?? []).forEach((req: any, i: number) => {
    const f = `${field}.matchExpressions[${i}]`;
    const ops = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
    if (!ops.includes(req.operator)) out.push(notSupported(`${f}.operator`, req.operator, ops));
    else if ((req.operator === 'In' || req.operator === 'NotIn') && !(req.values?.length > 0))
      out.push(required(`${f}.values`, 'must be specified when `operator` is \'In\' or \'NotIn\''));
    else if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && req.values?.length > 0)
      out.push(forbidden(`${f}.values`, 'may not be specified when `operator` is \'Exists\' or \'DoesNotExist\''));
    for (const e of qualifiedNameErrors(String(req.key ?? ''))) out.push(invalid(`${f}.key`, req.key, e));
  });
  return out;
}

// --- groups ---
// Helpers shared by the non-core API groups (apps, batch, policy, rbac, ...).

/**
 * Upstream's apiequality.Semantic.DeepEqual on JSON: like deep equality, except that a missing
 * field, null, an empty list and an empty map are all the same (Go's nil vs empty).
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const ea = isEmptyValue(a);
  const eb = isEmptyValue(b);
  if (ea || eb) return ea && eb;
  if (typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!semanticEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k of Object.keys(ao)) if (!semanticEqual(ao[k], bo[k])) return false;
  for (const k of Object.keys(bo)) if (!(k in ao) && !isEmptyValue(bo[k])) return false;
  return true;
}

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v as object).length === 0;
  return false;
}

/** Whether a metav1.LabelSelector matches labels (a null selector matches nothing, {} everything). */
export function labelSelectorMatches(sel: any, labels: Record<string, string> | undefined): boolean {
  if (sel == null) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.operator) {
      case 'In': if (!has || !(r.values ?? []).includes(l[r.key])) return false; break;
      case 'NotIn': if (has && (r.values ?? []).includes(l[r.key])) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/** True when the selector has neither matchLabels nor matchExpressions. */
export function labelSelectorEmpty(sel: any): boolean {
  return Object.keys(sel?.matchLabels ?? {}).length + (sel?.matchExpressions ?? []).length === 0;
}

/** Upstream ValidateNonnegativeField. */
export function validateNonnegative(value: unknown, field: string): FieldError[] {
  return typeof value === 'number' && value < 0 ? [invalid(field, value, 'must be greater than or equal to 0')] : [];
}

/** Upstream ValidateImmutableField. */
export function validateImmutable(newValue: unknown, oldValue: unknown, field: string): FieldError[] {
  return semanticEqual(newValue, oldValue) ? [] : [invalid(field, newValue, 'field is immutable')];
}

const PERCENT = /^[0-9]+%$/;

/** The number in an IntOrString: n for ints, n for "n%", undefined for other strings. */
export function intOrPercentValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && PERCENT.test(v)) return parseInt(v, 10);
  return undefined;
}

/** Upstream ValidatePositiveIntOrPercent (apps): ints >= 0 or "<n>%". */
export function validatePositiveIntOrPercent(v: unknown, field: string): FieldError[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') {
    return PERCENT.test(v)
      ? []
      : [invalid(field, v, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  }
  if (typeof v === 'number') return validateNonnegative(v, field);
  return [invalid(field, v, "must be an integer or percentage (e.g '5%')")];
}

/** Upstream IsNotMoreThan100Percent. */
export function validateNotMoreThan100Percent(v: unknown, field: string): FieldError[] {
  if (typeof v !== 'string' || !PERCENT.test(v)) return [];
  return parseInt(v, 10) > 100 ? [invalid(field, v, 'must not be greater than 100%')] : [];
}

// --- core ---
// Quantities, ports and keys as core/v1 validates them (shared with workload templates).

const QUANTITY = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const QUANTITY_SUFFIX: Record<string, number> = {
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
  n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
};

/** Upstream's message when a value is not a resource.Quantity. */
export const QUANTITY_FORMAT_ERROR =
  "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/**
 * The numeric value of a resource quantity ("100m" -> 0.1, "1Ki" -> 1024, "1e3" -> 1000).
 * JSON numbers are accepted as they are. Returns NaN when s is not a valid quantity.
 */
export function parseQuantity(s: unknown): number {
  if (typeof s === 'number') return Number.isFinite(s) ? s : NaN;
  if (typeof s !== 'string') return NaN;
  const m = QUANTITY.exec(s.trim());
  if (!m) return NaN;
  const n = Number(m[2]) * (m[1] === '-' ? -1 : 1);
  const suffix = m[3];
  if (!suffix) return n;
  if (suffix[0] === 'e' || suffix[0] === 'E') return n * 10 ** Number(suffix.slice(1));
  return n * QUANTITY_SUFFIX[suffix];
}

/** True when v parses as a quantity. */
export function isQuantity(v: unknown): boolean {
  return !Number.isNaN(parseQuantity(v));
}

/** Port number checks (1-65535) with upstream's message; empty list: valid. */
export function portNumberErrors(port: unknown): string[] {
  return Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535
    ? []
    : ['must be between 1 and 65535, inclusive'];
}

/** IANA_SVC_NAME (RFC 6335) checks as used for named ports; empty list: valid. */
export function portNameErrors(name: string): string[] {
  const errs: string[] = [];
  if (name.length > 15) errs.push('must be no more than 15 characters');
  if (!/^[-a-z0-9]+$/.test(name)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (name.includes('--')) errs.push("must not contain consecutive hyphens");
  if (!/[a-z]/.test(name)) errs.push('must contain at least one letter (a-z)');
  if (name.startsWith('-') || name.endsWith('-')) errs.push('must not begin or end with a hyphen');
  return errs;
}

/** ConfigMap/Secret data key checks (IsConfigMapKey); empty list: valid. */
export function configMapKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!/^[-._a-zA-Z0-9]+$/.test(key))
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

/** upstream field.NotFound; errors.ts renders it as 'Not found: <value>'. */
export function notFound(field: string, badValue: unknown): FieldError {
  return { type: 'FieldValueNotFound' as FieldError['type'], field, badValue, detail: '' };
}

/** upstream field.TooLong for byte sizes. */
export function tooLong(field: string, max: number): FieldError {
  return { type: 'FieldValueTooLong', field, badValue: '', detail: `may not be more than ${max} bytes` };
}

/** Structural equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], bb[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}
