// apps/v1: the workload controllers' resources.
import type { ResourceDef } from '../types.js';
import { deployments } from './deployment.js';
import { replicasets } from './replicaset.js';
import { statefulsets } from './statefulset.js';
import { daemonsets } from './daemonset.js';
import { controllerrevisions } from './controllerrevision.js';

export const resources: ResourceDef[] = [deployments, replicasets, statefulsets, daemonsets, controllerrevisions];
