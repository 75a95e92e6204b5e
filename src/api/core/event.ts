// core/v1 Event: the storage form of events (events.k8s.io/v1 views the same objects).
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { humanDuration } from '../printers.js';
import { dns1123SubdomainErrors, invalid, qualifiedNameErrors } from '../validation.js';

function since(ts: string | null | undefined): string {
  if (!ts) return '<unknown>';
  return humanDuration(Date.now() - Date.parse(ts));
}

/** SOURCE: component[, host], falling back to the reporting controller/instance. */
export function formatEventSource(ev: KObject): string {
  const component = ev.source?.component || ev.reportingComponent || '';
  const host = ev.source?.host || ev.reportingInstance || '';
  return host ? `${component}, ${host}` : component;
}

/** Cells for upstream's printEvent (all columns, wide ones included). */
function eventRow(ev: KObject): unknown[] {
  const first = ev.firstTimestamp ? since(ev.firstTimestamp) : since(ev.eventTime);
  let last = ev.lastTimestamp ? since(ev.lastTimestamp) : first;
  let count = ev.count ?? 0;
  if (ev.series) {
    last = since(ev.series.lastObservedTime);
    count = ev.series.count ?? 0;
  } else if (!count) {
    count = 1; // singleton events from the new API carry no count
  }
  const io = ev.involvedObject ?? {};
  const kind = String(io.kind ?? '').toLowerCase();
  const target = io.name ? `${kind}/${io.name}` : kind;
  return [last, ev.type ?? '', ev.reason ?? '', target, io.fieldPath ?? '', formatEventSource(ev), String(ev.message ?? '').trim(), first, count];
}

/** Legacy (core/v1) event validation: namespaces must agree with the involved object. */
function validateEvent(ev: KObject): FieldError[] {
  const out: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const ioNs = ev.involvedObject?.namespace ?? '';
  if (ioNs === '') {
    if (ns !== '' && ns !== 'default')
      out.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
  } else if (ns !== ioNs) {
    out.push(invalid('involvedObject.namespace', ioNs, 'does not match event.namespace'));
  }
  if (ns) for (const e of dns1123SubdomainErrors(ns)) out.push(invalid('namespace', ns, e));
  if (ev.reportingComponent)
    for (const e of qualifiedNameErrors(ev.reportingComponent)) out.push(invalid('reportingComponent', ev.reportingComponent, e));
  return out;
}

export const events: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  shortNames: ['ev'],
  storage: 'events',
  defaults(ev) {
    // Fields core/v1 always serializes (no omitempty upstream).
    ev.involvedObject ??= {};
    ev.source ??= {};
    if (ev.firstTimestamp === undefined) ev.firstTimestamp = null;
    if (ev.lastTimestamp === undefined) ev.lastTimestamp = null;
    if (ev.eventTime === undefined) ev.eventTime = null;
    ev.reportingComponent ??= '';
    ev.reportingInstance ??= '';
  },
  validate: validateEvent,
  columns: [
    { name: 'Last Seen', type: 'string', description: 'The time at which the most recent occurrence of this event was recorded.', priority: 0 },
    { name: 'Type', type: 'string', description: 'Type of this event (Normal, Warning), new types could be added in the future', priority: 0 },
    { name: 'Reason', type: 'string', description: 'This should be a short, machine understandable string that gives the reason for the transition into the object\'s current status.', priority: 0 },
    { name: 'Object', type: 'string', description: 'The object that this event is about.', priority: 0 },
    { name: 'Subobject', type: 'string', description: 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement.', priority: 1 },
    { name: 'Source', type: 'string', description: 'The component reporting this event.', priority: 1 },
    { name: 'Message', type: 'string', description: 'A human-readable description of the status of this operation.', priority: 0 },
    { name: 'First Seen', type: 'string', description: 'The time at which the event was first recorded.', priority: 1 },
    { name: 'Count', type: 'string', description: 'The number of times this event has occurred.', priority: 1 },
  ],
  row: eventRow,
  nameColumnLast: true,
  fieldSelectors: {
    'involvedObject.kind': (e) => e.involvedObject?.kind ?? '',
    'involvedObject.namespace': (e) => e.involvedObject?.namespace ?? '',
    'involvedObject.name': (e) => e.involvedObject?.name ?? '',
    'involvedObject.uid': (e) => e.involvedObject?.uid ?? '',
    'involvedObject.apiVersion': (e) => e.involvedObject?.apiVersion ?? '',
    'involvedObject.resourceVersion': (e) => e.involvedObject?.resourceVersion ?? '',
    'involvedObject.fieldPath': (e) => e.involvedObject?.fieldPath ?? '',
    reason: (e) => e.reason ?? '',
    reportingComponent: (e) => e.reportingComponent ?? '',
    source: (e) => e.source?.component ?? '',
    type: (e) => e.type ?? '',
  },
};
