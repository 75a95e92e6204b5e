// Every built-in resource the API server serves, by group.
import type { ResourceDef } from './types.js';
import { resources as core } from './core/index.js';
import { resources as apps } from './apps/index.js';
import { resources as batch } from './batch/index.js';
import { resources as coordination } from './coordination/index.js';
import { resources as discovery } from './discovery/index.js';
import { resources as events } from './events/index.js';
import { resources as scheduling } from './scheduling/index.js';
import { resources as rbac } from './rbac/index.js';
import { resources as storage } from './storage/index.js';
import { resources as policy } from './policy/index.js';
import { resources as autoscaling } from './autoscaling/index.js';

export const builtinResources: ResourceDef[] = [
  ...core, ...apps, ...batch, ...coordination, ...discovery, ...events, ...scheduling, ...rbac, ...storage, ...policy, ...autoscaling,
];
