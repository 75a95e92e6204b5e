// events.k8s.io/v1 Event: a view of the core/v1 events storage with the newer field names.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { invalid, jsonEqual, qualifiedNameErrors, required } from '../validation.js';
import { events as coreEvents } from '../core/event.js';

/** Copies defined values only, so omitted fields stay omitted. */
function compact(obj: Record<string, unknown>): KObject {
  for (const k of Object.keys(obj)) if (obj[k] === undefined) delete obj[k];
  return obj as KObject;
}

/** events.k8s.io/v1 -> core/v1 (the stored form). */
export function eventToCore(ev: KObject): KObject {
  return compact({
    apiVersion: 'v1',
    kind: 'Event',
    metadata: ev.metadata,
    involvedObject: ev.regarding ?? {},
    reason: ev.reason || undefined,
    message: ev.note || undefined,
    source: ev.deprecatedSource ?? {},
    firstTimestamp: ev.deprecatedFirstTimestamp ?? null,
    lastTimestamp: ev.deprecatedLastTimestamp ?? null,
    count: ev.deprecatedCount || undefined,
    type: ev.type || undefined,
    eventTime: ev.eventTime ?? null,
    series: ev.series ?? undefined,
    action: ev.action || undefined,
    related: ev.related ?? undefined,
    reportingComponent: ev.reportingController ?? '',
    reportingInstance: ev.reportingInstance ?? '',
  });
}

/** core/v1 -> events.k8s.io/v1; reporting fields fall back to the legacy source. */
export function eventFromCore(ev: KObject): KObject {
  const series = ev.series ? compact({ count: ev.series.count, lastObservedTime: ev.series.lastObservedTime }) : undefined;
  return compact({
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: ev.metadata,
    eventTime: ev.eventTime ?? null,
    series,
    reportingController: ev.reportingComponent || ev.source?.component || undefined,
    reportingInstance: ev.reportingInstance || ev.source?.host || undefined,
    action: ev.action || undefined,
    reason: ev.reason || undefined,
    regarding: ev.involvedObject ?? {},
    related: ev.related ?? undefined,
    note: ev.message || undefined,
    type: ev.type || undefined,
    deprecatedSource: ev.source ?? {},
    deprecatedFirstTimestamp: ev.firstTimestamp ?? null,
    deprecatedLastTimestamp: ev.lastTimestamp ?? null,
    deprecatedCount: ev.count || undefined,
  });
}

function isCoreForm(ev: KObject): boolean {
  return ev.apiVersion === 'v1' || ev.involvedObject !== undefined;
}
const asCore = (ev: KObject) => (isCoreForm(ev) ? ev : eventToCore(ev));
const asNew = (ev: KObject) => (isCoreForm(ev) ? eventFromCore(ev) : ev);

const LIMIT = 128;

/** ValidateEventCreate for events.k8s.io/v1: the reporting fields are mandatory, legacy ones unset. */
function validateNewEvent(ev: KObject): FieldError[] {
  const out: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const regNs = ev.regarding?.namespace ?? '';
  if (regNs === '' ? ns !== '' && ns !== 'default' && ns !== 'kube-system' : regNs !== ns)
    out.push(invalid('regarding.namespace', regNs, 'does not match event.namespace'));
  if (!ev.eventTime) out.push(required('eventTime'));
  if (ev.type !== 'Normal' && ev.type !== 'Warning') out.push(invalid('type', '', `has invalid value: ${ev.type ?? ''}`));
  if (ev.deprecatedFirstTimestamp) out.push(invalid('deprecatedFirstTimestamp', '', 'needs to be unset'));
  if (ev.deprecatedLastTimestamp) out.push(invalid('deprecatedLastTimestamp', '', 'needs to be unset'));
  if (ev.deprecatedCount) out.push(invalid('deprecatedCount', '', 'needs to be unset'));
  if (ev.deprecatedSource?.component || ev.deprecatedSource?.host) out.push(invalid('deprecatedSource', '', 'needs to be unset'));
  if (!ev.reportingController) out.push(required('reportingController'));
  else for (const e of qualifiedNameErrors(ev.reportingController)) out.push(invalid('reportingController', ev.reportingController, e));
  if (!ev.reportingInstance) out.push(required('reportingInstance'));
  else if (ev.reportingInstance.length > LIMIT) out.push(invalid('reportingInstance', '', `can have at most ${LIMIT} characters`));
  if (!ev.action) out.push(required('action'));
  else if (ev.action.length > LIMIT) out.push(invalid('action', '', `can have at most ${LIMIT} characters`));
  if (!ev.reason) out.push(required('reason'));
  else if (ev.reason.length > LIMIT) out.push(invalid('reason', '', `can have at most ${LIMIT} characters`));
  if (ev.note && ev.note.length > 1024) out.push(invalid('note', '', 'can have at most 1024 characters'));
  if (ev.series) {
    if (!(ev.series.count >= 2)) out.push(invalid('series.count', '', 'should be at least 2'));
    if (!ev.series.lastObservedTime) out.push(required('series.lastObservedTime'));
  }
  return out;
}

/** Only series and metadata of an events.k8s.io event may change. */
function validateNewEventUpdate(ev: KObject, old: KObject): FieldError[] {
  const out = validateNewEvent(ev);
  for (const f of ['regarding', 'reason', 'note', 'type', 'eventTime', 'action', 'related', 'reportingController', 'reportingInstance']) {
    if (!jsonEqual(ev[f] ?? null, old[f] ?? null)) out.push(invalid(f, ev[f] ?? null, 'field is immutable'));
  }
  return out;
}

const eventsV1: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  namespaced: true,
  storage: 'events', // no short name: upstream keeps "ev" for core/v1 only
  convert: { toStorage: eventToCore, fromStorage: eventFromCore },
  validate(ev, old) {
    const cur = asNew(ev);
    return old ? validateNewEventUpdate(cur, asNew(old)) : validateNewEvent(cur);
  },
  // Upstream prints both versions with the core printer.
  columns: coreEvents.columns,
  row: (ev) => coreEvents.row(asCore(ev)),
  nameColumnLast: true,
  fieldSelectors: Object.fromEntries(
    Object.entries(coreEvents.fieldSelectors ?? {}).map(([k, get]) => [k, (ev: KObject) => get(asCore(ev))]),
  ),
};

export const resources: ResourceDef[] = [eventsV1];
