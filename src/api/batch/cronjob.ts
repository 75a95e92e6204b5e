// batch/v1 CronJob.
import type { FieldError, KObject, ResourceDef } from '../types.js';
import { invalid, notSupported, required, validateNonnegative } from '../validation.js';
import { age, formatBoolPtr, formatLabelSelector } from '../printers.js';
import { defaultPodTemplate, prepareCreateWithStatus, prepareUpdateWithStatus, templateCells, templateColumns } from '../apps/common.js';
import { validateJobSpecCommon } from './job.js';
import { cronScheduleError, isValidTimeZone } from './cron.js';

export function defaultCronJob(obj: KObject): void {
  const spec = (obj.spec ??= {});
  spec.concurrencyPolicy ||= 'Allow';
  spec.suspend ??= false;
  spec.successfulJobsHistoryLimit ??= 3;
  spec.failedJobsHistoryLimit ??= 1;
  defaultPodTemplate(spec.jobTemplate?.spec?.template);
}

function validateSchedule(schedule: string, allowTZ: boolean, timeZone: unknown): FieldError[] {
  const errs: FieldError[] = [];
  const err = cronScheduleError(schedule);
  if (err) errs.push(invalid('spec.schedule', schedule, err));
  if (allowTZ && schedule.includes('TZ') && timeZone != null)
    errs.push(invalid('spec.schedule', schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
  else if (!allowTZ && schedule.includes('TZ'))
    errs.push(invalid('spec.schedule', schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  return errs;
}

function validateTimeZone(tz: unknown): FieldError[] {
  if (tz == null) return [];
  if (typeof tz !== 'string' || tz.length === 0) return [invalid('spec.timeZone', tz, 'timeZone must be nil or non-empty string')];
  if (tz.toLowerCase() === 'local')
    return [invalid('spec.timeZone', tz, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones')];
  if (!isValidTimeZone(tz)) return [invalid('spec.timeZone', tz, `unknown time zone ${tz}`)];
  return [];
}

export function validateCronJob(obj: KObject, old?: KObject): FieldError[] {
  const spec = obj.spec ?? {};
  const errs: FieldError[] = [];
  if (!spec.schedule) errs.push(required('spec.schedule', ''));
  else errs.push(...validateSchedule(String(spec.schedule), String(old?.spec?.schedule ?? '').includes('TZ'), spec.timeZone));
  errs.push(...validateNonnegative(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds'));
  if (!old || old.spec?.timeZone !== spec.timeZone) errs.push(...validateTimeZone(spec.timeZone));
  const cp = spec.concurrencyPolicy;
  if (!cp) errs.push(required('spec.concurrencyPolicy', ''));
  else if (!['Allow', 'Forbid', 'Replace'].includes(cp)) errs.push(notSupported('spec.concurrencyPolicy', cp, ['Allow', 'Forbid', 'Replace']));
  const jt = spec.jobTemplate?.spec ?? {};
  errs.push(...validateJobSpecCommon(jt, 'spec.jobTemplate.spec'));
  if (jt.selector != null) errs.push(invalid('spec.jobTemplate.spec.selector', jt.selector, '`selector` will be auto-generated'));
  if (jt.manualSelector === true) errs.push(notSupported('spec.jobTemplate.spec.manualSelector', jt.manualSelector, ['nil', 'false']));
  errs.push(...validateNonnegative(spec.successfulJobsHistoryLimit, 'spec.successfulJobsHistoryLimit'));
  errs.push(...validateNonnegative(spec.failedJobsHistoryLimit, 'spec.failedJobsHistoryLimit'));
  // Jobs are named <cronjob>-<11 chars>, and Job names must fit in a 63-character label.
  const name = obj.metadata?.name ?? '';
  if (!old && name.length > 52) errs.push(invalid('metadata.name', name, 'must be no more than 52 characters'));
  return errs;
}

export const cronjobs: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  namespaced: true,
  shortNames: ['cj'],
  categories: ['all'],
  subresources: { status: true },
  defaults: defaultCronJob,
  validate: validateCronJob,
  prepareForCreate: prepareCreateWithStatus,
  prepareForUpdate: (obj, old) => prepareUpdateWithStatus(obj, old),
  columns: [
    { name: 'Schedule', type: 'string', description: 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.', priority: 0 },
    { name: 'Timezone', type: 'string', description: 'The time zone name for the given schedule.', priority: 0 },
    { name: 'Suspend', type: 'boolean', description: 'This flag tells the controller to suspend subsequent executions.', priority: 0 },
    { name: 'Active', type: 'integer', description: 'A list of pointers to currently running jobs.', priority: 0 },
    { name: 'Last Schedule', type: 'string', description: 'Information when was the last time the job was successfully scheduled.', priority: 0 },
    ...templateColumns('A label query over pods that should match the pod count.'),
  ],
  row(obj) {
    const spec = obj.spec ?? {};
    const jt = spec.jobTemplate?.spec;
    const last = obj.status?.lastScheduleTime;
    return [
      spec.schedule ?? '',
      spec.timeZone ?? '<none>',
      formatBoolPtr(spec.suspend),
      (obj.status?.active ?? []).length,
      last ? age(last) : '<none>',
      ...templateCells(obj, jt?.template?.spec, formatLabelSelector(jt?.selector)),
    ];
  },
};
