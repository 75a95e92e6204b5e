// autoscaling: HorizontalPodAutoscalers, v2 (stored, preferred) and v1 (a view of the same storage).
import type { ResourceDef } from '../types.js';
import { horizontalpodautoscalersV1, horizontalpodautoscalersV2 } from './horizontalpodautoscaler.js';

export const resources: ResourceDef[] = [horizontalpodautoscalersV2, horizontalpodautoscalersV1];
