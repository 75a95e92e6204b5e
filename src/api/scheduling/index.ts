// scheduling.k8s.io/v1: PriorityClasses.
import type { ResourceDef } from '../types.js';
import { priorityclasses } from './priorityclass.js';

export const resources: ResourceDef[] = [priorityclasses];
