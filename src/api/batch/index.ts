// batch/v1: Jobs and CronJobs.
import type { ResourceDef } from '../types.js';
import { jobs } from './job.js';
import { cronjobs } from './cronjob.js';

export const resources: ResourceDef[] = [jobs, cronjobs];
