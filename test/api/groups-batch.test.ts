import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FieldError, KObject, ResourceDef } from '../../src/api/types.js';
import { resources } from '../../src/api/batch/index.js';
import { cronScheduleError, nextCronTime, parseCron } from '../../src/api/batch/cron.js';

const def = (plural: string): ResourceDef => resources.find((r) => r.plural === plural)!;
const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}:${e.type}`);

function podTemplate(extra: Record<string, unknown> = {}) {
  return { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }], ...extra } };
}
function create(d: ResourceDef, obj: KObject): FieldError[] {
  obj.metadata ??= { name: 'pi', namespace: 'default', uid: 'u-123' };
  d.defaults?.(obj);
  d.prepareForCreate?.(obj);
  return d.validate?.(obj) ?? [];
}
function update(d: ResourceDef, obj: KObject, old: KObject): FieldError[] {
  d.defaults?.(obj);
  d.prepareForUpdate?.(obj, old);
  return d.validate?.(obj, old) ?? [];
}

test('job defaults and generated selector', () => {
  const job: KObject = { spec: { template: podTemplate() } };
  assert.deepEqual(create(def('jobs'), job), []);
  assert.equal(job.spec.parallelism, 1);
  assert.equal(job.spec.completions, 1);
  assert.equal(job.spec.backoffLimit, 6);
  assert.equal(job.spec.completionMode, 'NonIndexed');
  assert.equal(job.spec.suspend, false);
  assert.equal(job.spec.manualSelector, false);
  assert.equal(job.spec.podReplacementPolicy, 'TerminatingOrFailed');
  assert.deepEqual(job.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-123' } });
  const expected = {
    'batch.kubernetes.io/controller-uid': 'u-123',
    'batch.kubernetes.io/job-name': 'pi',
    'controller-uid': 'u-123',
    'job-name': 'pi',
  };
  assert.deepEqual(job.spec.template.metadata.labels, expected);
  assert.deepEqual(job.metadata!.labels, expected);
  assert.equal(job.metadata!.generation, 1);
  assert.deepEqual(job.status, {});
});

test('job: completions unset with parallelism set stays unset', () => {
  const job: KObject = { spec: { parallelism: 3, template: podTemplate() } };
  assert.deepEqual(create(def('jobs'), job), []);
  assert.equal(job.spec.completions, undefined);
  assert.deepEqual(def('jobs').row(job).slice(0, 3), ['Running', '0/1 of 3', '']);
});

test('job validation: restartPolicy, user selector without manualSelector, manual selector', () => {
  let errs = create(def('jobs'), { spec: { template: podTemplate({ restartPolicy: 'Always' }) } });
  assert.deepEqual(fields(errs), ['spec.template.spec.restartPolicy:FieldValueNotSupported']);

  errs = create(def('jobs'), {
    spec: { selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, ...podTemplate() } },
  });
  assert.ok(fields(errs).includes('spec.selector:FieldValueInvalid'));
  assert.equal(errs.find((e) => e.field === 'spec.selector')!.detail, '`selector` not auto-generated');

  const manual: KObject = {
    spec: { manualSelector: true, selector: { matchLabels: { app: 'x' } }, template: { metadata: { labels: { app: 'x' } }, ...podTemplate() } },
  };
  assert.deepEqual(create(def('jobs'), manual), []);
  assert.deepEqual(manual.spec.template.metadata.labels, { app: 'x' });
});

test('job update: template immutable, generation bump, status preserved', () => {
  const d = def('jobs');
  const old: KObject = { spec: { template: podTemplate() } };
  create(d, old);
  old.status = { succeeded: 1, startTime: '2024-01-01T00:00:00Z' };

  const bumped = structuredClone(old);
  bumped.status = {};
  bumped.spec.activeDeadlineSeconds = 100;
  assert.deepEqual(update(d, bumped, old), []);
  assert.equal(bumped.metadata!.generation, 2);
  assert.equal(bumped.status.succeeded, 1);

  const changed = structuredClone(old);
  changed.spec.template.spec.containers[0].image = 'perl:2';
  assert.deepEqual(fields(update(d, changed, old)), ['spec.template:FieldValueInvalid']);
});

test('job table: status column and field selector', () => {
  const d = def('jobs');
  assert.deepEqual(d.columns.map((c) => c.name), ['Status', 'Completions', 'Duration', 'Age', 'Containers', 'Images', 'Selector']);
  const job: KObject = {
    metadata: { name: 'pi', creationTimestamp: new Date().toISOString() },
    spec: { completions: 1, parallelism: 1, template: podTemplate(), selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u' } } },
    status: {
      succeeded: 1,
      startTime: '2024-01-01T00:00:00Z',
      completionTime: '2024-01-01T00:00:09Z',
      conditions: [{ type: 'Complete', status: 'True' }],
    },
  };
  assert.deepEqual(d.row(job).slice(0, 3), ['Complete', '1/1', '9s']);
  assert.deepEqual(d.row(job).slice(4), ['pi', 'perl', 'batch.kubernetes.io/controller-uid=u']);
  assert.equal(d.fieldSelectors!['status.successful'](job), '1');
});

test('cronjob defaults, schedule validation, table', () => {
  const d = def('cronjobs');
  const cj: KObject = { spec: { schedule: '*/5 * * * *', jobTemplate: { spec: { template: podTemplate() } } } };
  assert.deepEqual(create(d, cj), []);
  assert.equal(cj.spec.concurrencyPolicy, 'Allow');
  assert.equal(cj.spec.suspend, false);
  assert.equal(cj.spec.successfulJobsHistoryLimit, 3);
  assert.equal(cj.spec.failedJobsHistoryLimit, 1);
  assert.equal(cj.spec.jobTemplate.spec.parallelism, undefined, 'job defaults do not apply to the template');
  assert.deepEqual(d.row(cj).slice(0, 5), ['*/5 * * * *', '<none>', 'False', 0, '<none>']);

  let errs = create(d, { spec: { schedule: 'not a cron', jobTemplate: { spec: { template: podTemplate() } } } });
  assert.deepEqual(fields(errs), ['spec.schedule:FieldValueInvalid']);
  assert.equal(errs[0].detail, 'expected exactly 5 fields, found 3: [not a cron]');

  errs = create(d, { spec: { schedule: 'TZ=UTC 0 * * * *', jobTemplate: { spec: { template: podTemplate() } } } });
  assert.equal(errs[0].detail, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead');

  errs = create(d, { spec: { schedule: '@daily', timeZone: 'Mars/Olympus', concurrencyPolicy: 'Sometimes', jobTemplate: { spec: { template: podTemplate() } } } });
  assert.deepEqual(fields(errs), ['spec.timeZone:FieldValueInvalid', 'spec.concurrencyPolicy:FieldValueNotSupported']);

  errs = create(d, { metadata: { name: 'x'.repeat(53) }, spec: { schedule: '@hourly', jobTemplate: { spec: { template: podTemplate() } } } });
  assert.deepEqual(fields(errs), ['metadata.name:FieldValueInvalid']);
});

test('cron parsing', () => {
  for (const ok of ['* * * * *', '0 0 * * 0', '*/15 9-17 * * mon-fri', '0 0 1 jan,jul *', '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '@every 1h30m', '0 0 * * 7', '5 4 ? * *'])
    assert.equal(cronScheduleError(ok), undefined, ok);
  assert.equal(cronScheduleError(''), 'empty spec string');
  assert.equal(cronScheduleError('60 * * * *'), 'end of range (60) above maximum (59): 60');
  assert.equal(cronScheduleError('* * 0 * *'), 'beginning of range (0) below minimum (1): 0');
  assert.equal(cronScheduleError('a * * * *'), 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax');
  assert.equal(cronScheduleError('@often'), 'unrecognized descriptor: @often');
  assert.equal(cronScheduleError('5-1 * * * *'), 'beginning of range (5) beyond end of range (1): 5-1');

  const at = Date.parse('2024-03-15T10:07:30Z'); // a Friday
  const next = (s: string, tz?: string) => new Date(nextCronTime(parseCron(s), at, tz)!).toISOString();
  assert.equal(next('*/5 * * * *'), '2024-03-15T10:10:00.000Z');
  assert.equal(next('@hourly'), '2024-03-15T11:00:00.000Z');
  assert.equal(next('0 9 * * mon'), '2024-03-18T09:00:00.000Z');
  assert.equal(next('0 0 1 * *'), '2024-04-01T00:00:00.000Z');
  assert.equal(next('30 2 * * *', 'America/New_York'), '2024-03-16T06:30:00.000Z');
  // Both dom and dow restricted: either matches (the 20th or a Sunday).
  assert.equal(next('0 0 20 * sun'), '2024-03-17T00:00:00.000Z');
});

test('job without restartPolicy: defaulted to Always, then rejected as upstream', () => {
  const errs = create(def('jobs'), { spec: { template: { spec: { containers: [{ name: 'pi', image: 'perl' }] } } } });
  assert.deepEqual(fields(errs), ['spec.template.spec.restartPolicy:FieldValueNotSupported']);
  assert.equal(errs[0].badValue, 'Always');
});
