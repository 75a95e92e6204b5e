// coordination.k8s.io/v1: Leases.
import type { ResourceDef } from '../types.js';
import { leases } from './lease.js';

export const resources: ResourceDef[] = [leases];
