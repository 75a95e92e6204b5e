// core/v1 Namespace (cluster-scoped).
import type { FieldError, ResourceDef } from '../types.js';
import { age } from '../printers.js';
import { invalid, notSupported, qualifiedNameErrors } from '../validation.js';

const NAME_LABEL = 'kubernetes.io/metadata.name';

export const namespaces: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  namespaced: false,
  shortNames: ['ns'],
  nameRule: 'dns1123-label',
  subresources: { status: true },
  defaults(ns) {
    ns.metadata ??= {};
    // The name label always mirrors the name (SetDefaults_Namespace).
    if (ns.metadata.name) {
      ns.metadata.labels ??= {};
      ns.metadata.labels[NAME_LABEL] = ns.metadata.name;
    }
    ns.spec ??= {};
    ns.status ??= {};
    ns.status.phase ||= 'Active';
  },
  prepareForCreate(ns) {
    ns.status = { phase: 'Active' };
    ns.spec ??= {};
    const finalizers: string[] = ns.spec.finalizers ?? [];
    if (!finalizers.includes('kubernetes')) finalizers.push('kubernetes');
    ns.spec.finalizers = finalizers;
  },
  prepareForUpdate(ns, old) {
    // Finalizers change only through namespaces/finalize; status only through namespaces/status.
    ns.spec = { ...(ns.spec ?? {}), finalizers: old.spec?.finalizers };
    if (ns.spec.finalizers === undefined) delete ns.spec.finalizers;
    ns.status = old.status;
  },
  validate(ns) {
    const out: FieldError[] = [];
    (ns.spec?.finalizers ?? []).forEach((f: string, i: number) => {
      const field = `spec.finalizers[${i}]`;
      const errs = qualifiedNameErrors(String(f));
      for (const e of errs) out.push(invalid(field, f, e));
      if (errs.length === 0 && !String(f).includes('/') && f !== 'kubernetes')
        out.push(invalid(field, f, 'name is neither a standard finalizer name nor is it fully qualified'));
    });
    const phase = ns.status?.phase;
    if (phase && phase !== 'Active' && phase !== 'Terminating')
      out.push(notSupported('status.phase', phase, ['Active', 'Terminating']));
    return out;
  },
  columns: [
    { name: 'Status', type: 'string', description: 'The status of the namespace', priority: 0 },
    { name: 'Age', type: 'string', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 },
  ],
  row: (ns) => [ns.status?.phase ?? '', age(ns.metadata?.creationTimestamp)],
  fieldSelectors: {
    'status.phase': (ns) => ns.status?.phase ?? '',
  },
};
