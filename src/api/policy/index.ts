import type { ResourceDef } from '../types.js';

export const resources: ResourceDef[] = [];
