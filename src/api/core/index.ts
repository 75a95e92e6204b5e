// core/v1 (the legacy "" group): one file per kind.
import type { ResourceDef } from '../types.js';
import { pods } from './pod.js';
import { namespaces } from './namespace.js';
import { services } from './service.js';
import { configmaps } from './configmap.js';
import { secrets } from './secret.js';
import { nodes } from './node.js';
import { events } from './event.js';
import { serviceaccounts } from './serviceaccount.js';
import { endpoints } from './endpoints.js';
import { limitranges } from './limitrange.js';
import { resourcequotas } from './resourcequota.js';
import { persistentvolumes, persistentvolumeclaims } from './persistentvolume.js';
import { replicationcontrollers } from './replicationcontroller.js';

export const resources: ResourceDef[] = [
  pods, namespaces, services, configmaps, secrets, nodes, events, serviceaccounts, endpoints,
  limitranges, resourcequotas, persistentvolumes, persistentvolumeclaims,
  replicationcontrollers,
];

export { defaultPodSpec, defaultContainer, validatePodSpec, validateResources, validateTolerations } from './podspec.js';
export { computeQOSClass, podSummary, validatePodUpdate } from './pod.js';
