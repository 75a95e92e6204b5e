// policy/v1: PodDisruptionBudgets.
import type { ResourceDef } from '../types.js';
import { poddisruptionbudgets } from './poddisruptionbudget.js';

export const resources: ResourceDef[] = [poddisruptionbudgets];
