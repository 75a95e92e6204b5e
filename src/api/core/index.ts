// core/v1 (the legacy "" group): one file per kind.
import type { ResourceDef } from '../types.js';
import { pods } from './pod.js';
import { namespaces } from './namespace.js';
import { services } from './service.js';
import { configmaps } from './configmap.js';
import { secrets } from './secret.js';
import { nodes } from './node.js';

export const resources: ResourceDef[] = [pods, namespaces, services, configmaps, secrets, nodes];

export { defaultPodSpec, defaultContainer, validatePodSpec, validateResources, validateTolerations } from './podspec.js';
export { computeQOSClass, podSummary } from './pod.js';
