// Schedule arithmetic of the CronJob controller (upstream cronjob/utils.go): the most recent
// start time not yet acted on, how many were missed, when to look again, and Job naming.
import type { KObject } from '../../api/types.js';
import { nextCronTime, parseCron, type CronSchedule } from '../../api/batch/cron.js';

/** Requeue this long after the next scheduled time, so the sync sees it as due. */
export const NEXT_SCHEDULE_DELTA_MS = 100;
/** More missed start times than this draws a TooManyMissedTimes warning. */
export const MANY_MISSED = 100;

export interface Schedule {
  cron: CronSchedule;
  /** spec.timeZone (the schedule's own TZ= prefix wins inside nextCronTime). */
  zone?: string;
}

export function parseSchedule(cj: KObject): Schedule {
  return { cron: parseCron(String(cj.spec?.schedule ?? '')), zone: cj.spec?.timeZone ?? undefined };
}

export function nextAfter(s: Schedule, t: number): number | undefined {
  return nextCronTime(s.cron, t, s.zone);
}

export interface RecentSchedule {
  /** Where the search started: last schedule (or creation), or now - startingDeadlineSeconds. */
  earliest: number;
  /** The latest schedule time in (earliest, now], if any. */
  mostRecent?: number;
  /** Roughly how many start times fell in (earliest, now]. */
  missed: number;
}

/** Upstream mostRecentScheduleTime; throws when two consecutive start times coincide. */
export function mostRecentScheduleTime(cj: KObject, now: number, s: Schedule, includeStartingDeadline: boolean): RecentSchedule {
  let earliest = Date.parse(cj.status?.lastScheduleTime ?? cj.metadata?.creationTimestamp ?? '');
  if (isNaN(earliest)) earliest = now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && deadline != null) earliest = Math.max(earliest, now - deadline * 1000);
  const t1 = nextAfter(s, earliest);
  if (t1 === undefined || now < t1) return { earliest, missed: 0 };
  const t2 = nextAfter(s, t1);
  if (t2 === undefined || now < t2) return { earliest, mostRecent: t1, missed: 1 };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw new Error('time difference between two schedules is less than 1 second');
  const missed = Math.floor((now - t1) / 1000 / between) + 1;
  // Jump close to now by whole intervals, then walk the real schedule (irregular ones included).
  let t: number | undefined = nextAfter(s, t1 + (missed - 2) * between * 1000);
  let mostRecent: number | undefined;
  while (t !== undefined && t <= now) {
    mostRecent = t;
    t = nextAfter(s, t);
  }
  return { earliest, mostRecent, missed };
}

/** ms from now until the sync after the next start time (undefined when there is none). */
export function nextScheduleDelay(cj: KObject, now: number, s: Schedule): number | undefined {
  let r: RecentSchedule;
  try {
    r = mostRecentScheduleTime(cj, now, s, false);
  } catch {
    return undefined;
  }
  const next = nextAfter(s, r.mostRecent ?? r.earliest);
  return next === undefined ? undefined : Math.max(0, next + NEXT_SCHEDULE_DELTA_MS - now);
}

/** "<cronjob>-<minutes since epoch of the scheduled time>". */
export function jobNameFor(cj: KObject, scheduledTime: number): string {
  return `${cj.metadata!.name}-${Math.floor(scheduledTime / 60_000)}`;
}

/** RFC 3339 (seconds) of t as the wall clock of zone shows it ("Z" for zero offsets, as Go). */
export function formatInZone(t: number, zone?: string): string {
  const secs = Math.floor(t / 1000) * 1000;
  if (!zone || zone === 'UTC') return new Date(secs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(new Date(secs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour') % 24, get('minute'), get('second'));
  const offsetMin = Math.round((wall - secs) / 60_000);
  const local = new Date(wall).toISOString().slice(0, 19);
  if (offsetMin === 0) return `${local}Z`;
  const sign = offsetMin < 0 ? '-' : '+';
  const abs = Math.abs(offsetMin);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Go's time.RFC1123Z layout ("Mon, 02 Jan 2006 15:04:05 -0700"), in UTC. */
export function formatRFC1123Z(t: number): string {
  const d = new Date(t);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}
